/**
 * `pnpm bench pipeline`: the whole pipeline end to end — ingest through the real API, enrichment by
 * real worker processes against 3 mock providers, delivery to a real (local, signed) agent endpoint.
 * For 1, 2 and 4 worker processes: the sustained throughput (alerts delivered per second while a
 * closed loop keeps the pipeline full), then ingest → delivered latency at 50% of that rate, and the
 * memory (RSS) of every process under load. See internal-packages/bench/README.md.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createDb, migrateToLatest, startEmbeddedPostgres } from '@calseta/db';
import { type MockProvidersServer, mockProviderEnv, startMockProviders } from '@calseta/mock-providers';
import {
  CpuMeter,
  machineCpuSeconds,
  postmasterPid,
  processCpuSeconds,
  processMemoryMiB,
  processTreeCpuSeconds,
} from './lib/proc.js';
import {
  type AppKind,
  type AppMode,
  type AppProcess,
  appArgs,
  buildApp,
  type Cleanup,
  filesystemOf,
  firstRun,
  freePort,
  gitState,
  healthy,
  inheritedEnv,
  machineBusy,
  runMeasured,
  spawnApp,
  startWithFallback,
  waitReady,
  workerStarted,
  writeResult,
} from './lib/stack.js';
import { fmt, LatencyRecorder, type LatencySummary, round, table } from './lib/stats.js';

export const description =
  'ingest → enriched → delivered with 3 mock providers: sustained alerts/s for 1/2/4 workers, p50/p99 at 50%, RSS';

const APP_SETTINGS =
  /^(API_|DB_|LOG_|MAX_|ALERT_|APP_|WORKER_|ENRICHMENT_|VIRUSTOTAL_|ABUSEIPDB_|OKTA_|ENTRA_|CALSETA_PROVIDER_|RATE_LIMIT_|JOB_|AGENT_|DATABASE_URL$|ENCRYPTION_KEY$|SSRF_ALLOWED_HOSTS$)|_WEBHOOK_SECRET$/;

interface Options {
  workers: number[];
  latency: number;
  indicators: number;
  workerConcurrency: number;
  workerPool: number;
  seconds: number;
  warmup: number;
  latencySeconds: number;
  inFlight: number;
  apps: AppMode;
  tmp: string;
}

const HELP = `Usage: pnpm bench pipeline [--workers 1,2,4] [--latency 50] [--indicators 2] [--worker-concurrency 16]
                           [--worker-pool 12] [--seconds 20] [--warmup 5] [--latency-seconds 15] [--in-flight 0]
                           [--apps auto|dist|tsx] [--tmp <dir>]

  --workers             worker process counts to measure, one after another (default 1,2,4)
  --latency             every mock provider answer is delayed this many ms (default 50)
  --indicators          fresh public IPs per alert (each: 3 provider calls; default 2)
  --worker-concurrency  WORKER_CONCURRENCY of each worker (default 16)
  --worker-pool         DB_POOL_SIZE of each worker (default 12: the API (20) and 4 workers, each
                        with pg-boss (4) and a LISTEN connection, stay under Postgres's 100)
  --seconds             measured window of the saturation phase (default 20), after --warmup (default 5)
  --latency-seconds     paced phase at 50% of the sustained rate (default 15)
  --in-flight           alerts kept between ingest and delivery in the saturation phase
                        (default 0 = 2 × workers × worker-concurrency, at least 64)`;

function parseOptions(args: string[]): Options | 'help' {
  const { values } = parseArgs({
    args,
    options: {
      workers: { type: 'string', default: '1,2,4' },
      latency: { type: 'string', default: '50' },
      indicators: { type: 'string', default: '2' },
      'worker-concurrency': { type: 'string', default: '16' },
      'worker-pool': { type: 'string', default: '12' },
      seconds: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '5' },
      'latency-seconds': { type: 'string', default: '15' },
      'in-flight': { type: 'string', default: '0' },
      apps: { type: 'string', default: 'auto' },
      tmp: { type: 'string', default: os.tmpdir() },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  const int = (name: string, text: string, min: number) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer ≥ ${min}`);
    return n;
  };
  const workers = values.workers.split(',').map((w) => int('workers', w.trim(), 1));
  if (!['auto', 'dist', 'tsx'].includes(values.apps)) throw new Error('--apps must be auto, dist or tsx');
  return {
    workers,
    latency: int('latency', values.latency, 0),
    indicators: int('indicators', values.indicators, 1),
    workerConcurrency: int('worker-concurrency', values['worker-concurrency'], 1),
    workerPool: int('worker-pool', values['worker-pool'], 1),
    seconds: int('seconds', values.seconds, 1),
    warmup: int('warmup', values.warmup, 0),
    latencySeconds: int('latency-seconds', values['latency-seconds'], 1),
    inFlight: int('in-flight', values['in-flight'], 0),
    apps: values.apps as AppMode,
    tmp: values.tmp,
  };
}

// ------------------------------------------------------------------------------------- agent endpoint

/** A local agent endpoint: records when each alert's first delivery arrived (bench clock). */
async function startAgent(cleanup: Cleanup) {
  const deliveredAt = new Map<string, number>();
  let deliveries = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = performance.now();
      deliveries++;
      try {
        const uuid = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { alert?: { uuid?: string } }).alert?.uuid;
        if (uuid && !deliveredAt.has(uuid)) deliveredAt.set(uuid, now);
      } catch {
        // not JSON: counted, not timed
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanup.destroyers.unshift(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  );
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, url: `http://${host}/bench-agent`, deliveredAt, deliveries: () => deliveries };
}

