/**
 * `pnpm bench pipeline`: the whole pipeline end to end — ingest through the real API, enrichment by
 * real worker processes against 3 mock providers, delivery to a real (local, signed) agent endpoint —
 * and what each alert costs: CPU of Postgres, the workers and the API, statements, commits, WAL,
 * NOTIFYs and bytes written per alert delivered. Phases per worker count: cold saturation (every
 * alert new IPs), warm saturation (every answer cached), latency at half the cold rate; then a floor
 * (only the durable writes one alert needs, same database, same concurrency). Verdicts against the
 * targets of issue 20. Only public behaviour is relied on (HTTP ingest, deliveries to the bench's
 * endpoint, Postgres's own counters), so it keeps working while the pipeline's internals change.
 * See internal-packages/bench/README.md.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import fs from 'node:fs';
import { createServer, Agent as HttpAgent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createDb, migrateToLatest } from '@calseta/db';
import { type MockProvidersServer, mockProviderEnv, startMockProviders } from '@calseta/mock-providers';
import { logProblems } from './lib/log-problems.js';
import {
  PgStats,
  type PgWork,
  type PgWorkPerItem,
  perItem,
  startPostgresWithStatements,
  type TopStatement,
} from './lib/pg-stats.js';
import { createFloorTables, FLOOR_STATEMENTS, startFloor } from './lib/pipeline-floor.js';
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
  one,
  runMeasured,
  spawnApp,
  startWithFallback,
  waitForIdle,
  waitReady,
  workerStarted,
  writeResult,
} from './lib/stack.js';
import { fmt, LatencyRecorder, type LatencySummary, round, table } from './lib/stats.js';

export const description =
  'ingest → enriched → delivered, 3 mock providers: alerts/s cold and warm for 1/2 workers, Postgres work per alert, floor, p50 at half load';

const APP_SETTINGS =
  /^(API_|DB_|LOG_|MAX_|ALERT_|APP_|WORKER_|ENRICHMENT_|VIRUSTOTAL_|ABUSEIPDB_|OKTA_|ENTRA_|CALSETA_PROVIDER_|RATE_LIMIT_|JOB_|AGENT_|DATABASE_URL$|ENCRYPTION_KEY$|SSRF_ALLOWED_HOSTS$)|_WEBHOOK_SECRET$/;
/** The API's DB_POOL_SIZE default (apps/api/src/env.ts): with the workers' pools, the floor's connections. */
const API_POOL = 20;
/** Concurrent ingest requests of the closed loop. */
const INGEST_LOOPS = 8;
const PROVIDERS = 3;
/** How long a phase's backlog may take to drain (seconds at the healthy rate; a stuck delivery is reported). */
const DRAIN_MS = 45_000;
/** "Other processes" CPU (% of one core) above which a phase gets a warning. */
const OTHER_CPU_WARN = 20;
/** --wait-idle: the machine counts as quiet below this busy % (of one core), sampled over 1 s. */
const IDLE_BUSY = 25;

/** Issue 20's targets (printed as PASS/MISS, never asserted). */
const TARGET = {
  alertsPerSecond: 150,
  postgresMsPerAlert: 4,
  workerMsPerAlert: 5,
  warmOverCold: 2,
  /** p50 ≤ factor × slowest provider + ms, at half the cold rate. */
  p50Factor: 1.2,
  p50PlusMs: 30,
  /** 200 MB, in MiB. */
  workerRssMiB: 200e6 / 2 ** 20,
};

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
  warm: boolean;
  floor: boolean;
  floorSeconds: number;
  pgss: boolean;
  waitIdle: number;
  apps: AppMode;
  tmp: string;
}

const HELP = `Usage: pnpm bench pipeline [--workers 1,2] [--latency 50] [--indicators 2] [--worker-concurrency 64]
                           [--worker-pool 12] [--seconds 15] [--warmup 4] [--latency-seconds 10] [--in-flight 0]
                           [--no-warm] [--no-floor] [--floor-seconds 10] [--no-pgss] [--wait-idle <s>] [--apps auto|dist|tsx] [--tmp <dir>]

  --workers             worker process counts to measure, one after another (default 1,2)
  --latency             every mock provider answer is delayed this many ms (default 50)
  --indicators          fresh public IPs per alert (each: 3 provider calls; default 2)
  --worker-concurrency  WORKER_CONCURRENCY of each worker (default 64, the worker's own)
  --worker-pool         DB_POOL_SIZE of each worker (default 12: the API (20) and 4 workers, each
                        with pg-boss (4) and a LISTEN connection, stay under Postgres's 100)
  --seconds             measured window of each saturation phase (cold, warm; default 15), after
                        --warmup unmeasured seconds (default 4)
  --latency-seconds     paced phase at 50% of the cold rate (default 10)
  --in-flight           alerts kept between ingest and delivery in the saturation phases
                        (default 0 = 2 × workers × worker-concurrency, at least 64)
  --no-warm             skip the warm-cache phases
  --no-floor            skip the floor phase; --floor-seconds its measured window (default 10)
  --no-pgss             do not load pg_stat_statements (no statements, planning time, NOTIFYs)
  --wait-idle           before each worker count and the floor, wait up to this many seconds for
                        other load on the machine to drop below ${IDLE_BUSY}% of one core (default 0)`;

