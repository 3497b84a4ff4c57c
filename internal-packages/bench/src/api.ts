/**
 * `pnpm bench api`: read latency of the real API process — `GET /v1/alerts` (filtered, sorted,
 * paginated) and `GET /v1/alerts/{uuid}` — at growing table sizes (10k, 100k, 1M alerts by
 * default), seeded incrementally into one durable embedded Postgres by bulk inserts
 * (internal-packages/bench/src/lib/seed-alerts.ts). Target: p99 <= 20 ms at every size. See internal-packages/bench/README.md.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createDb, migrateToLatest, startEmbeddedPostgres } from '@calseta/db';
import autocannon from 'autocannon';
import { CpuMeter, machineCpuSeconds, postmasterPid, processCpuSeconds, processTreeCpuSeconds } from './lib/proc.js';
import { alertCount, ENV_TAGS, SOURCES, seedAlerts, TECHNIQUE_TAGS, THEME_TAGS } from './lib/seed-alerts.js';
import {
  type AppMode,
  type Cleanup,
  filesystemOf,
  firstRun,
  gitState,
  machineBusy,
  one,
  type Pool,
  runMeasured,
  startBenchApi,
  startWithFallback,
  writeResult,
} from './lib/stack.js';
import { fmt, LatencyRecorder, type LatencySummary, round, table } from './lib/stats.js';

export const description = 'GET /v1/alerts (filters, sorts, pages) and GET /v1/alerts/{uuid} at 10k/100k/1M alerts';

const TARGET_P99_MS = 20;
const DEFAULT_SIZES = [10_000, 100_000, 1_000_000];

interface Options {
  sizes: number[];
  duration: number;
  warmup: number;
  connections: number;
  api: AppMode;
  /** Keep the cluster here (created if missing, reused and topped up if it exists); not removed. */
  dataDir: string | undefined;
  explain: boolean;
  tmp: string;
}

const HELP = `Usage: pnpm bench api [--sizes 10000,100000,1000000] [--duration 10] [--warmup 2] [--connections 4]
                       [--api auto|dist|tsx] [--data-dir <dir>] [--no-explain] [--tmp <dir>]

  --sizes        table sizes to measure, ascending; the database is topped up to each in turn
  --duration     measured seconds per query and size (default 10)
  --warmup       unmeasured seconds before each query (default 2)
  --connections  concurrent HTTP connections (default 4): latency includes queueing behind them
  --api          dist: build and run apps/api/dist/main.js; tsx: run the sources; auto (default): dist,
                 else tsx
  --data-dir     keep the Postgres cluster in <dir> and reuse it next time (seeding only tops up; sizes
                 below what it already holds are skipped). Default: a throwaway dir, removed at the end
  --no-explain   skip EXPLAIN (ANALYZE) of the list statements at each size
  --tmp          parent of the throwaway data dir (default: the OS temp dir)`;

