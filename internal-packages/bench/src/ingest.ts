/**
 * `pnpm bench ingest`: HTTP ingest throughput and latency of the real API process against a durable
 * embedded Postgres, compared with a raw-SQL "floor" (the same two-row transaction done directly
 * with `pg`) on the same database, concurrency and duration. See internal-packages/bench/README.md.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createDb, migrateToLatest } from '@calseta/db';
import autocannon from 'autocannon';
import { activitySampler, describeActivity } from './lib/pg-activity.js';
import { PgStats, type PgWork, perItem as pgItem, startPostgresWithStatements } from './lib/pg-stats.js';
import {
  CpuMeter,
  machineCpuSeconds,
  postmasterPid,
  processCpuSeconds,
  processMemoryMiB,
  processTreeCpuSeconds,
} from './lib/proc.js';
import {
  type ApiProcess,
  type AppMode,
  type Cleanup,
  filesystemOf,
  firstRun,
  gitState,
  machineBusy,
  one,
  type Pool,
  ROOT,
  runMeasured,
  startBenchApi,
  startWithFallback,
  waitForIdle,
  writeResult,
} from './lib/stack.js';
import { fmt, LatencyRecorder, type LatencySummary, round, table } from './lib/stats.js';

export const description = 'POST /v1/ingest/elastic on the real API vs a raw-SQL floor, durable embedded Postgres';

const FIXTURE = path.join(ROOT, 'packages/integrations/fixtures/02_elastic_malware_hash.json');
const TITLE_FIELD = '"kibana.alert.rule.name": "Known Malware Hash Detected on Endpoint';
/** Issue 20: ingest at least as fast as its floor (group commit should beat per-alert commits). */
const TARGET_RATIO = 1.0;
const TARGET_P99_MS = 50;
/** "Other processes" CPU (% of one core) above which a phase's figures get a warning. */
const OTHER_CPU_WARN = 20;
/** --wait-idle: the machine counts as quiet below this busy % (of one core), sampled over 1 s. */
const IDLE_BUSY = 25;

type Order = 'ingest-first' | 'floor-first';

interface Options {
  duration: number;
  connections: number;
  warmup: number;
  order: Order;
  api: AppMode;
  /** Run `node <apiEntry>` instead of the dist bundle or tsx (a bundle built some other way). */
  apiEntry: string | undefined;
  /** Before each phase, wait up to this many seconds for the machine to be quiet. 0 = don't. */
  waitIdle: number;
  /** Load pg_stat_statements (statements per item; adds Postgres CPU). */
  pgss: boolean;
  tmp: string;
}

const HELP = `Usage: pnpm bench ingest [--duration 20] [--connections 32] [--warmup 3]
                          [--order ingest-first|floor-first] [--api auto|dist|tsx | --api-entry <file>]
                          [--wait-idle <s>] [--pgss] [--tmp <dir>]

  --duration     measured seconds per phase (default 20)
  --connections  concurrent HTTP connections, and the floor's pool size / concurrency (default 32)
  --warmup       unmeasured seconds before each phase (default 3)
  --order        which phase runs first on the (growing) database (default ingest-first)
  --api          dist: build and run apps/api/dist/main.js; tsx: node --import tsx apps/api/src/main.ts;
                 auto (default): dist if it builds and starts, otherwise tsx
  --api-entry    run \`node <file>\` as the API instead (e.g. a bundle built elsewhere); overrides --api
  --wait-idle    before each phase, wait up to this many seconds for other load on the machine to drop
                 below ${IDLE_BUSY}% of one core (default 0: don't wait)
  --pgss         load pg_stat_statements: statements and planning time per item (adds Postgres CPU;
                 commits, WAL and bytes written per item are shown without it)
  --tmp          parent directory of the throwaway Postgres data dir (default: the OS temp dir)`;