// ------------------------------------------------------------------------------------- load

let ipCounter = 0;
/** Fresh public addresses (34.x.y.z): nothing cached, every alert costs indicators × 3 calls. */
function freshIp(): string {
  ipCounter++;
  return `34.${(ipCounter >> 16) & 255}.${(ipCounter >> 8) & 255}.${ipCounter & 255}`;
}

/** The first few refusal bodies, printed at the end. */
const refusalSamples: string[] = [];

interface Ingested {
  uuid: string;
  sentAt: number;
}

async function ingestOne(url: string, key: string, indicators: number, n: number): Promise<Ingested | string> {
  const sentAt = performance.now();
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        title: `bench pipeline ${n} ${randomBytes(4).toString('hex')}`,
        severity: 'high',
        indicators: Array.from({ length: indicators }, () => ({ type: 'ip', value: freshIp() })),
      }),
    });
    const text = await response.text();
    if (response.status !== 202) {
      if (refusalSamples.length < 3) refusalSamples.push(`${response.status} ${text.slice(0, 300)}`);
      return String(response.status);
    }
    return { uuid: (JSON.parse(text) as { data: { alert_uuid: string } }).data.alert_uuid, sentAt };
  } catch (error) {
    return (error as { cause?: { code?: string } }).cause?.code ?? 'error';
  }
}

// ------------------------------------------------------------------------------------- processes

interface Stack {
  apiPort: number;
  api: AppProcess;
  apiNote: string;
  kind: AppKind;
}

function meters(apiPid: number | null, workerPids: number[], pgPid: number | null) {
  const sum = (values: (number | null)[]) =>
    values.some((v) => v === null) ? null : values.reduce<number>((a, b) => a + (b ?? 0), 0);
  return {
    api: new CpuMeter(() => (apiPid === null ? null : processCpuSeconds(apiPid))),
    workers: new CpuMeter(() => sum(workerPids.map((p) => processCpuSeconds(p)))),
    postgres: new CpuMeter(() => (pgPid === null ? null : processTreeCpuSeconds(pgPid))),
    bench: new CpuMeter(() => processCpuSeconds(process.pid)),
  };
}

interface RunResult {
  workers: number;
  sustained: {
    alertsPerSecond: number;
    window: number;
    delivered: number;
    inFlight: number;
    refused: Record<string, number>;
  };
  paced: {
    rate: number;
    alerts: number;
    latency: LatencySummary;
    undelivered: number;
    refused: Record<string, number>;
  };
  rssMiB: Record<string, { rss: number; peak: number } | null>;
  cpu: Record<string, number | null>;
}