function parseOptions(args: string[]): Options | 'help' {
  const { values } = parseArgs({
    args,
    options: {
      workers: { type: 'string', default: '1,2' },
      latency: { type: 'string', default: '50' },
      indicators: { type: 'string', default: '2' },
      'worker-concurrency': { type: 'string', default: '64' },
      'worker-pool': { type: 'string', default: '12' },
      seconds: { type: 'string', default: '15' },
      warmup: { type: 'string', default: '4' },
      'latency-seconds': { type: 'string', default: '10' },
      'in-flight': { type: 'string', default: '0' },
      'no-warm': { type: 'boolean', default: false },
      'no-floor': { type: 'boolean', default: false },
      'floor-seconds': { type: 'string', default: '10' },
      'no-pgss': { type: 'boolean', default: false },
      'wait-idle': { type: 'string', default: '0' },
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
    warm: !values['no-warm'],
    floor: !values['no-floor'],
    floorSeconds: int('floor-seconds', values['floor-seconds'], 1),
    pgss: !values['no-pgss'],
    waitIdle: int('wait-idle', values['wait-idle'], 0),
    apps: values.apps as AppMode,
    tmp: values.tmp,
  };
}

// ------------------------------------------------------------------------------------- agent endpoint

/**
 * A local agent endpoint: records when each alert's first delivery arrived (bench clock), counts every
 * delivery, checks each signature (`X-Calseta-Signature`, docs/agent-webhooks.md) once the secret is
 * known, and keeps the first body (the floor's enrichment commit has its size).
 */
async function startAgent(cleanup: Cleanup) {
  const deliveredAt = new Map<string, number>();
  const state = { deliveries: 0, badSignatures: 0, bodyBytes: 0, sampleBody: '', secret: '' };
  /** 'delivered' (uuid) on each alert's first delivery. */
  const events = new EventEmitter().setMaxListeners(64);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const now = performance.now();
      const body = Buffer.concat(chunks);
      state.deliveries++;
      if (state.secret && !signatureValid(state.secret, req.headers, body)) state.badSignatures++;
      try {
        const uuid = (JSON.parse(body.toString('utf8')) as { alert?: { uuid?: string } }).alert?.uuid;
        if (uuid && !deliveredAt.has(uuid)) {
          deliveredAt.set(uuid, now);
          events.emit('delivered', uuid);
          state.bodyBytes += body.length;
          if (!state.sampleBody) state.sampleBody = body.toString('utf8');
        }
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
  return { host, url: `http://${host}/bench-agent`, deliveredAt, state, events };
}
type Agent = Awaited<ReturnType<typeof startAgent>>;

/** `X-Calseta-Signature: v1=<hex HMAC-SHA256(secret, "<X-Calseta-Timestamp>.<body>")>`. */
function signatureValid(secret: string, headers: NodeJS.Dict<string | string[]>, body: Buffer): boolean {
  const timestamp = headers['x-calseta-timestamp'];
  const signature = headers['x-calseta-signature'];
  if (typeof timestamp !== 'string' || typeof signature !== 'string') return false;
  const expected = `v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex')}`;
  return signature.length === expected.length && timingSafeEqual(Buffer.from(signature), Buffer.from(expected));
}

/**
 * How many of one phase's alerts were delivered, whichever of the 202 and the delivery the bench sees
 * first (a late delivery of an earlier phase's alert does not count).
 */
function phaseDeliveries(agent: Agent) {
  const mine = new Set<string>();
  let delivered = 0;
  const onDelivered = (uuid: string) => {
    if (mine.has(uuid)) delivered++;
  };
  agent.events.on('delivered', onDelivered);
  return {
    accepted(uuid: string) {
      mine.add(uuid);
      if (agent.deliveredAt.has(uuid)) delivered++;
    },
    delivered: () => delivered,
    close: () => agent.events.off('delivered', onDelivered),
  };
}

/** Resolves when every one of `uuids` was delivered (polled every 50 ms), false after `timeoutMs`. */
async function waitDelivered(agent: Agent, uuids: readonly string[], timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let i = 0;
  while (Date.now() < deadline) {
    while (i < uuids.length && agent.deliveredAt.has(uuids[i] as string)) i++;
    if (i === uuids.length) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
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
  ips: string[];
}

function ingestBody(n: number, ips: readonly string[]): string {
  return JSON.stringify({
    title: `bench pipeline ${n} ${randomBytes(4).toString('hex')}`,
    severity: 'high',
    indicators: ips.map((value) => ({ type: 'ip', value })),
  });
}

/**
 * Keep-alive connections for the load: node:http costs the bench process a fraction of what fetch
 * (undici) does per request, and the bench shares the cores it measures.
 */
const ingestSockets = new HttpAgent({ keepAlive: true, maxSockets: 64 });

function post(url: string, key: string, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        agent: ingestSockets,
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function ingestOne(url: string, key: string, ips: string[], n: number): Promise<Ingested | string> {
  const sentAt = performance.now();
  try {
    const { status, text } = await post(url, key, ingestBody(n, ips));
    if (status !== 202) {
      if (refusalSamples.length < 3) refusalSamples.push(`${status} ${text.slice(0, 300)}`);
      return String(status);
    }
    return { uuid: (JSON.parse(text) as { data: { alert_uuid: string } }).data.alert_uuid, sentAt, ips };
  } catch (error) {
    return (error as { code?: string }).code ?? 'error';
  }
}

// ------------------------------------------------------------------------------------- measuring

type CpuName = 'api' | 'workers' | 'postgres' | 'bench';

/** CPU meters of the stack's processes and the machine, over one window. */
function startCpu(pids: { api: number | null; workers: number[]; postgres: number | null }) {
  const sum = (values: (number | null)[]) =>
    values.some((v) => v === null) ? null : values.reduce<number>((a, b) => a + (b ?? 0), 0);
  const meters: Record<CpuName, CpuMeter> = {
    api: new CpuMeter(() => (pids.api === null ? null : processCpuSeconds(pids.api))),
    workers: new CpuMeter(() => (pids.workers.length ? sum(pids.workers.map((p) => processCpuSeconds(p))) : null)),
    postgres: new CpuMeter(() => (pids.postgres === null ? null : processTreeCpuSeconds(pids.postgres))),
    bench: new CpuMeter(() => processCpuSeconds(process.pid)),
  };
  for (const m of Object.values(meters)) m.start();
  const machineA = machineCpuSeconds();
  const cores = os.cpus().length;
  return (): Record<CpuName | 'machine', number | null> => {
    const machineB = machineCpuSeconds();
    const stopped = Object.fromEntries(Object.entries(meters).map(([k, m]) => [k, m.stop()])) as Record<
      CpuName,
      number | null
    >;
    const machine =
      machineA && machineB && machineB.total > machineA.total
        ? ((machineB.busy - machineA.busy) / (machineB.total - machineA.total)) * cores * 100
        : null;
    return { ...stopped, machine };
  };
}

/** One measured window: alerts (or floor lives) completed, CPU, Postgres work, provider calls. */
interface Phase {
  name: string;
  workers: number;
  alertsPerSecond: number;
  seconds: number;
  alerts: number;
  inFlight: number;
  refused: Record<string, number>;
  /** % of one core over the window. */
  cpu: Record<CpuName | 'machine', number | null>;
  pg: PgWork;
  top: TopStatement[];
  /** Postgres CPU seconds in the window by connection (application_name) or background process type. */
  cpuByBackend: Record<string, number>;
  providerCalls: number;
  deliveries: number;
  /** Saturation phases: alerts accepted, and provider calls from the phase's start until it drained. */
  accepted?: number;
  callsToDrain?: number;
}

/** Per-alert CPU ms from % of one core and alerts/s. */
function cpuMs(phase: Phase, who: CpuName): number | null {
  const percent = phase.cpu[who];
  return percent === null || phase.alertsPerSecond === 0 ? null : (percent * 10) / phase.alertsPerSecond;
}

/**
 * Measure `seconds` after `warmup`: starts the load (`run(stop)` until stop() is true), then measures
 * `done()` (items completed) and every counter over the window.
 */
async function measureWindow(
  stats: PgStats,
  pids: { api: number | null; workers: number[]; postgres: number | null },
  mock: MockProvidersServer,
  agent: Agent,
  windowSeconds: { warmup: number; seconds: number },
  done: () => number,
): Promise<Omit<Phase, 'name' | 'workers' | 'inFlight' | 'refused'>> {
  await new Promise((r) => setTimeout(r, windowSeconds.warmup * 1_000));
  const pg = await stats.window();
  const doneBefore = done();
  const callsBefore = mock.stats().requests;
  const deliveriesBefore = agent.state.deliveries;
  const started = performance.now();
  const stopCpu = startCpu(pids);
  await new Promise((r) => setTimeout(r, windowSeconds.seconds * 1_000));
  const cpu = stopCpu();
  const seconds = (performance.now() - started) / 1000;
  const alerts = done() - doneBefore;
  const providerCalls = mock.stats().requests - callsBefore;
  const deliveries = agent.state.deliveries - deliveriesBefore;
  const { work, top, cpuByBackend } = await pg.stop();
  return {
    alertsPerSecond: alerts / seconds,
    seconds,
    alerts,
    cpu,
    pg: work,
    top,
    cpuByBackend,
    providerCalls,
    deliveries,
  };
}

interface Latency {
  workers: number;
  rate: number;
  alerts: number;
  latency: LatencySummary;
  undelivered: number;
  refused: Record<string, number>;
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
    `            busy before start (2 s sample): ${busyBefore === null ? 'n/a' : `${fmt(busyBefore, 0)}% of ${cores * 100}%`}, ` +
      `load average ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' / ')}`,
  );
  out(`  data dir  ${tmpDir} (${filesystemOf(tmpDir)})`);

  const { postgres, statementsUnavailable } = await startPostgresWithStatements(tmpDir, options.pgss);
  cleanup.postgres = postgres;
  const pgPid = postmasterPid(path.join(tmpDir, 'pg'));
  const { db, pool } = createDb({ url: postgres.url, max: 2, applicationName: 'calseta-bench' });
  cleanup.destroyers.push(() => db.destroy());
  const opened = await PgStats.open(postgres.adminUrl, 'calseta', statementsUnavailable === null);
  cleanup.destroyers.push(opened.close);
  const stats = opened.stats;
  await migrateToLatest(db);
  // The pg-boss queues, the system rows and an admin key, as `calseta start` does on first run.
  const key = await firstRun(postgres.url, 'bench');
  const version = await one<{ v: string }>(pool, "SELECT current_setting('server_version') AS v");
  out(`  postgres  embedded ${version.v}, durable defaults (fsync, synchronous_commit, full_page_writes on);`);
  out(
    `            ${stats.statements ? 'pg_stat_statements loaded (track=all, track_planning=on: adds Postgres CPU; --no-pgss without)' : `no pg_stat_statements: ${statementsUnavailable ?? 'CREATE EXTENSION failed'} (statements, planning, NOTIFYs n/a)`}`,
  );

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
  const api = started.started.app;
  let kind = started.started.kind;
  // Workers run the way the API does (their bundle is built here when the API's was).
  if (kind === 'dist' && !buildApp('worker').ok) kind = 'tsx';
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
  agent.state.secret =
    (JSON.parse(await registered.text()) as { data?: { signing_secret?: string } }).data?.signing_secret ?? '';
  out(`  API       ${api.command} (pid ${api.child.pid})${started.note ? ` — fell back: ${started.note}` : ''}`);
  out(
    `  workers   ${options.workers.join(', ')} processes × WORKER_CONCURRENCY=${options.workerConcurrency}, DB_POOL_SIZE=${options.workerPool} (${kind === 'dist' ? 'dist bundles' : 'tsx'})`,
  );
  out(
    `  providers virustotal, abuseipdb, bench_intel (custom, JSON) — mock in the bench process, ${options.latency} ms each`,
  );
  out(
    `  alerts    generic source, ${options.indicators} public IPs each (${options.indicators * PROVIDERS} provider calls when cold), 1 signed delivery`,
  );
  out(
    `  phases    per worker count: cold ${options.warmup}+${options.seconds} s${options.warm ? `, warm ${options.warmup}+${options.seconds} s` : ''}, ` +
      `paced at 50% of cold ${options.latencySeconds} s${options.floor ? `; then the floor ${options.floorSeconds} s` : ''}`,
  );
  out();

  const url = `${base}/v1/ingest/generic`;
  cleanup.destroyers.unshift(async () => ingestSockets.destroy());
  const phases: Phase[] = [];
  const latencies: Latency[] = [];
  const rss: Record<number, Record<string, { rss: number; peak: number }>> = {};
  /** IPs of alerts delivered so far: enriched, so every answer about them is cached. */
  const enrichedIps: string[] = [];
  const allAccepted: Ingested[] = [];
  const workerLines: string[] = [];
  let n = 0;

  const waitIdle = async (what: string) => {
    if (options.waitIdle <= 0) return;
    const waited = await waitForIdle(options.waitIdle, IDLE_BUSY);
    out(
      `${what}: ${waited.quiet ? 'machine quiet' : 'machine still busy'} after ${fmt(waited.seconds, 0)} s (${fmt(waited.busy, 0)}% busy)`,
    );
  };
  for (const count of options.workers) {
    await waitIdle(`${count} worker${count === 1 ? '' : 's'}`);
    const workers: AppProcess[] = [];
    for (let i = 0; i < count; i++) {
      const env = {
        ...common,
        LOG_LEVEL: 'info',
        WORKER_CONCURRENCY: String(options.workerConcurrency),
        DB_POOL_SIZE: String(options.workerPool),
      };
      workers.push(spawnApp(`worker-${i + 1}`, appArgs('worker', kind), env, cleanup));
    }
    await Promise.all(workers.map((w) => workerStarted(w)));
    const workerPids = workers.map((w) => w.child.pid).filter((p): p is number => p !== undefined);
    const pids = { api: api.child.pid ?? null, workers: workerPids, postgres: pgPid };
    out(`${count} worker${count === 1 ? '' : 's'} (pids ${workerPids.join(', ')}):`);
    const memory: Record<string, { rss: number; peak: number }> = {};
    rss[count] = memory;
    const sampleRss = () => {
      const take = (name: string, pid: number | undefined) => {
        const m = pid === undefined ? null : processMemoryMiB(pid);
        const prev = memory[name];
        if (m && (!prev || m.rss > prev.rss)) memory[name] = { rss: m.rss, peak: m.peak };
      };
      take('api', api.child.pid);
      for (const [i, w] of workers.entries()) take(`worker-${i + 1}`, w.child.pid);
      take('bench (load, mocks, agent)', process.pid);
      if (pgPid !== null) take('postgres (postmaster)', pgPid);
    };
    const rssTimer = setInterval(sampleRss, 1_000);
    const inFlight = options.inFlight || Math.max(64, 2 * count * options.workerConcurrency);

    // --- saturation: a closed loop keeps `inFlight` alerts between ingest and delivery.
    const saturate = async (name: 'cold' | 'warm') => {
      let cursor = 0;
      const ips =
        name === 'cold'
          ? () => Array.from({ length: options.indicators }, freshIp)
          : () =>
              Array.from({ length: options.indicators }, () => enrichedIps[cursor++ % enrichedIps.length] as string);
      const accepted: Ingested[] = [];
      const refused: Record<string, number> = {};
      const callsAtStart = mock.stats().requests;
      const tracker = phaseDeliveries(agent);
      let outstanding = 0;
      let stop = false;
      const loops = Array.from({ length: INGEST_LOOPS }, async () => {
        while (!stop) {
          if (outstanding + accepted.length - tracker.delivered() >= inFlight) {
            // Full: wait for the next delivery (or 50 ms, to notice `stop`).
            await once(agent.events, 'delivered', { signal: AbortSignal.timeout(50) }).catch(() => undefined);
            continue;
          }
          outstanding++;
          const r = await ingestOne(url, key, ips(), n++);
          outstanding--;
          if (typeof r === 'string') {
            refused[r] = (refused[r] ?? 0) + 1;
            await new Promise((res) => setTimeout(res, 50));
          } else {
            accepted.push(r);
            tracker.accepted(r.uuid);
          }
        }
      });
      const measured = await measureWindow(stats, pids, mock, agent, options, tracker.delivered);
      stop = true;
      await Promise.all(loops);
      tracker.close();
      const phase: Phase = { name, workers: count, inFlight, refused, ...measured };
      phases.push(phase);
      out(
        `  ${name.padEnd(5)} ${fmt(phase.alertsPerSecond)} alerts/s delivered over ${fmt(phase.seconds)} s ` +
          `(${inFlight} in flight; Postgres ${fmt(cpuMs(phase, 'postgres'), 2)} ms, workers ${fmt(cpuMs(phase, 'workers'), 2)} ms CPU/alert` +
          `${Object.keys(refused).length ? `; refused ${JSON.stringify(refused)}` : ''})`,
      );
      const drained = await waitDelivered(
        agent,
        accepted.map((a) => a.uuid),
        DRAIN_MS,
      );
      if (!drained) out(`  WARNING: the ${name} backlog did not drain within ${DRAIN_MS / 1000} s`);
      phase.accepted = accepted.length;
      phase.callsToDrain = mock.stats().requests - callsAtStart;
      allAccepted.push(...accepted);
      if (name === 'cold') for (const a of accepted) if (agent.deliveredAt.has(a.uuid)) enrichedIps.push(...a.ips);
      return phase;
    };
    const cold = await saturate('cold');
    if (options.warm && enrichedIps.length > 0) await saturate('warm');

    // --- paced at 50% of the cold rate: open loop, one alert every 1/rate s, fresh IPs.
    const rate = Math.max(1, cold.alertsPerSecond / 2);
    const paced: Ingested[] = [];
    const pacedRefused: Record<string, number> = {};
    const sends: Promise<void>[] = [];
    const t0 = performance.now();
    for (let i = 0; (performance.now() - t0) / 1000 < options.latencySeconds; i++) {
      const wait = t0 + (i * 1000) / rate - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const ips = Array.from({ length: options.indicators }, freshIp);
      sends.push(
        ingestOne(url, key, ips, n++).then((r) => {
          if (typeof r === 'string') pacedRefused[r] = (pacedRefused[r] ?? 0) + 1;
          else paced.push(r);
        }),
      );
    }
    await Promise.all(sends);
    await waitDelivered(
      agent,
      paced.map((a) => a.uuid),
      DRAIN_MS,
    );
    clearInterval(rssTimer);
    allAccepted.push(...paced);
    const latency = new LatencyRecorder();
    let undelivered = 0;
    for (const a of paced) {
      const at = agent.deliveredAt.get(a.uuid);
      if (at === undefined) undelivered++;
      else latency.record(at - a.sentAt);
    }
    const summary = latency.summary();
    latencies.push({
      workers: count,
      rate,
      alerts: paced.length,
      latency: summary,
      undelivered,
      refused: pacedRefused,
    });
    out(
      `  at ${fmt(rate)}/s  ${paced.length} alerts: ingest → delivered p50 ${fmt(summary.p50, 0)} ms, p99 ${fmt(summary.p99, 0)} ms, max ${fmt(summary.max, 0)} ms` +
        (undelivered ? `; ${undelivered} not delivered within ${DRAIN_MS / 1000} s` : ''),
    );
    for (const w of workers) await w.stop('SIGTERM', 10_000);
    for (const w of workers) workerLines.push(...w.lines);
  }

  // --- floor: only the durable writes of one alert's life, same database, same concurrency.
  const firstCold = phases.find((p) => p.name === 'cold');
  let floorConfig: { loops: number; connections: number; ingestBytes: number; resultsBytes: number } | null = null;
  if (options.floor && firstCold) {
    await waitIdle('floor');
    await createFloorTables(pool);
    const sampleIngest = ingestBody(0, Array.from({ length: options.indicators }, freshIp));
    const results = agent.state.sampleBody || '{}';
    floorConfig = {
      loops: firstCold.inFlight,
      connections: API_POOL + options.workerPool,
      ingestBytes: Buffer.byteLength(sampleIngest),
      resultsBytes: Buffer.byteLength(results),
    };
    const floor = startFloor(postgres.url, cleanup, {
      loops: floorConfig.loops,
      connections: floorConfig.connections,
      ingestBody: sampleIngest,
      results,
    });
    const measured = await measureWindow(
      stats,
      { api: null, workers: [], postgres: pgPid },
      mock,
      agent,
      { warmup: Math.min(options.warmup, 2), seconds: options.floorSeconds },
      floor.done,
    );
    await floor.stop();
    const phase: Phase = {
      name: 'floor',
      workers: 0,
      inFlight: floorConfig.loops,
      refused: floor.failures,
      ...measured,
    };
    phases.push(phase);
    out(
      `floor: ${fmt(phase.alertsPerSecond)} alert lives/s over ${fmt(phase.seconds)} s (${floorConfig.loops} in flight, ` +
        `${floorConfig.connections} connections; Postgres ${fmt(cpuMs(phase, 'postgres'), 2)} ms CPU/alert)`,
    );
  }

  // ---------------------------------------------------------------------------------- report
  const label = (p: Phase) => (p.name === 'floor' ? 'floor' : `${p.name} ${p.workers}w`);
  const per = new Map<Phase, PgWorkPerItem>(phases.map((p) => [p, perItem(p.pg, p.alerts)]));
  const row = (name: string, value: (p: Phase, pg: PgWorkPerItem) => string) => [
    name,
    ...phases.map((p) => value(p, per.get(p) as PgWorkPerItem)),
  ];
  const kb = (v: number | null) => (v === null ? 'n/a' : fmt(v / 1024, 1));
  // Postgres CPU by connection group: those worth ≥ 0.05 ms per alert in some phase, largest first.
  const backendMs = (p: Phase, who: string) => (p.alerts ? ((p.cpuByBackend[who] ?? 0) * 1000) / p.alerts : 0);
  const backendGroups = [...new Set(phases.flatMap((p) => Object.keys(p.cpuByBackend)))]
    .filter((who) => phases.some((p) => backendMs(p, who) >= 0.05))
    .sort((a, b) => backendMs(phases[0] as Phase, b) - backendMs(phases[0] as Phase, a));
  // Whole machine minus the stack and the bench: anything else running distorts the phase.
  const otherCpu = (p: Phase) => {
    const { machine, api, workers, postgres, bench } = p.cpu;
    if (machine === null || postgres === null || bench === null) return null;
    return Math.max(0, machine - (api ?? 0) - (workers ?? 0) - postgres - bench);
  };
  const exitedMs = (p: Phase) => {
    const total = cpuMs(p, 'postgres');
    if (total === null || !p.alerts) return null;
    const attributed = Object.values(p.cpuByBackend).reduce((a, b) => a + b, 0);
    return Math.max(0, total - (attributed * 1000) / p.alerts);
  };
  out();
  out('Per alert delivered, each phase’s measured window (floor: per alert life; CPU ms = ms of one core):');
  out(
    table([
      ['', ...phases.map(label)],
      row('alerts/s', (p) => fmt(p.alertsPerSecond)),
      row('Postgres CPU ms', (p) => fmt(cpuMs(p, 'postgres'), 2)),
      ...backendGroups.map((who) => row(`  ${who}`, (p) => fmt(p.alerts ? backendMs(p, who) : null, 2))),
      row('  exited backends, postmaster', (p) => fmt(exitedMs(p), 2)),
      row('worker CPU ms (all workers)', (p) => (p.name === 'floor' ? '–' : fmt(cpuMs(p, 'workers'), 2))),
      row('API CPU ms', (p) => (p.name === 'floor' ? '–' : fmt(cpuMs(p, 'api'), 2))),
      row('bench CPU ms (load, mocks, agent | pg)', (p) => fmt(cpuMs(p, 'bench'), 2)),
      row(`machine CPU % (of ${cores * 100})`, (p) => fmt(p.cpu.machine, 0)),
      row('  other processes %', (p) => fmt(otherCpu(p), 0)),
      row('statements (top level)', (_p, pg) => fmt(pg.statements, 1)),
      row('  planning ms', (_p, pg) => fmt(pg.planMs, 2)),
      row('  execution ms', (_p, pg) => fmt(pg.execMs, 2)),
      row('commits', (_p, pg) => fmt(pg.commits, 1)),
      row('  with an xid (wrote or NOTIFYed)', (_p, pg) => fmt(pg.writeTransactions, 1)),
      row('  rollbacks', (_p, pg) => fmt(pg.rollbacks, 2)),
      row('connections opened', (_p, pg) => fmt(pg.sessions, 3)),
      row('WAL KiB (LSN delta)', (_p, pg) => kb(pg.walBytes)),
      row('  WAL records', (_p, pg) => fmt(pg.walRecords, 0)),
      row('  full-page images', (_p, pg) => fmt(pg.walFullPageImages, 1)),
      row('NOTIFYs issued', (_p, pg) => fmt(pg.notifies, 2)),
      row('KiB written: WAL', (_p, pg) => kb(pg.walWrittenBytes)),
      row('KiB written: data files', (_p, pg) => kb(pg.dataWrittenBytes)),
      row('fsyncs', (_p, pg) => fmt(pg.fsyncs, 2)),
      row('provider calls', (p) => (p.name === 'floor' ? '–' : fmt(p.alerts ? p.providerCalls / p.alerts : null, 2))),
      row('deliveries received', (p) => (p.name === 'floor' ? '–' : fmt(p.alerts ? p.deliveries / p.alerts : null, 2))),
    ]),
  );
  out(
    '  statements, planning/execution, NOTIFYs: pg_stat_statements (NOTIFYs = rows of SELECT pg_notify(), calls of NOTIFY and of WITH members calling it);',
  );
  out('  commits: pg_stat_database.xact_commit; WAL: pg_current_wal_lsn and pg_stat_wal; written, fsyncs: pg_stat_io.');
  if (floorConfig) {
    out(
      `  floor: ${floorConfig.loops} concurrent alert lives over ${floorConfig.connections} connections (the API's ${API_POOL} + one worker's ${options.workerPool}), ` +
        `each 3 autocommitted statements:`,
    );
    for (const s of FLOOR_STATEMENTS) out(`    ${s}`);
    out(
      `    (ingest body ${floorConfig.ingestBytes} B as sent; results = a delivered body, ${floorConfig.resultsBytes} B)`,
    );
  }
  const floorPhase = phases.find((p) => p.name === 'floor');
  if (firstCold && floorPhase) {
    const a = per.get(firstCold) as PgWorkPerItem;
    const f = per.get(floorPhase) as PgWorkPerItem;
    const ratio = (x: number | null, y: number | null) =>
      x === null || y === null || y === 0 ? 'n/a' : `${fmt(x / y, 2)}×`;
    out(
      `  pipeline (cold, ${firstCold.workers}w) ÷ floor: alerts/s ${ratio(firstCold.alertsPerSecond, floorPhase.alertsPerSecond)}, ` +
        `Postgres CPU/alert ${ratio(cpuMs(firstCold, 'postgres'), cpuMs(floorPhase, 'postgres'))}, statements ${ratio(a.statements, f.statements)}, ` +
        `commits ${ratio(a.commits, f.commits)}, WAL ${ratio(a.walBytes, f.walBytes)}`,
    );
  }
  for (const name of ['cold', 'warm'] as const) {
    const series = phases.filter((p) => p.name === name);
    const first = series[0];
    if (!first || series.length < 2) continue;
    out(
      `  ${name} scaling: ${series
        .map(
          (p) =>
            `${p.workers}w ${fmt(p.alertsPerSecond)}/s (${fmt(p.alertsPerSecond / (first.alertsPerSecond || 1), 2)}×)`,
        )
        .join(', ')}`,
    );
  }
  const noisy = phases.filter((p) => (otherCpu(p) ?? 0) > OTHER_CPU_WARN).map(label);
  if (noisy.length > 0) {
    out(
      `  WARNING: other processes used more than ${OTHER_CPU_WARN}% CPU in ${noisy.join(', ')}: throughput and latency there ` +
        'are about the neighbours; the per-alert counts are not (rerun on a quiet machine, or --wait-idle).',
    );
  }
  if (firstCold && firstCold.top.length > 0) {
    out();
    out(`Costliest statements in cold ${firstCold.workers}w (pg_stat_statements, top level, planning + execution):`);
    // The statement text last and left-aligned: the figures as a table, the text after each row.
    const figures = table([
      ['ms/alert', 'calls/alert', 'rows/call', 'WAL B/alert'],
      ...firstCold.top.map((s) => [
        fmt(s.ms / firstCold.alerts, 3),
        fmt(s.calls / firstCold.alerts, 2),
        fmt(s.calls ? s.rows / s.calls : null, 1),
        fmt(s.walBytes / firstCold.alerts, 0),
      ]),
    ]).split('\n');
    const texts = ['statement', '---------', ...firstCold.top.map((s) => s.query)];
    figures.forEach((line, i) => {
      const text = texts[i] ?? '';
      out(`${line}  ${text.length > 100 ? `${text.slice(0, 99)}…` : text}`);
    });
  }
  out();
  out('Ingest → delivered at 50% of the cold rate (open loop, fresh IPs; bench clock):');
  out(
    table([
      ['workers', 'alerts/s', 'alerts', 'p50 ms', 'p99 ms', 'max ms', 'undelivered'],
      ...latencies.map((l) => [
        String(l.workers),
        fmt(l.rate),
        String(l.alerts),
        fmt(l.latency.p50, 0),
        fmt(l.latency.p99, 0),
        fmt(l.latency.max, 0),
        String(l.undelivered),
      ]),
    ]),
  );
  out();
  out('RSS under load (largest 1-s sample, MiB; peak = VmHWM):');
  const counts = Object.keys(rss).map(Number);
  out(
    table([
      ['process', ...counts.map((c) => `${c} worker${c === 1 ? '' : 's'}`)],
      ...[...new Set(counts.flatMap((c) => Object.keys(rss[c] ?? {})))].map((name) => [
        name,
        ...counts.map((c) => {
          const m = rss[c]?.[name];
          return m ? `${fmt(m.rss, 0)} (peak ${fmt(m.peak, 0)})` : '–';
        }),
      ]),
    ]),
  );

  // Targets: issue 20, about one worker (the first count measured) and cold alerts.
  const firstWarm = phases.find((p) => p.name === 'warm' && p.workers === firstCold?.workers);
  const firstLatency = latencies.find((l) => l.workers === firstCold?.workers);
  const workerRss = Math.max(
    ...Object.entries(rss[firstCold?.workers ?? 0] ?? {})
      .filter(([name]) => name.startsWith('worker-'))
      .map(([, v]) => v.rss),
  );
  const p50Target = TARGET.p50Factor * options.latency + TARGET.p50PlusMs;
  const verdicts: { what: string; value: number | null; text: string; target: string; pass: boolean | null }[] = [];
  const verdict = (what: string, value: number | null, text: string, target: string, pass: (v: number) => boolean) =>
    verdicts.push({ what, value, text, target, pass: value === null || !Number.isFinite(value) ? null : pass(value) });
  const w = firstCold ? `${firstCold.workers} worker${firstCold.workers === 1 ? '' : 's'}` : 'n/a';
  verdict(
    `cold alerts/s, ${w}`,
    firstCold?.alertsPerSecond ?? null,
    fmt(firstCold?.alertsPerSecond),
    `≥ ${TARGET.alertsPerSecond}`,
    (v) => v >= TARGET.alertsPerSecond,
  );
  const pgMs = firstCold ? cpuMs(firstCold, 'postgres') : null;
  verdict(
    'Postgres CPU ms/alert (cold)',
    pgMs,
    fmt(pgMs, 2),
    `≤ ${TARGET.postgresMsPerAlert}`,
    (v) => v <= TARGET.postgresMsPerAlert,
  );
  const workerMs = firstCold ? cpuMs(firstCold, 'workers') : null;
  verdict(
    'worker CPU ms/alert (cold)',
    workerMs,
    fmt(workerMs, 2),
    `≤ ${TARGET.workerMsPerAlert}`,
    (v) => v <= TARGET.workerMsPerAlert,
  );
  const warmRatio =
    firstWarm && firstCold?.alertsPerSecond ? firstWarm.alertsPerSecond / firstCold.alertsPerSecond : null;
  verdict(
    'warm ÷ cold alerts/s',
    warmRatio,
    `${fmt(warmRatio, 2)}×`,
    `≥ ${TARGET.warmOverCold}×`,
    (v) => v >= TARGET.warmOverCold,
  );
  const p50 = firstLatency?.latency.p50 ?? null;
  verdict(
    'p50 ingest → delivered at half load',
    p50,
    `${fmt(p50, 0)} ms`,
    `≤ ${fmt(p50Target, 0)} ms (${TARGET.p50Factor} × ${options.latency} + ${TARGET.p50PlusMs})`,
    (v) => v <= p50Target,
  );
  const rssValue = Number.isFinite(workerRss) ? workerRss : null;
  verdict(
    'worker RSS, largest sample',
    rssValue,
    `${fmt(rssValue, 0)} MiB`,
    `≤ 200 MB (${fmt(TARGET.workerRssMiB, 1)} MiB)`,
    (v) => v <= TARGET.workerRssMiB,
  );
  out();
  out(`Targets of issue 20 (${w}; figures, not assertions — the exit code is 0 either way):`);
  out(
    table([
      ['', 'measured', 'target', ''],
      ...verdicts.map((v) => [v.what, v.text, v.target, v.pass === null ? 'n/a' : v.pass ? 'PASS' : 'MISS']),
    ]),
  );

  // Correctness: every accepted alert delivered once, signed.
  const undeliveredTotal = allAccepted.filter((a) => !agent.deliveredAt.has(a.uuid)).length;
  const duplicates = agent.state.deliveries - agent.deliveredAt.size;
  const cold = phases.filter((p) => p.name === 'cold');
  const warm = phases.filter((p) => p.name === 'warm');
  const sum = (ps: Phase[], f: (p: Phase) => number) => ps.reduce((a, p) => a + f(p), 0);
  out();
  out('Correctness:');
  out(
    `  ${allAccepted.length} alerts accepted, ${agent.deliveredAt.size} delivered, ${undeliveredTotal} never delivered; ` +
      `${agent.state.deliveries} deliveries received (${duplicates} beyond the first per alert), ` +
      `${agent.state.badSignatures} with a bad or missing signature`,
  );
  const calls = (ps: Phase[]) => sum(ps, (p) => p.callsToDrain ?? 0);
  const coldAlerts = sum(cold, (p) => p.accepted ?? 0);
  const expected = coldAlerts * options.indicators * PROVIDERS;
  out(
    `  provider calls, phase start to drained: cold ${calls(cold)} for ${coldAlerts} alerts, ${expected} expected ` +
      `(${options.indicators * PROVIDERS} each) → ${calls(cold) === expected ? 'OK' : 'MISMATCH'}` +
      (warm.length
        ? `; warm ${calls(warm)}, 0 expected (every answer cached) → ${calls(warm) === 0 ? 'OK' : 'MISMATCH'}`
        : ''),
  );
  for (const [app, lines] of [
    ['API', api.lines],
    ['workers', workerLines],
  ] as const) {
    const problems = Object.entries(logProblems(lines)).sort((a, b) => b[1] - a[1]);
    out(`  ${app} log: ${lines.length} lines, ${problems.reduce((a, [, c]) => a + c, 0)} warnings/errors`);
    for (const [what, count] of problems.slice(0, 6)) out(`    ${count} × ${what.slice(0, 200)}`);
  }
  if (refusalSamples.length > 0) {
    out('First refusals:');
    for (const sample of refusalSamples) out(`  ${sample}`);
    const errors = api.lines.filter((l) => l.includes('"level":50'));
    for (const line of errors.slice(0, 3)) out(`  API: ${line.slice(0, 400)}`);
  }
  const roundPg = (pg: PgWorkPerItem) => Object.fromEntries(Object.entries(pg).map(([k, v]) => [k, round(v, 3)]));
  const file = writeResult('pipeline', startedAt, {
    startedAt: startedAt.toISOString(),
    git: gitState(),
    machine: { cores, loadavg: os.loadavg(), busyBefore },
    options,
    api: api.command,
    pgStatStatements: stats.statements,
    phases: phases.map((p) => ({
      name: p.name,
      workers: p.workers,
      alertsPerSecond: round(p.alertsPerSecond),
      alerts: p.alerts,
      seconds: round(p.seconds, 2),
      inFlight: p.inFlight,
      refused: p.refused,
      cpuPercentOfOneCore: Object.fromEntries(Object.entries(p.cpu).map(([k, v]) => [k, round(v, 0)])),
      cpuMsPerAlert: Object.fromEntries(
        (['api', 'workers', 'postgres', 'bench'] as const).map((k) => [k, round(cpuMs(p, k), 3)]),
      ),
      pgPerAlert: roundPg(per.get(p) as PgWorkPerItem),
      pgTotal: p.pg,
      postgresCpuSecondsByBackend: Object.fromEntries(Object.entries(p.cpuByBackend).map(([k, v]) => [k, round(v, 3)])),
      providerCalls: p.providerCalls,
      deliveries: p.deliveries,
      accepted: p.accepted,
      providerCallsToDrain: p.callsToDrain,
      topStatements: p.top,
    })),
    latency: latencies.map((l) => ({ ...l, rate: round(l.rate) })),
    rssMiB: rss,
    floor: floorConfig,
    targets: verdicts,
    correctness: {
      accepted: allAccepted.length,
      delivered: agent.deliveredAt.size,
      undelivered: undeliveredTotal,
      deliveries: agent.state.deliveries,
      badSignatures: agent.state.badSignatures,
    },
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