function parseOptions(args: string[]): Options | 'help' {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      duration: { type: 'string', default: '20' },
      connections: { type: 'string', default: '32' },
      warmup: { type: 'string', default: '3' },
      order: { type: 'string', default: 'ingest-first' },
      api: { type: 'string', default: 'auto' },
      'api-entry': { type: 'string' },
      'wait-idle': { type: 'string', default: '0' },
      pgss: { type: 'boolean', default: false },
      tmp: { type: 'string', default: os.tmpdir() },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const number = (name: string, raw: string, { integer = false, zero = false } = {}) => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0 || (n === 0 && !zero) || (integer && !Number.isInteger(n))) {
      throw new Error(
        `--${name} must be a ${zero ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}, got "${raw}"`,
      );
    }
    return n;
  };
  if (values.order !== 'ingest-first' && values.order !== 'floor-first') {
    throw new Error(`--order must be ingest-first or floor-first, got "${values.order}"`);
  }
  if (values.api !== 'auto' && values.api !== 'dist' && values.api !== 'tsx') {
    throw new Error(`--api must be auto, dist or tsx, got "${values.api}"`);
  }
  return {
    duration: number('duration', values.duration),
    connections: number('connections', values.connections, { integer: true }),
    warmup: number('warmup', values.warmup, { zero: true }),
    order: values.order,
    api: values.api,
    apiEntry: values['api-entry'] === undefined ? undefined : path.resolve(values['api-entry']),
    waitIdle: number('wait-idle', values['wait-idle'], { zero: true }),
    pgss: values.pgss,
    tmp: values.tmp,
  };
}

// ------------------------------------------------------------------------------------- payloads

/** The fixture's exact bytes with a unique title per request (the title is part of the dedup fingerprint). */
function payloadFactory(): { bytes: number; body: (tag: string, n: number) => string } {
  const text = fs.readFileSync(FIXTURE, 'utf8');
  const at = text.indexOf(TITLE_FIELD);
  if (at < 0 || text.indexOf(TITLE_FIELD, at + 1) >= 0) {
    throw new Error(`${FIXTURE}: expected exactly one ${TITLE_FIELD}…"`);
  }
  const head = text.slice(0, at + TITLE_FIELD.length);
  const tail = text.slice(at + TITLE_FIELD.length);
  return { bytes: Buffer.byteLength(text), body: (tag, n) => `${head} #${tag}-${n}${tail}` };
}

// ------------------------------------------------------------------------------------- phases

interface CpuFigures {
  /** Average % of one core over the measured window (2 cores = 200%). */
  api: number | null;
  postgres: number | null;
  /** The bench process: autocannon (ingest) or the pg client (floor). */
  client: number | null;
  /** All processes on the machine. */
  machine: number | null;
  /** machine − (api + postgres + client): anything else running on the box (other users' tests, …). */
  other: number | null;
}

interface PhaseResult {
  seconds: number;
  ok: number;
  perSecond: number;
  failures: Record<string, number>;
  latency: LatencySummary;
  cpu: CpuFigures;
  /** Average Postgres connections of the load's application per state/wait (pg_stat_activity samples). */
  activity?: { samples: number; connections: Record<string, number> };
  /** What Postgres did while the load ran (lib/pg-stats.ts), and the items completed meanwhile. */
  pg?: { work: PgWork; items: number };
}

interface HttpPhase extends PhaseResult {
  sent: number;
  /** Requests sent whose response never arrived before the load generator closed its sockets. */
  unanswered: number;
  /** autocannon's own per-second completed-request samples. */
  perSecondSamples: { min: number; mean: number; max: number };
  errorSamples: string[];
}

interface FloorPhase extends PhaseResult {
  /** All commits, including those that finished after the deadline (not counted in `ok`). */
  committed: number;
}

function meters(apiPid: number | null, pgPid: number | null) {
  const cores = os.cpus().length;
  const bench = new CpuMeter(() => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  });
  const api = apiPid === null ? null : new CpuMeter(() => processCpuSeconds(apiPid));
  const postgres = pgPid === null ? null : new CpuMeter(() => processTreeCpuSeconds(pgPid));
  let machineStart = machineCpuSeconds();
  return {
    start() {
      machineStart = machineCpuSeconds();
      bench.start();
      api?.start();
      postgres?.start();
    },
    stop(): CpuFigures {
      const machineEnd = machineCpuSeconds();
      const machine =
        machineStart && machineEnd && machineEnd.total > machineStart.total
          ? ((machineEnd.busy - machineStart.busy) / (machineEnd.total - machineStart.total)) * cores * 100
          : null;
      const figures = { client: bench.stop(), api: api?.stop() ?? null, postgres: postgres?.stop() ?? null, machine };
      const other =
        figures.machine === null || figures.api === null || figures.postgres === null || figures.client === null
          ? null
          : Math.max(0, figures.machine - figures.api - figures.postgres - figures.client);
      return { ...figures, other };
    },
  };
}