async function waitDrained(agent: { deliveredAt: Map<string, number> }, uuids: readonly string[], timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (uuids.every((u) => agent.deliveredAt.has(u))) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

export function run(args: string[]): Promise<number> {
  return runMeasured(args, parseOptions, HELP, 'the API, the workers, the mock providers and Postgres', measure);
}

async function measure(options: Options, cleanup: Cleanup): Promise<number> {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const startedAt = new Date();
  const cores = os.cpus().length;
  fs.mkdirSync(options.tmp, { recursive: true });
  const tmpDir = fs.mkdtempSync(path.join(options.tmp, 'calseta-bench-'));
  cleanup.tmpDir = tmpDir;

  out(`Calseta pipeline benchmark — ${startedAt.toISOString()}`);
  out(`  machine   ${cores} cores (${os.cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}; load generator,`);
  out('            mock providers, agent endpoint, API, workers and Postgres all share these cores');
  const busyBefore = await machineBusy(2_000);
  out(
    `            busy before start (2 s sample): ${busyBefore === null ? 'n/a' : `${fmt(busyBefore, 0)}% of ${cores * 100}%`}`,
  );
  out(
    `            load average ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' / ')}`,
  );
  out(`  data dir  ${tmpDir} (${filesystemOf(tmpDir)})`);

  const postgres = await startEmbeddedPostgres({ dataDir: tmpDir });
  cleanup.postgres = postgres;
  const pgPid = postmasterPid(path.join(tmpDir, 'pg'));
  const { db } = createDb({ url: postgres.url, max: 4, applicationName: 'calseta-bench' });
  cleanup.destroyers.push(() => db.destroy());
  await migrateToLatest(db);
  // The pg-boss queues, the system rows and an admin key, as `calseta start` does on first run.
  const key = await firstRun(postgres.url, 'bench');
  out('  postgres  embedded, durable defaults (fsync, synchronous_commit, full_page_writes on)');

  const mock = await startMockProviders({ latencyMs: options.latency });
  cleanup.destroyers.unshift(() => mock.close());
  const agent = await startAgent(cleanup);
  const providerEnv = mockProviderEnv(mock);
  const common = {
    ...inheritedEnv(APP_SETTINGS),
    ...providerEnv,
    SSRF_ALLOWED_HOSTS: `${providerEnv.SSRF_ALLOWED_HOSTS},${agent.host}`,
    DATABASE_URL: postgres.url,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    // Any free port for the ops listener: several processes of a kind share this host.
    OPS_PORT: '0',
  };
  const apiPort = await freePort();
  const startApi = async (kind: AppKind) => {
    const env = {
      ...common,
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      LOG_LEVEL: 'warn',
      LOG_REQUESTS: 'false',
      RATE_LIMIT_INGEST_PER_MINUTE: '0',
      RATE_LIMIT_AUTHED_PER_MINUTE: '0',
    };
    const app = spawnApp('api', appArgs('api', kind), env, cleanup);
    await waitReady(app, healthy(apiPort));
    return { app, kind };
  };
  const started = await startWithFallback('api', options.apps, startApi);
  const stack: Stack = { apiPort, api: started.started.app, apiNote: started.note, kind: started.started.kind };
  // Workers run the way the API does (their bundle is built here when the API's was).
  if (stack.kind === 'dist' && !buildApp('worker').ok) stack.kind = 'tsx';
  const base = `http://127.0.0.1:${apiPort}`;
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  // The third provider, created through the API as JSON: the mock's VirusTotal IP API on its root path.
  const custom = await fetch(`${base}/v1/enrichment-providers`, {
    method: 'POST',
    headers,
    body: JSON.stringify(customProvider(mock)),
  });
  if (custom.status !== 201 && custom.status !== 200)
    throw new Error(`creating bench_intel: ${custom.status} ${await custom.text()}`);
  const registered = await fetch(`${base}/v1/agents`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ name: 'bench-agent', endpoint_url: agent.url, timeout_seconds: 10, retry_count: 3 }),
  });
  if (registered.status !== 201)
    throw new Error(`registering the agent: ${registered.status} ${await registered.text()}`);
  out(
    `  API       ${stack.api.command} (pid ${stack.api.child.pid})${stack.apiNote ? ` — fell back: ${stack.apiNote}` : ''}`,
  );
  out(
    `  workers   ${options.workers.join(', ')} processes × WORKER_CONCURRENCY=${options.workerConcurrency}, DB_POOL_SIZE=${options.workerPool} (${stack.kind === 'dist' ? 'dist bundles' : 'tsx'})`,
  );
  out(
    `  providers virustotal, abuseipdb, bench_intel (custom, JSON) — mock in the bench process, ${options.latency} ms each`,
  );
  out(
    `  alerts    generic source, ${options.indicators} fresh public IPs each: ${options.indicators * 3} provider calls per alert, 1 signed delivery`,
  );
  out();

  const url = `${base}/v1/ingest/generic`;
  const results: RunResult[] = [];
  let n = 0;
  for (const count of options.workers) {
    const workers: AppProcess[] = [];
    for (let i = 0; i < count; i++) {
      const env = {
        ...common,
        LOG_LEVEL: 'info',
        WORKER_CONCURRENCY: String(options.workerConcurrency),
        DB_POOL_SIZE: String(options.workerPool),
      };
      workers.push(spawnApp(`worker-${i + 1}`, appArgs('worker', stack.kind), env, cleanup));
    }
    await Promise.all(workers.map((w) => workerStarted(w)));
    const pids = workers.map((w) => w.child.pid).filter((p): p is number => p !== undefined);
    out(`${count} worker${count === 1 ? '' : 's'} (pids ${pids.join(', ')}):`);

    // --- saturation: a closed loop keeps `inFlight` alerts between ingest and delivery.
    const inFlight = options.inFlight || Math.max(64, 2 * count * options.workerConcurrency);
    const accepted: Ingested[] = [];
    const refused: Record<string, number> = {};
    let stop = false;
    const cpu = meters(stack.api.child.pid ?? null, pids, pgPid);
    const rss: Record<string, { rss: number; peak: number } | null> = {};
    const sampleRss = () => {
      const take = (name: string, pid: number | undefined) => {
        const m = pid === undefined ? null : processMemoryMiB(pid);
        const prev = rss[name];
        if (m && (!prev || m.rss > prev.rss)) rss[name] = { rss: m.rss, peak: m.peak };
      };
      take('api', stack.api.child.pid);
      for (const [i, w] of workers.entries()) take(`worker-${i + 1}`, w.child.pid);
      take('bench (load, mocks, agent)', process.pid);
      if (pgPid !== null) take('postgres (postmaster)', pgPid);
    };
    const rssTimer = setInterval(sampleRss, 1_000);
    // Earlier phases drained, so every delivery from now on is of an alert of this phase.
    const deliveredAtStart = agent.deliveredAt.size;
    const pending = () => accepted.length - (agent.deliveredAt.size - deliveredAtStart);
    let outstanding = 0;
    const loops = Array.from({ length: 8 }, async () => {
      while (!stop) {
        if (outstanding + pending() >= inFlight) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        outstanding++;
        const r = await ingestOne(url, key, options.indicators, n++);
        outstanding--;
        if (typeof r === 'string') {
          refused[r] = (refused[r] ?? 0) + 1;
          await new Promise((res) => setTimeout(res, 50));
        } else {
          accepted.push(r);
        }
      }
    });
    await new Promise((r) => setTimeout(r, options.warmup * 1_000));
    const deliveredBefore = agent.deliveredAt.size;
    const windowStart = performance.now();
    cpu.api.start();
    cpu.workers.start();
    cpu.postgres.start();
    cpu.bench.start();
    const machineA = machineCpuSeconds();
    await new Promise((r) => setTimeout(r, options.seconds * 1_000));
    const window = (performance.now() - windowStart) / 1000;
    const delivered = agent.deliveredAt.size - deliveredBefore;
    const machineB = machineCpuSeconds();
    const cpuFigures: Record<string, number | null> = {
      api: cpu.api.stop(),
      workers: cpu.workers.stop(),
      postgres: cpu.postgres.stop(),
      bench: cpu.bench.stop(),
      machine:
        machineA && machineB && machineB.total > machineA.total
          ? ((machineB.busy - machineA.busy) / (machineB.total - machineA.total)) * cores * 100
          : null,
    };
    stop = true;
    await Promise.all(loops);
    const sustained = delivered / window;
    out(
      `  sustained  ${fmt(sustained)} alerts/s delivered over ${fmt(window)} s (${inFlight} in flight; refused ${JSON.stringify(refused)})`,
    );
    const drained = await waitDrained(
      agent,
      accepted.map((a) => a.uuid),
      120_000,
    );
    if (!drained) out('  WARNING: the saturation backlog did not drain within 120 s');

    // --- paced at 50% of the sustained rate: open loop, one alert every 1/rate s.
    const rate = Math.max(1, sustained / 2);
    const paced: Ingested[] = [];
    const pacedRefused: Record<string, number> = {};
    const sends: Promise<void>[] = [];
    const t0 = performance.now();
    for (let i = 0; (performance.now() - t0) / 1000 < options.latencySeconds; i++) {
      const due = t0 + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      sends.push(
        ingestOne(url, key, options.indicators, n++).then((r) => {
          if (typeof r === 'string') pacedRefused[r] = (pacedRefused[r] ?? 0) + 1;
          else paced.push(r);
        }),
      );
    }
    await Promise.all(sends);
    clearInterval(rssTimer);
    await waitDrained(
      agent,
      paced.map((a) => a.uuid),
      60_000,
    );
    const latency = new LatencyRecorder();
    let undelivered = 0;
    for (const a of paced) {
      const at = agent.deliveredAt.get(a.uuid);
      if (at === undefined) undelivered++;
      else latency.record(at - a.sentAt);
    }
    const summary = latency.summary();
    out(
      `  at ${fmt(rate)}/s  ${paced.length} alerts: ingest → delivered p50 ${fmt(summary.p50, 0)} ms, p99 ${fmt(summary.p99, 0)} ms, max ${fmt(summary.max, 0)} ms` +
        (undelivered ? `; ${undelivered} not delivered within 60 s` : ''),
    );
    results.push({
      workers: count,
      sustained: { alertsPerSecond: round(sustained) ?? 0, window: round(window) ?? 0, delivered, inFlight, refused },
      paced: { rate: round(rate) ?? 0, alerts: paced.length, latency: summary, undelivered, refused: pacedRefused },
      rssMiB: rss,
      cpu: Object.fromEntries(Object.entries(cpuFigures).map(([k, v]) => [k, round(v, 0)])),
    });
    for (const w of workers) await w.stop('SIGTERM', 10_000);
  }

  out();
  out(
    table([
      ['workers', 'sustained alerts/s', 'scaling', 'p50 ms @50%', 'p99 ms @50%', 'CPU api/workers/pg/machine %'],
      ...results.map((r) => [
        String(r.workers),
        fmt(r.sustained.alertsPerSecond),
        `${fmt(r.sustained.alertsPerSecond / (results[0]?.sustained.alertsPerSecond || 1), 2)}×`,
        fmt(r.paced.latency.p50, 0),
        fmt(r.paced.latency.p99, 0),
        [r.cpu.api, r.cpu.workers, r.cpu.postgres, r.cpu.machine].map((v) => fmt(v, 0)).join(' / '),
      ]),
    ]),
  );
  out();
  out('RSS under load (largest sample, MiB; peak = VmHWM):');
  out(
    table([
      ['process', ...results.map((r) => `${r.workers} worker${r.workers === 1 ? '' : 's'}`)],
      ...[...new Set(results.flatMap((r) => Object.keys(r.rssMiB)))].map((name) => [
        name,
        ...results.map((r) => {
          const m = r.rssMiB[name];
          return m ? `${fmt(m.rss, 0)} (peak ${fmt(m.peak, 0)})` : '–';
        }),
      ]),
    ]),
  );
  if (refusalSamples.length > 0) {
    out('First refusals:');
    for (const sample of refusalSamples) out(`  ${sample}`);
    const errors = stack.api.lines.filter((l) => l.includes('"level":50'));
    for (const line of errors.slice(0, 3)) out(`  API: ${line.slice(0, 400)}`);
  }
  const file = writeResult('pipeline', startedAt, {
    startedAt: startedAt.toISOString(),
    git: gitState(),
    machine: { cores, loadavg: os.loadavg(), busyBefore },
    options,
    api: stack.api.command,
    results,
  });
  out();
  out(`Written to ${file}`);
  return 0;
}

/** The third provider, as JSON: the mock's VirusTotal IP API on its root path (as in src/enrich.ts). */
function customProvider(mock: MockProvidersServer) {
  return {
    provider_name: 'bench_intel',
    display_name: 'Bench Intel (mock VirusTotal IP API, root path)',
    description: 'Created by pnpm bench pipeline',
    supported_indicator_types: ['ip'],
    http_config: {
      steps: [
        {
          name: 'lookup',
          method: 'GET',
          url: `${mock.url}/api/v3/ip_addresses/{{indicator.value}}`,
          headers: { 'x-apikey': 'bench-intel-key', Accept: 'application/json' },
          timeout_ms: 10_000,
          expected_status: [200],
          not_found_status: [404],
        },
      ],
    },
    malice_rules: {
      rules: [
        { field: 'data.attributes.last_analysis_stats.malicious', operator: '>=', value: 5, verdict: 'Malicious' },
      ],
      default_verdict: 'Benign',
      not_found_verdict: 'Pending',
    },
    default_cache_ttl_seconds: 3600,
    timeout_ms: 30_000,
  };
}