function parseOptions(args: string[]): Options | 'help' {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      sizes: { type: 'string', default: DEFAULT_SIZES.join(',') },
      duration: { type: 'string', default: '10' },
      warmup: { type: 'string', default: '2' },
      connections: { type: 'string', default: '4' },
      api: { type: 'string', default: 'auto' },
      'data-dir': { type: 'string' },
      'no-explain': { type: 'boolean', default: false },
      tmp: { type: 'string', default: os.tmpdir() },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const positive = (name: string, raw: string, { integer = false, zero = false } = {}) => {
    const n = Number(raw.replace(/_/g, ''));
    if (!Number.isFinite(n) || n < 0 || (n === 0 && !zero) || (integer && !Number.isInteger(n))) {
      throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got "${raw}"`);
    }
    return n;
  };
  const sizes = values.sizes.split(',').map((s) => positive('sizes', s.trim(), { integer: true }));
  if (sizes.some((s, i) => i > 0 && s <= (sizes[i - 1] ?? 0))) throw new Error('--sizes must be ascending');
  if (values.api !== 'auto' && values.api !== 'dist' && values.api !== 'tsx') {
    throw new Error(`--api must be auto, dist or tsx, got "${values.api}"`);
  }
  return {
    sizes,
    duration: positive('duration', values.duration),
    warmup: positive('warmup', values.warmup, { zero: true }),
    connections: positive('connections', values.connections, { integer: true }),
    api: values.api,
    dataDir: values['data-dir'] === undefined ? undefined : path.resolve(values['data-dir']),
    explain: !values['no-explain'],
    tmp: values.tmp,
  };
}

// ------------------------------------------------------------------------------------- queries

interface QueryCase {
  name: string;
  /** Request paths, rotated round-robin across requests. */
  paths: string[];
  /** The list query the API runs (for EXPLAIN); undefined for the detail endpoint. */
  list?: Record<string, string | string[] | number>;
}

/** The request mixes. Time windows and uuids come from the data, so every mix returns rows. */
function queryCases(uuids: string[], newest: Date): QueryCase[] {
  const day = 86_400_000;
  const windows = [3, 30, 90, 150].map((daysAgo) => ({
    from: new Date(newest.getTime() - daysAgo * day).toISOString(),
    to: new Date(newest.getTime() - (daysAgo - 1) * day).toISOString(),
  }));
  const qs = (q: Record<string, string | string[] | number>) => {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(q))
      for (const item of Array.isArray(v) ? v : [v]) params.append(k, String(item));
    return `/v1/alerts?${params}`;
  };
  const list = (name: string, variants: Record<string, string | string[] | number>[]): QueryCase => ({
    name,
    paths: variants.map(qs),
    list: variants[0],
  });
  return [
    list('list: first page', [{ page: 1, page_size: 50 }]),
    list('list: status+severity', [
      { status: 'Open,Triaging', severity: 'High,Critical' },
      { status: 'Escalated', severity: 'Critical' },
    ]),
    list(
      'list: source_name',
      SOURCES.map((s) => ({ source_name: s })),
    ),
    list('list: tags', [
      { tags: THEME_TAGS[0] },
      { tags: [TECHNIQUE_TAGS[0], ENV_TAGS[0]] },
      { tags: THEME_TAGS[2] },
      { tags: TECHNIQUE_TAGS[4] },
    ]),
    list(
      'list: 1-day window',
      windows.map((w) => ({ from_time: w.from, to_time: w.to })),
    ),
    list('list: page 50', [{ page: 50, page_size: 50 }]),
    list('list: sort severity', [
      { sort_by: 'severity', sort_order: 'desc' },
      { sort_by: 'severity', sort_order: 'asc' },
    ]),
    { name: 'detail: /v1/alerts/{uuid}', paths: uuids.map((u) => `/v1/alerts/${u}`) },
  ];
}

// ------------------------------------------------------------------------------------- measuring

interface Measured {
  seconds: number;
  ok: number;
  perSecond: number;
  failures: Record<string, number>;
  latency: LatencySummary;
  errorSamples: string[];
  /** `meta` of the first 200 response (lists: total, total_is_estimate, …). */
  sampleMeta: Record<string, unknown> | null;
}

async function measure(
  base: string,
  key: string,
  paths: string[],
  connections: number,
  seconds: number,
): Promise<Measured> {
  let n = 0;
  const statuses = new Map<number, number>();
  const latency = new LatencyRecorder();
  const errorSamples: string[] = [];
  let sampleMeta: Record<string, unknown> | null = null;
  let socketErrors = 0;
  const started = performance.now();
  const instance = autocannon({
    url: base,
    method: 'GET',
    connections,
    duration: seconds,
    headers: { authorization: `Bearer ${key}` },
    requests: [
      {
        setupRequest: (request) => ({ ...request, path: paths[n++ % paths.length] }),
        onResponse: (status, body) => {
          if (status !== 200 && errorSamples.length < 3) errorSamples.push(`${status} ${body.slice(0, 300)}`);
          if (status === 200 && sampleMeta === null) {
            const meta = (JSON.parse(body) as { meta?: Record<string, unknown> }).meta ?? null;
            sampleMeta = meta && 'total' in meta ? meta : { indicator_count: meta?.indicator_count };
          }
        },
      },
    ],
  });
  instance.on('response', (_client: unknown, status: number, _bytes: number, ms: number) => {
    statuses.set(status, (statuses.get(status) ?? 0) + 1);
    if (status === 200) latency.record(ms);
  });
  instance.on('reqError', (error: Error) => {
    socketErrors++;
    if (errorSamples.length < 3) errorSamples.push(`socket: ${error.message}`);
  });
  const result = await instance;
  const elapsed = (performance.now() - started) / 1000;
  const ok = statuses.get(200) ?? 0;
  const failures: Record<string, number> = {};
  for (const [status, count] of statuses) if (status !== 200) failures[String(status)] = count;
  if (socketErrors > 0) failures.socket_error = socketErrors;
  if (result.timeouts > 0) failures.timeout = result.timeouts;
  return {
    seconds: elapsed,
    ok,
    perSecond: ok / elapsed,
    failures,
    latency: latency.summary(),
    errorSamples,
    sampleMeta,
  };
}

// ------------------------------------------------------------------------------------- main

export function run(args: string[]): Promise<number> {
  return runMeasured(args, parseOptions, HELP, 'the API and Postgres', bench);
}

interface SizeResult {
  size: number;
  seed_seconds: number;
  vacuum_seconds: number;
  db_size_mib: number;
  alerts_heap_mib: number;
  queries: {
    name: string;
    requests: number;
    per_second: number | null;
    /** (API + Postgres CPU) / requests: the cost of one request, barely affected by queueing. */
    cpu_ms_per_request: number | null;
    latency_ms: { p50: number | null; p90: number | null; p99: number | null; max: number | null };
    failures: Record<string, number>;
    sample_meta: Record<string, unknown> | null;
    pass: boolean;
    cpu_percent_of_one_core: { api: number | null; postgres: number | null; other: number | null };
    plan?: string[];
  }[];
}

async function bench(options: Options, cleanup: Cleanup): Promise<number> {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const startedAt = new Date();
  const autocannonVersion = (createRequire(import.meta.url)('autocannon/package.json') as { version: string }).version;
  const cores = os.cpus().length;
  let dataDir = options.dataDir;
  if (dataDir === undefined) {
    fs.mkdirSync(options.tmp, { recursive: true });
    dataDir = fs.mkdtempSync(path.join(options.tmp, 'calseta-bench-api-'));
    cleanup.tmpDir = dataDir;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const fsType = filesystemOf(dataDir);
  out(`Calseta API read benchmark — ${startedAt.toISOString()}`);
  out(
    `  machine   ${cores} cores (${os.cpus()[0]?.model ?? '?'}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`,
  );
  const busyBefore = await machineBusy(2_000);
  out(
    `            load generator, API and Postgres share the cores; busy before start: ${fmt(busyBefore, 0)}% of ${cores * 100}%`,
  );
  out(`  data dir  ${dataDir} (${fsType})${options.dataDir ? ', kept' : ', throwaway'}`);

  const postgres = await startEmbeddedPostgres({ dataDir });
  cleanup.postgres = postgres;
  const pgPid = postmasterPid(path.join(dataDir, 'pg'));
  const { db, pool: admin } = createDb({ url: postgres.url, max: 2, applicationName: 'calseta-bench' });
  cleanup.destroyers.push(() => db.destroy());
  await migrateToLatest(db);
  const settings = await one<Record<string, string>>(
    admin,
    `SELECT current_setting('server_version') AS version, current_setting('shared_buffers') AS shared_buffers,
            current_setting('work_mem') AS work_mem, current_setting('random_page_cost') AS random_page_cost`,
  );
  out(
    `  postgres  ${settings.version}, durable defaults; shared_buffers=${settings.shared_buffers} ` +
      `work_mem=${settings.work_mem} random_page_cost=${settings.random_page_cost}`,
  );
  // The pg-boss queues, the system rows and an admin key, as `calseta start` does on first run.
  const key = await firstRun(postgres.url, 'bench-api');

  const started = await startWithFallback('api', options.api, (kind) => startBenchApi(kind, postgres.url, cleanup));
  const api = started.started;
  const apiPid = api.child.pid ?? null;
  out(`  API       ${api.command} (pid ${apiPid}), DB_POOL_SIZE 20, LOG_LEVEL=warn, rate limits off`);
  if (started.note) out(`            fell back to tsx — ${started.note}`);
  out(
    `  load      autocannon ${autocannonVersion}, ${options.connections} connections, ${options.warmup} s warm-up + ` +
      `${options.duration} s per query and size`,
  );
  out();

  const seedPool = createDb({ url: postgres.url, max: 1, applicationName: 'calseta-bench-seed' });
  cleanup.destroyers.push(() => seedPool.db.destroy());
  await seedPool.pool.query('SET synchronous_commit = off');
  const base = `http://127.0.0.1:${api.port}`;
  const results: SizeResult[] = [];
  const apiCpu = apiPid === null ? null : new CpuMeter(() => processCpuSeconds(apiPid));
  const pgCpu = pgPid === null ? null : new CpuMeter(() => processTreeCpuSeconds(pgPid));

  for (const size of options.sizes) {
    const have = await alertCount(admin);
    if (have > size) {
      out(`${fmt(size, 0)} alerts: skipped (the database already holds ${fmt(have, 0)})`);
      continue;
    }
    process.stdout.write(`${fmt(size, 0)} alerts: seeding ${fmt(size - have, 0)}… `);
    const seeded = await seedAlerts(seedPool.pool, size);
    const vacuumStart = performance.now();
    await admin.query('VACUUM ANALYZE alerts, alert_indicators, indicators, activity_events, alert_fingerprints');
    const vacuumSeconds = (performance.now() - vacuumStart) / 1000;
    const sizes = await one<{ db: number; heap: number }>(
      admin,
      `SELECT pg_database_size(current_database())::float8 / 1048576 AS db,
              pg_relation_size('alerts')::float8 / 1048576 AS heap`,
    );
    out(
      `${fmt(seeded.seconds, 1)} s, VACUUM ANALYZE ${fmt(vacuumSeconds, 1)} s ` +
        `(database ${fmt(sizes.db, 0)} MiB, alerts heap ${fmt(sizes.heap, 0)} MiB)`,
    );
    const uuids = (
      await admin.query<{ uuid: string }>(
        'SELECT uuid FROM alerts TABLESAMPLE BERNOULLI (least(100, 200000.0 / greatest(1, (SELECT reltuples FROM pg_class WHERE oid = $1::regclass)))) LIMIT 1000',
        ['alerts'],
      )
    ).rows.map((r) => r.uuid);
    const newest = (await one<{ t: Date }>(admin, 'SELECT max(occurred_at) AS t FROM alerts')).t;
    const sizeResult: SizeResult = {
      size,
      seed_seconds: round(seeded.seconds) ?? 0,
      vacuum_seconds: round(vacuumSeconds) ?? 0,
      db_size_mib: round(sizes.db) ?? 0,
      alerts_heap_mib: round(sizes.heap) ?? 0,
      queries: [],
    };
    for (const query of queryCases(uuids, newest)) {
      process.stdout.write(`  ${query.name.padEnd(28)} `);
      if (options.warmup > 0) await measure(base, key, query.paths, options.connections, options.warmup);
      const machineStart = machineCpuSeconds();
      apiCpu?.start();
      pgCpu?.start();
      const m = await measure(base, key, query.paths, options.connections, options.duration);
      const api = apiCpu?.stop() ?? null;
      const pgPercent = pgCpu?.stop() ?? null;
      const machineEnd = machineCpuSeconds();
      const machine =
        machineStart && machineEnd && machineEnd.total > machineStart.total
          ? ((machineEnd.busy - machineStart.busy) / (machineEnd.total - machineStart.total)) * cores * 100
          : null;
      const other =
        machine === null || api === null || pgPercent === null ? null : Math.max(0, machine - api - pgPercent);
      const plan = options.explain && query.list ? await explainList(db, admin, query.list) : undefined;
      const pass = m.ok > 0 && Object.keys(m.failures).length === 0 && m.latency.p99 <= TARGET_P99_MS;
      out(
        `p50 ${fmt(m.latency.p50, 1).padStart(6)} ms  p99 ${fmt(m.latency.p99, 1).padStart(6)} ms  ` +
          `${fmt(m.perSecond, 0).padStart(5)} req/s${Object.keys(m.failures).length ? `  FAILED ${JSON.stringify(m.failures)}` : ''}` +
          `${m.sampleMeta && 'total' in m.sampleMeta ? `  total ${m.sampleMeta.total}${m.sampleMeta.total_is_estimate ? ' (estimate)' : ''}` : ''}`,
      );
      for (const sample of m.errorSamples) out(`      sample failure: ${sample}`);
      sizeResult.queries.push({
        name: query.name,
        requests: m.ok,
        per_second: round(m.perSecond),
        cpu_ms_per_request: round(cpuMsPerRequest(api, pgPercent, m.perSecond), 2),
        latency_ms: {
          p50: round(m.latency.p50, 2),
          p90: round(m.latency.p90, 2),
          p99: round(m.latency.p99, 2),
          max: round(m.latency.max, 2),
        },
        failures: m.failures,
        sample_meta: m.sampleMeta,
        pass,
        cpu_percent_of_one_core: { api: round(api), postgres: round(pgPercent), other: round(other) },
        ...(plan && { plan }),
      });
    }
    results.push(sizeResult);
  }

  // ---------------------------------------------------------------------------------- report
  out();
  out(
    `Results: latency per request in ms (autocannon, ${options.connections} connections, ${options.duration} s), req/s`,
  );
  const names = results[0]?.queries.map((q) => q.name) ?? [];
  const header = ['query', ...results.flatMap((r) => [`${short(r.size)} p50`, 'p99', 'req/s', 'CPU ms'])];
  const rows = names.map((name) => [
    name,
    ...results.flatMap((r) => {
      const q = r.queries.find((x) => x.name === name);
      return [
        fmt(q?.latency_ms.p50, 1),
        `${fmt(q?.latency_ms.p99, 1)}${q?.pass ? '' : '*'}`,
        fmt(q?.per_second, 0),
        fmt(q?.cpu_ms_per_request, 2),
      ];
    }),
  ]);
  out(table([header, ...rows]));
  out(`  * misses the target p99 <= ${TARGET_P99_MS} ms (or had failures)`);
  out('  CPU ms: API + Postgres CPU per request (queueing and other processes excluded)');
  const worstOther = Math.max(0, ...results.flatMap((r) => r.queries.map((q) => q.cpu_percent_of_one_core.other ?? 0)));
  if (worstOther > 20) {
    out(
      `  WARNING: other processes used up to ${fmt(worstOther, 0)}% of a core during a measurement: figures are noisy.`,
    );
  }
  if (options.explain) {
    out();
    out(`Plans (EXPLAIN ANALYZE of the list statements at ${fmt(results.at(-1)?.size ?? 0, 0)} alerts):`);
    for (const q of results.at(-1)?.queries ?? []) {
      if (!q.plan) continue;
      out(`  ${q.name}`);
      for (const line of q.plan) out(`    ${line}`);
    }
  }
  const allPass = results.every((r) => r.queries.every((q) => q.pass));
  out();
  out(`Target p99 <= ${TARGET_P99_MS} ms for every query at every size: ${allPass ? 'PASS' : 'MISS'}`);

  const file = writeResult('api', startedAt, {
    benchmark: 'api',
    started_at: startedAt.toISOString(),
    git: gitState(),
    machine: {
      cores,
      memory_gib: round(os.totalmem() / 2 ** 30),
      node: process.version,
      busy_before_start_percent: round(busyBefore),
    },
    postgres: { ...settings, data_dir_filesystem: fsType },
    api: { command: api.command, fallback_note: started.note || null },
    load: {
      generator: `autocannon ${autocannonVersion}`,
      connections: options.connections,
      warmup_s: options.warmup,
      duration_s: options.duration,
    },
    target_p99_ms: TARGET_P99_MS,
    pass: allPass,
    sizes: results,
  });
  out(`Result written to ${file}`);
  return 0;
}

function cpuMsPerRequest(api: number | null, postgres: number | null, perSecond: number): number | null {
  return api === null || postgres === null || perSecond === 0 ? null : ((api + postgres) * 10) / perSecond;
}

function short(size: number): string {
  return size >= 1_000_000 ? `${size / 1_000_000}M` : size >= 1000 ? `${size / 1000}k` : String(size);
}

/** EXPLAIN (ANALYZE, BUFFERS) of the statements core runs for a list `query`: the plan's node lines. */
async function explainList(
  db: ReturnType<typeof createDb>['db'],
  pool: Pool,
  query: Record<string, string | string[] | number>,
): Promise<string[]> {
  // Imported here so that `--no-explain` also runs against older core code that lacks it.
  const { alertListStatements } = await import('@calseta/core');
  const statements = alertListStatements(db, {
    ...query,
    page: Number(query.page ?? 1),
    page_size: Number(query.page_size ?? 50),
  } as Parameters<typeof alertListStatements>[1]);
  const lines: string[] = [];
  for (const [label, statement] of Object.entries(statements)) {
    const compiled = statement.compile();
    // The API only plans `matching` (for its row estimate), so it is not run here either.
    const explain = label === 'matching' ? 'EXPLAIN' : 'EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)';
    const { rows } = await pool.query<{ 'QUERY PLAN': string }>(`${explain} ${compiled.sql}`, [...compiled.parameters]);
    lines.push(
      `[${label}]${label === 'count' ? ' (run only when the estimate is <= 1,000 rows and <= 10,000 cost)' : label === 'matching' ? ' (planned, not run: the estimate)' : ''}`,
    );
    for (const { 'QUERY PLAN': text } of rows) {
      if (/Planning:|Buffers:|Worker \d|Heap Blocks|Index Searches|Sort Method/.test(text)) continue;
      lines.push(text);
    }
  }
  return lines;
}