async function httpPhase(
  url: string,
  key: string,
  connections: number,
  seconds: number,
  tag: string,
  body: (tag: string, n: number) => string,
  cpu: ReturnType<typeof meters>,
  onItem: () => void = () => undefined,
): Promise<HttpPhase> {
  let sent = 0;
  const statuses = new Map<number, number>();
  const latency = new LatencyRecorder();
  const errorSamples: string[] = [];
  let socketErrors = 0;
  cpu.start();
  const started = performance.now();
  const instance = autocannon({
    url,
    method: 'POST',
    connections,
    duration: seconds,
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    requests: [
      {
        setupRequest: (request) => ({ ...request, body: body(tag, sent++) }),
        onResponse: (status, responseBody) => {
          if (status !== 202 && errorSamples.length < 3) errorSamples.push(`${status} ${responseBody.slice(0, 300)}`);
        },
      },
    ],
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if (status === 202) {
      latency.record(ms);
      onItem();
    }
  });
  instance.on('reqError', (error: Error) => {
    socketErrors++;
    if (errorSamples.length < 3) errorSamples.push(`socket: ${error.message}`);
  });
  const result = await instance;
  const elapsed = (performance.now() - started) / 1000;
  const figures = cpu.stop();
  const ok = statuses.get(202) ?? 0;
  const failures: Record<string, number> = {};
  for (const [status, count] of statuses) if (status !== 202) failures[String(status)] = count;
  if (socketErrors > 0) failures.socket_error = socketErrors;
  if (result.timeouts > 0) failures.timeout = result.timeouts;
  const answered = [...statuses.values()].reduce((a, b) => a + b, 0);
  return {
    seconds: elapsed,
    ok,
    perSecond: ok / elapsed,
    failures,
    latency: latency.summary(),
    cpu: figures,
    sent,
    unanswered: Math.max(0, sent - answered - socketErrors),
    perSecondSamples: { min: result.requests.min, mean: result.requests.mean, max: result.requests.max },
    errorSamples,
  };
}

async function floorPhase(
  pool: Pool,
  connections: number,
  seconds: number,
  tag: string,
  body: (tag: string, n: number) => string,
  cpu: ReturnType<typeof meters>,
  onItem: () => void = () => undefined,
): Promise<FloorPhase> {
  const latency = new LatencyRecorder();
  const failures: Record<string, number> = {};
  let n = 0;
  let ok = 0;
  let committed = 0;
  cpu.start();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const payload = body(tag, n++);
      const t0 = performance.now();
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query<{ id: number }>(
          'INSERT INTO bench_floor (payload) VALUES ($1) RETURNING id',
          [payload],
        );
        await client.query('INSERT INTO bench_floor_job (data) VALUES ($1)', [
          JSON.stringify({ alert_id: rows[0]?.id, reason: 'ingest' }),
        ]);
        await client.query('COMMIT');
        client.release();
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        client.release(error instanceof Error ? error : true);
        const code = (error as { code?: string }).code ?? 'error';
        failures[code] = (failures[code] ?? 0) + 1;
        continue;
      }
      const t1 = performance.now();
      committed++;
      onItem();
      if (t1 <= deadline) {
        ok++;
        latency.record(t1 - t0);
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, worker));
  const figures = cpu.stop();
  return {
    seconds,
    ok,
    perSecond: ok / seconds,
    failures,
    latency: latency.summary(),
    cpu: figures,
    committed,
  };
}

// ------------------------------------------------------------------------------------- database

async function settleAlerts(pool: Pool): Promise<number> {
  // Requests in flight when the load generator closed its sockets still commit: wait until the count is stable.
  let last = -1;
  for (let i = 0; i < 40; i++) {
    const { n } = await one<{ n: number }>(pool, 'SELECT count(*)::int AS n FROM alerts');
    if (n === last) return n;
    last = n;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}

async function alertsTagged(pool: Pool, tag: string): Promise<{ alerts: number; jobs: number; duplicates: number }> {
  const like = `% #${tag}-%`;
  const a = await one<{ alerts: number; duplicates: number }>(
    pool,
    'SELECT count(*)::int AS alerts, coalesce(sum(duplicate_count), 0)::int AS duplicates FROM alerts WHERE title LIKE $1',
    [like],
  );
  const j = await one<{ jobs: number }>(
    pool,
    `SELECT count(*)::int AS jobs FROM pgboss.job j JOIN alerts a ON a.id = (j.data->>'alert_id')::bigint
      WHERE j.name = 'enrich-alert' AND a.title LIKE $1`,
    [like],
  );
  return { ...a, jobs: j.jobs };
}

// ------------------------------------------------------------------------------------- main

export function run(args: string[]): Promise<number> {
  return runMeasured(args, parseOptions, HELP, 'the API and Postgres', measure);
}

async function measure(options: Options, cleanup: Cleanup): Promise<number> {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const startedAt = new Date();
  const payload = payloadFactory();
  const autocannonVersion = (createRequire(import.meta.url)('autocannon/package.json') as { version: string }).version;
  const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';
  const cores = os.cpus().length;

  fs.mkdirSync(options.tmp, { recursive: true });
  const tmpDir = fs.mkdtempSync(path.join(options.tmp, 'calseta-bench-'));
  cleanup.tmpDir = tmpDir;
  const fsType = filesystemOf(tmpDir);

  out(`Calseta ingest benchmark — ${startedAt.toISOString()}`);
  out(`  machine   ${cores} cores (${cpuModel}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
  out(`            load generator, API and Postgres all share these ${cores} cores`);
  const busyBefore = await machineBusy(2_000);
  out(
    `            busy before start (2 s sample): ${busyBefore === null ? 'n/a' : `${fmt(busyBefore, 0)}% of ${cores * 100}%`}`,
  );
  out(`  data dir  ${tmpDir} (${fsType})${fsType === 'tmpfs' ? '  WARNING: tmpfs makes fsync free' : ''}`);

  // Postgres: durable defaults (fsync, synchronous_commit, full_page_writes on).
  const { postgres } = await startPostgresWithStatements(tmpDir, options.pgss);
  cleanup.postgres = postgres;
  const pgPid = postmasterPid(path.join(tmpDir, 'pg'));
  const { db, pool: admin } = createDb({ url: postgres.url, max: 4, applicationName: 'calseta-bench' });
  cleanup.destroyers.push(() => db.destroy());
  const pgStats = await PgStats.open(postgres.adminUrl, 'calseta', options.pgss);
  cleanup.destroyers.push(pgStats.close);
  const settings = await one<Record<string, string>>(
    admin,
    `SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync,
            current_setting('synchronous_commit') AS synchronous_commit,
            current_setting('full_page_writes') AS full_page_writes,
            current_setting('wal_sync_method') AS wal_sync_method,
            current_setting('shared_buffers') AS shared_buffers, current_setting('max_wal_size') AS max_wal_size`,
  );
  out(
    `  postgres  ${settings.version}: fsync=${settings.fsync} synchronous_commit=${settings.synchronous_commit} ` +
      `full_page_writes=${settings.full_page_writes} wal_sync_method=${settings.wal_sync_method} ` +
      `shared_buffers=${settings.shared_buffers} max_wal_size=${settings.max_wal_size}`,
  );
  out(
    `            ${pgStats.stats.statements ? 'pg_stat_statements loaded (--pgss: adds Postgres CPU)' : 'pg_stat_statements off (--pgss for statements per item)'}`,
  );

  // Schema, pg-boss queues, an admin key: what `calseta start` does on first run.
  await migrateToLatest(db);
  const key = await firstRun(postgres.url, 'bench');
  await admin.query(`
    CREATE TABLE bench_floor (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE bench_floor_job (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, data jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now());`);

  // The API, as production runs it, in its own process.
  let api: ApiProcess;
  let apiNote = '';
  if (options.apiEntry !== undefined) {
    api = await startBenchApi({ entry: options.apiEntry }, postgres.url, cleanup);
  } else {
    const started = await startWithFallback('api', options.api, (kind) => startBenchApi(kind, postgres.url, cleanup));
    api = started.started;
    apiNote = started.note;
  }
  const apiPid = api.child.pid ?? null;
  out(
    `  API       ${api.command} (pid ${apiPid}), other settings at their defaults (DB_POOL_SIZE 20), LOG_LEVEL=warn, LOG_REQUESTS=false`,
  );
  if (apiNote) out(`            fell back to tsx — ${apiNote}`);
  out(
    `  load      POST /v1/ingest/elastic, ${payload.bytes}-byte fixture body with a unique title per request, ` +
      `${options.connections} connections`,
  );
  out(
    `            autocannon ${autocannonVersion} in the bench process; ${options.warmup} s warm-up + ${options.duration} s per phase`,
  );
  out(
    `  floor     pg pool of ${options.connections}, ${options.connections} concurrent ` +
      'BEGIN; INSERT bench_floor … RETURNING id; INSERT bench_floor_job; COMMIT',
  );
  out(
    `  order     ${options.order === 'ingest-first' ? 'ingest, then floor' : 'floor, then ingest'} (the database grows)`,
  );
  out();

  const url = `http://127.0.0.1:${api.port}/v1/ingest/elastic`;
  const cpu = meters(apiPid, pgPid);
  const floorPool = createDb({
    url: postgres.url,
    max: options.connections,
    applicationName: 'calseta-bench-floor',
  }).pool;
  cleanup.pools.push(floorPool);
  const dbSize = async () =>
    (await one<{ mb: number }>(admin, 'SELECT pg_database_size(current_database())::float8 / 1048576 AS mb')).mb;

  let ingest: { warmup: HttpPhase; run: HttpPhase; dbSizeBeforeMiB: number } | undefined;
  let floor: { warmup: FloorPhase; run: FloorPhase; dbSizeBeforeMiB: number } | undefined;
  const phases = options.order === 'ingest-first' ? (['ingest', 'floor'] as const) : (['floor', 'ingest'] as const);
  for (const [i, phase] of phases.entries()) {
    const label = `[${i + 1}/2] ${phase}`;
    if (options.waitIdle > 0) {
      const waited = await waitForIdle(options.waitIdle, IDLE_BUSY);
      out(
        `${label}: ${waited.quiet ? 'machine quiet' : 'machine still busy'} after ${fmt(waited.seconds, 0)} s ` +
          `(${fmt(waited.busy, 0)}% busy)`,
      );
    }
    const dbSizeBeforeMiB = await dbSize();
    if (phase === 'ingest') {
      process.stdout.write(`${label}: warm-up ${options.warmup} s… `);
      const warmup = await httpPhase(url, key, options.connections, options.warmup, 'warmup', payload.body, cpu);
      process.stdout.write(`${warmup.ok} accepted; measuring ${options.duration} s… `);
      const sampler = activitySampler(admin, 'calseta-api');
      const pgWindow = pgWindowDuring(pgStats.stats, options.duration);
      const measured = await httpPhase(
        url,
        key,
        options.connections,
        options.duration,
        'run',
        payload.body,
        cpu,
        pgWindow.item,
      );
      measured.pg = await pgWindow.result;
      measured.activity = sampler.stop();
      out(`${measured.ok} accepted (database was ${fmt(dbSizeBeforeMiB, 0)} MiB)`);
      ingest = { warmup, run: measured, dbSizeBeforeMiB };
    } else {
      process.stdout.write(`${label}: warm-up ${options.warmup} s… `);
      const warmup = await floorPhase(
        floorPool,
        options.connections,
        options.warmup,
        'floor-warmup',
        payload.body,
        cpu,
      );
      process.stdout.write(`${warmup.ok} commits; measuring ${options.duration} s… `);
      const sampler = activitySampler(admin, 'calseta-bench-floor');
      const pgWindow = pgWindowDuring(pgStats.stats, options.duration);
      const measured = await floorPhase(
        floorPool,
        options.connections,
        options.duration,
        'floor-run',
        payload.body,
        cpu,
        pgWindow.item,
      );
      measured.pg = await pgWindow.result;
      measured.activity = sampler.stop();
      out(`${measured.ok} commits (database was ${fmt(dbSizeBeforeMiB, 0)} MiB)`);
      floor = { warmup, run: measured, dbSizeBeforeMiB };
    }
  }
  if (!ingest || !floor) throw new Error('a phase did not run');
  const apiMemory = apiPid === null ? null : processMemoryMiB(apiPid);

  // Correctness: every 202 is a committed alert and a committed enrich-alert job.
  const totalAlerts = await settleAlerts(admin);
  const runRows = await alertsTagged(admin, 'run');
  const warmupRows = await alertsTagged(admin, 'warmup');
  const totalJobs = (
    await one<{ n: number }>(admin, "SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'enrich-alert'")
  ).n;
  const floorRows = await one<{ payloads: number; jobs: number }>(
    admin,
    'SELECT (SELECT count(*)::int FROM bench_floor) AS payloads, (SELECT count(*)::int FROM bench_floor_job) AS jobs',
  );
  const dbSizeEndMiB = await dbSize();
  const apiLog = api.lines;

  // ---------------------------------------------------------------------------------- report
  const ratio = ingest.run.perSecond / floor.run.perSecond;
  const ratioPass = ratio >= TARGET_RATIO;
  const p99Pass = ingest.run.latency.p99 <= TARGET_P99_MS;
  const failuresText = (f: Record<string, number>) =>
    Object.keys(f).length === 0
      ? '0'
      : Object.entries(f)
          .map(([k, v]) => `${v}×${k}`)
          .join(' ');
  // CPU-ms per completed item: unlike throughput, hardly affected by other load on the machine.
  const perItem = (phase: PhaseResult, who: 'api' | 'postgres' | 'client') => fmt(cpuMsPerItem(phase, who), 2);
  const pct = (v: number | null) => (v === null ? 'n/a' : `${fmt(v, 0)}%`);
  const ms = (v: number) => fmt(v, 1);

  out();
  out(
    `Results (measured ${options.duration} s each, ${options.connections} concurrent; CPU as % of one core, ${cores} cores = ${cores * 100}%)`,
  );
  out(
    table([
      ['', 'ingest (HTTP 202)', 'floor (raw SQL tx)'],
      ['throughput /s', fmt(ingest.run.perSecond, 0), fmt(floor.run.perSecond, 0)],
      ['completed', String(ingest.run.ok), String(floor.run.ok)],
      ['failed', failuresText(ingest.run.failures), failuresText(floor.run.failures)],
      ['latency p50 ms', ms(ingest.run.latency.p50), ms(floor.run.latency.p50)],
      ['latency p90 ms', ms(ingest.run.latency.p90), ms(floor.run.latency.p90)],
      ['latency p99 ms', ms(ingest.run.latency.p99), ms(floor.run.latency.p99)],
      ['latency max ms', ms(ingest.run.latency.max), ms(floor.run.latency.max)],
      ['CPU API process', pct(ingest.run.cpu.api), pct(floor.run.cpu.api)],
      ['CPU Postgres (all processes)', pct(ingest.run.cpu.postgres), pct(floor.run.cpu.postgres)],
      ['CPU client (autocannon | pg)', pct(ingest.run.cpu.client), pct(floor.run.cpu.client)],
      ['CPU other processes', pct(ingest.run.cpu.other), pct(floor.run.cpu.other)],
      ['CPU whole machine', pct(ingest.run.cpu.machine), pct(floor.run.cpu.machine)],
      ['API CPU ms per item', perItem(ingest.run, 'api'), '-'],
      ['Postgres CPU ms per item', perItem(ingest.run, 'postgres'), perItem(floor.run, 'postgres')],
      ['client CPU ms per item', perItem(ingest.run, 'client'), perItem(floor.run, 'client')],
      ...pgRows(ingest.run, floor.run),
      ['database size before, MiB', fmt(ingest.dbSizeBeforeMiB, 0), fmt(floor.dbSizeBeforeMiB, 0)],
    ]),
  );
  out(
    `  ingest per-second samples (all statuses): min ${ingest.run.perSecondSamples.min}, ` +
      `mean ${fmt(ingest.run.perSecondSamples.mean, 0)}, max ${ingest.run.perSecondSamples.max}`,
  );
  out(`  Postgres connections, average by state (pg_stat_activity every 100 ms; "idle in transaction" = waiting`);
  out('  for the client mid-transaction, ClientRead = waiting for the next statement):');
  out(`    ingest (API pool): ${ingest.run.activity ? describeActivity(ingest.run.activity) : 'n/a'}`);
  out(`    floor (bench pool): ${floor.run.activity ? describeActivity(floor.run.activity) : 'n/a'}`);
  out(
    `  API memory at end: RSS ${fmt(apiMemory?.rss ?? null, 0)} MiB (peak ${fmt(apiMemory?.peak ?? null, 0)} MiB); ` +
      `database ${fmt(dbSizeEndMiB, 0)} MiB at end`,
  );
  for (const sample of ingest.run.errorSamples) out(`  sample failure: ${sample}`);
  for (const [name, phase] of [
    ['ingest', ingest.run],
    ['floor', floor.run],
  ] as const) {
    if ((phase.cpu.other ?? 0) > OTHER_CPU_WARN) {
      out(
        `  WARNING: other processes used ${pct(phase.cpu.other)} CPU during the ${name} phase: ` +
          'its figures are distorted; rerun on a quiet machine.',
      );
    }
  }
  out();
  out('Targets (figures, not assertions: the exit code is 0 either way)');
  out(`  ingest/floor throughput ratio  ${fmt(ratio, 2)}   target >= ${TARGET_RATIO}   ${ratioPass ? 'PASS' : 'MISS'}`);
  out(
    `  ingest latency p99             ${ms(ingest.run.latency.p99)} ms   target <= ${TARGET_P99_MS} ms   ${p99Pass ? 'PASS' : 'MISS'}`,
  );

  const check = (phase: HttpPhase, rows: { alerts: number; jobs: number }) => {
    const exact = rows.alerts === phase.ok;
    const within = rows.alerts >= phase.ok && rows.alerts <= phase.ok + phase.unanswered;
    const verdict = exact ? 'OK' : within ? 'OK (the extra rows are requests in flight at stop)' : 'MISMATCH';
    return { exact, within, verdict, jobsMatch: rows.jobs === rows.alerts };
  };
  const runCheck = check(ingest.run, runRows);
  const warmupCheck = check(ingest.warmup, warmupRows);
  const floorOk =
    floorRows.payloads === floor.warmup.committed + floor.run.committed && floorRows.jobs === floorRows.payloads;
  out();
  out('Correctness');
  out(
    `  measured window: ${ingest.run.ok} × 202, ${runRows.alerts} alert rows (${ingest.run.unanswered} requests unanswered ` +
      `when the load stopped) → ${runCheck.verdict}`,
  );
  out(
    `                   ${runRows.jobs} enrich-alert jobs for those alerts → ${runCheck.jobsMatch ? 'OK' : 'MISMATCH'}; ` +
      `duplicates counted: ${runRows.duplicates}`,
  );
  out(
    `  warm-up:         ${ingest.warmup.ok} × 202, ${warmupRows.alerts} alert rows, ${warmupRows.jobs} jobs → ` +
      `${warmupCheck.verdict}${warmupCheck.jobsMatch ? '' : ', jobs MISMATCH'}`,
  );
  out(
    `  all:             ${totalAlerts} alerts, ${totalJobs} enrich-alert jobs → ${totalAlerts === totalJobs ? 'OK' : 'MISMATCH'}`,
  );
  out(
    `  floor:           ${floor.warmup.committed + floor.run.committed} commits, ${floorRows.payloads} + ${floorRows.jobs} rows → ` +
      `${floorOk ? 'OK' : 'MISMATCH'}`,
  );
  out(
    `  API log lines (LOG_LEVEL=warn): ${apiLog.length}${apiLog.length ? ` — first: ${apiLog[0]?.slice(0, 200)}` : ''}`,
  );

  const result = {
    benchmark: 'ingest',
    started_at: startedAt.toISOString(),
    git: gitState(),
    machine: {
      cores,
      cpu: cpuModel,
      memory_gib: round(os.totalmem() / 2 ** 30),
      node: process.version,
      busy_before_start_percent: round(busyBefore),
      note: 'load generator, API and Postgres share the cores',
    },
    postgres: { ...settings, data_dir_filesystem: fsType },
    api: { command: api.command, fallback_note: apiNote || null, db_pool_size: 20, log_lines: apiLog.slice(0, 50) },
    load: {
      generator: `autocannon ${autocannonVersion} (in the bench process)`,
      endpoint: 'POST /v1/ingest/elastic',
      body_bytes: payload.bytes,
      connections: options.connections,
      warmup_s: options.warmup,
      duration_s: options.duration,
      order: options.order,
      wait_idle_s: options.waitIdle,
    },
    ingest: {
      ...roundPhase(ingest.run),
      warmup_accepted: ingest.warmup.ok,
      db_size_before_mib: round(ingest.dbSizeBeforeMiB),
    },
    floor: {
      ...roundPhase(floor.run),
      warmup_commits: floor.warmup.ok,
      db_size_before_mib: round(floor.dbSizeBeforeMiB),
    },
    ratio: round(ratio, 3),
    targets: {
      ratio: { target: `>= ${TARGET_RATIO}`, value: round(ratio, 3), pass: ratioPass },
      ingest_p99_ms: { target: `<= ${TARGET_P99_MS}`, value: round(ingest.run.latency.p99, 2), pass: p99Pass },
    },
    api_memory_mib: apiMemory && { rss: round(apiMemory.rss), peak: round(apiMemory.peak) },
    db_size_end_mib: round(dbSizeEndMiB),
    correctness: {
      measured: {
        accepted: ingest.run.ok,
        unanswered_at_stop: ingest.run.unanswered,
        ...runRows,
        verdict: runCheck.verdict,
        jobs_match: runCheck.jobsMatch,
      },
      warmup: {
        accepted: ingest.warmup.ok,
        unanswered_at_stop: ingest.warmup.unanswered,
        ...warmupRows,
        verdict: warmupCheck.verdict,
        jobs_match: warmupCheck.jobsMatch,
      },
      all: { alerts: totalAlerts, enrich_alert_jobs: totalJobs, match: totalAlerts === totalJobs },
      floor: { commits: floor.warmup.committed + floor.run.committed, ...floorRows, match: floorOk },
    },
  };
  const file = writeResult('ingest', startedAt, result);
  out();
  out(`Result written to ${file}`);
  return 0;
}

/**
 * Postgres's counters over the middle of a phase of `seconds`: the window opens 1 s in and closes 1 s
 * before the end, while the load runs. Backends flush their statistics at most once a second (and
 * only 10 s after going idle), so both ends lag alike only while the load runs. `item()` counts the
 * items (202s, commits) completed while it is open.
 */
function pgWindowDuring(stats: PgStats, seconds: number) {
  const margin = Math.min(1, seconds / 5) * 1000;
  let open = false;
  let items = 0;
  const result = (async () => {
    await new Promise((r) => setTimeout(r, margin));
    const window = await stats.window();
    open = true;
    await new Promise((r) => setTimeout(r, seconds * 1000 - 2 * margin));
    open = false;
    return { work: (await window.stop()).work, items };
  })();
  return {
    item: () => {
      if (open) items++;
    },
    result,
  };
}

function pgPerItem(phase: PhaseResult) {
  return phase.pg ? pgItem(phase.pg.work, phase.pg.items) : null;
}

/** Rows of the results table: what Postgres did per item, ingest and floor side by side. */
function pgRows(ingest: PhaseResult, floor: PhaseResult): string[][] {
  const a = pgPerItem(ingest);
  const b = pgPerItem(floor);
  const row = (name: string, pick: (w: NonNullable<typeof a>) => number | null, digits: number, scale = 1) => {
    const cell = (w: typeof a) => {
      const v = w ? pick(w) : null;
      return fmt(v === null ? null : v / scale, digits);
    };
    return [name, cell(a), cell(b)];
  };
  return [
    ...(a?.statements === null ? [] : [row('statements per item', (w) => w.statements, 2)]),
    // Commits come from per-backend statistics flushed once a second (±5% over a short window);
    // transaction ids are exact: every ingest or floor transaction writes.
    row('commits per item', (w) => w.commits, 3),
    row('transactions with an xid per item', (w) => w.writeTransactions, 3),
    row('WAL KiB per item (LSN delta)', (w) => w.walBytes, 2, 1024),
    row('WAL KiB written per item', (w) => w.walWrittenBytes, 2, 1024),
    row('WAL fsyncs + data fsyncs per item', (w) => w.fsyncs, 3),
  ];
}

function cpuMsPerItem(phase: PhaseResult, who: 'api' | 'postgres' | 'client'): number | null {
  const percent = phase.cpu[who];
  return percent === null || phase.perSecond === 0 ? null : (percent * 10) / phase.perSecond;
}

function roundPhase(phase: PhaseResult & Partial<HttpPhase>) {
  return {
    seconds: round(phase.seconds, 2),
    completed: phase.ok,
    per_second: round(phase.perSecond),
    failures: phase.failures,
    latency_ms: {
      p50: round(phase.latency.p50, 2),
      p90: round(phase.latency.p90, 2),
      p99: round(phase.latency.p99, 2),
      max: round(phase.latency.max, 2),
      mean: round(phase.latency.mean, 2),
    },
    cpu_percent_of_one_core: {
      api: round(phase.cpu.api),
      postgres: round(phase.cpu.postgres),
      client: round(phase.cpu.client),
      other: round(phase.cpu.other),
      machine: round(phase.cpu.machine),
    },
    cpu_ms_per_item: {
      api: round(cpuMsPerItem(phase, 'api'), 3),
      postgres: round(cpuMsPerItem(phase, 'postgres'), 3),
      client: round(cpuMsPerItem(phase, 'client'), 3),
    },
    ...(phase.pg && {
      pg_per_item: Object.fromEntries(Object.entries(pgPerItem(phase) ?? {}).map(([k, v]) => [k, round(v, 4)])),
    }),
    ...(phase.sent !== undefined && { sent: phase.sent, unanswered_at_stop: phase.unanswered }),
    ...(phase.perSecondSamples && { per_second_samples: phase.perSecondSamples }),
    ...(phase.activity && {
      pg_connections_by_state: Object.fromEntries(
        Object.entries(phase.activity.connections).map(([what, n]) => [what, round(n, 2)]),
      ),
      pg_activity_samples: phase.activity.samples,
    }),
    ...(phase.errorSamples && phase.errorSamples.length > 0 && { failure_samples: phase.errorSamples }),
  };
}
