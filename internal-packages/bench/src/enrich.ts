/**
 * `pnpm bench enrich`: the enrichment pipeline end to end. A burst of alerts that all carry the same
 * indicators goes through the real API and several real worker processes, with three mock providers
 * at a fixed latency: how many outbound provider calls it costs (the Postgres cache and the
 * cross-process coalescer should make that one per indicator and provider), how long from ingest to
 * enriched, and how many alerts per second. Then two paced (unsaturated) phases: warm cache, and cold
 * cache (fresh indicators per alert). See internal-packages/bench/README.md.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { createDb, migrateToLatest, startEmbeddedPostgres } from '@calseta/db';
import {
  KNOWN_BAD,
  type MockProvidersServer,
  type MockStats,
  mockProviderEnv,
  startMockProviders,
} from '@calseta/mock-providers';
import { logProblems } from './lib/log-problems.js';
import { type ActivitySummary, activitySampler, describeActivity } from './lib/pg-activity.js';
import { CpuMeter, machineCpuSeconds, postmasterPid, processCpuSeconds, processTreeCpuSeconds } from './lib/proc.js';
import {
  type AppKind,
  type AppMode,
  type AppProcess,
  appArgs,
  type Cleanup,
  filesystemOf,
  firstRun,
  freePort,
  gitState,
  healthy,
  inheritedEnv,
  machineBusy,
  one,
  type Pool,
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
  'N alerts sharing K indicators through API + worker processes, 3 mock providers: calls, ingest→enriched latency, alerts/s';

const TARGET_P50_MS = 150;
/** The third provider, created at run time as JSON (not a builtin). */
const CUSTOM_PROVIDER = 'bench_intel';
const PROVIDERS = ['virustotal', 'abuseipdb', CUSTOM_PROVIDER] as const;
type ProviderName = (typeof PROVIDERS)[number];
/** --wait-idle: the machine counts as quiet below this busy % (of one core), sampled over 1 s. */
const IDLE_BUSY = 25;
/** Settings of the API / worker this benchmark sets itself; the rest of this shell's environment passes through. */
const APP_SETTINGS =
  /^(API_|DB_|LOG_|MAX_|ALERT_|APP_|WORKER_|ENRICHMENT_|VIRUSTOTAL_|ABUSEIPDB_|OKTA_|ENTRA_|CALSETA_PROVIDER_|DATABASE_URL$|ENCRYPTION_KEY$|SSRF_ALLOWED_HOSTS$)|_WEBHOOK_SECRET$/;

interface Options {
  alerts: number;
  indicators: number;
  latency: number;
  workers: number;
  concurrency: number;
  workerConcurrency: number;
  pacedRate: number;
  pacedSeconds: number;
  coldRate: number;
  coldSeconds: number;
  timeout: number;
  apps: AppMode;
  waitIdle: number;
  tmp: string;
}

const HELP = `Usage: pnpm bench enrich [--alerts 1000] [--indicators 20] [--latency 50] [--workers 2]
                          [--concurrency 32] [--worker-concurrency 64]
                          [--paced-rate 20] [--paced-seconds 5] [--cold-rate 2] [--cold-seconds 10]
                          [--timeout 300] [--apps auto|dist|tsx] [--wait-idle <s>] [--tmp <dir>]

  --alerts              alerts in the burst phase (default 1000)
  --indicators          public IPv4 indicators every alert carries (default 20); the burst's alerts all
                        share the same ones
  --latency             latency of every mock provider response, ms (default 50)
  --workers             worker processes (default 2)
  --concurrency         concurrent ingest requests in the burst (default 32)
  --worker-concurrency  WORKER_CONCURRENCY of each worker: jobs at a time per process (default 64, the
                        worker's own default)
  --paced-rate          alerts/s of the warm paced phase (same indicators, warm cache; default 20)
  --paced-seconds       length of the warm paced phase (default 5; 0 skips it)
  --cold-rate           alerts/s of the cold paced phase (fresh indicators per alert; default 2)
  --cold-seconds        length of the cold paced phase (default 10; 0 skips it)
  --timeout             give up waiting for a phase's alerts to be enriched after this many s (default 300)
  --apps                dist: build and run apps/{api,worker}/dist/main.js; tsx: run the sources with tsx;
                        auto (default): dist if it builds and starts, otherwise tsx
  --wait-idle           before each phase, wait up to this many seconds for other load on the machine to
                        drop below ${IDLE_BUSY}% of one core (default 0: don't wait)
  --tmp                 parent directory of the throwaway Postgres data dir (default: the OS temp dir)`;

function parseOptions(args: string[]): Options | 'help' {
  const { values } = parseArgs({
    args,
    strict: true,
    options: {
      alerts: { type: 'string', default: '1000' },
      indicators: { type: 'string', default: '20' },
      latency: { type: 'string', default: '50' },
      workers: { type: 'string', default: '2' },
      concurrency: { type: 'string', default: '32' },
      'worker-concurrency': { type: 'string', default: '64' },
      'paced-rate': { type: 'string', default: '20' },
      'paced-seconds': { type: 'string', default: '5' },
      'cold-rate': { type: 'string', default: '2' },
      'cold-seconds': { type: 'string', default: '10' },
      timeout: { type: 'string', default: '300' },
      apps: { type: 'string', default: 'auto' },
      'wait-idle': { type: 'string', default: '0' },
      tmp: { type: 'string', default: os.tmpdir() },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const number = (name: string, raw: string, { integer = false, zero = false, max = Infinity } = {}) => {
    const n = Number(raw);
    if (!Number.isFinite(n) || n < 0 || (n === 0 && !zero) || (integer && !Number.isInteger(n)) || n > max) {
      throw new Error(
        `--${name} must be a ${zero ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}` +
          `${Number.isFinite(max) ? ` up to ${max}` : ''}, got "${raw}"`,
      );
    }
    return n;
  };
  if (values.apps !== 'auto' && values.apps !== 'dist' && values.apps !== 'tsx') {
    throw new Error(`--apps must be auto, dist or tsx, got "${values.apps}"`);
  }
  return {
    alerts: number('alerts', values.alerts, { integer: true }),
    indicators: number('indicators', values.indicators, { integer: true, max: 1000 }),
    latency: number('latency', values.latency, { zero: true }),
    workers: number('workers', values.workers, { integer: true, max: 32 }),
    concurrency: number('concurrency', values.concurrency, { integer: true }),
    workerConcurrency: number('worker-concurrency', values['worker-concurrency'], { integer: true, max: 200 }),
    pacedRate: number('paced-rate', values['paced-rate']),
    pacedSeconds: number('paced-seconds', values['paced-seconds'], { zero: true }),
    coldRate: number('cold-rate', values['cold-rate']),
    coldSeconds: number('cold-seconds', values['cold-seconds'], { zero: true }),
    timeout: number('timeout', values.timeout),
    apps: values.apps,
    waitIdle: number('wait-idle', values['wait-idle'], { zero: true }),
    tmp: values.tmp,
  };
}

// ------------------------------------------------------------------------------------- indicators

/**
 * Public, globally reachable IPv4 addresses (the enrichability gate sends them to providers): the
 * mock's known-bad ones that are global (its 198.51.100.x is TEST-NET-2, not enrichable), then
 * well-known public resolvers and CDN addresses, then generated 23.x.y.z addresses.
 */
const SHARED_IPS = [
  ...KNOWN_BAD.ip.filter((ip) => !ip.startsWith('198.51.100.')),
  '8.8.8.8',
  '8.8.4.4',
  '1.1.1.1',
  '1.0.0.1',
  '9.9.9.9',
  '149.112.112.112',
  '208.67.222.222',
  '208.67.220.220',
  '64.6.64.6',
  '84.200.69.80',
  '94.140.14.14',
  '76.76.2.0',
  '104.16.132.229',
  '151.101.1.69',
  '140.82.112.3',
  '13.107.42.14',
];

function sharedIndicators(count: number): string[] {
  const out = SHARED_IPS.slice(0, count);
  for (let n = 0; out.length < count; n++) out.push(`23.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`);
  return out;
}

/** Fresh addresses for the cold phase: 34.x.y.z, never used by the shared set. */
function freshIndicators(): () => string {
  let n = 0;
  return () => {
    n++;
    return `34.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  };
}

function alertBody(title: string, ips: readonly string[]): string {
  return JSON.stringify({
    title,
    severity: 'high',
    description: 'pnpm bench enrich',
    rule_name: 'Bench: many shared indicators',
    indicators: ips.map((value) => ({ type: 'ip', value })),
  });
}

// ------------------------------------------------------------------------------------- processes

interface Stack {
  apiPort: number;
  api: AppProcess;
  workers: AppProcess[];
  apiNote: string;
  workerNote: string;
}

async function startStack(
  options: Options,
  databaseUrl: string,
  providerEnv: Record<string, string>,
  encryptionKey: string,
  cleanup: Cleanup,
  beforeWorkers: (apiPort: number) => Promise<void>,
): Promise<Stack> {
  const common = {
    ...inheritedEnv(APP_SETTINGS),
    ...providerEnv,
    DATABASE_URL: databaseUrl,
    ENCRYPTION_KEY: encryptionKey,
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
    };
    const app = spawnApp('api', appArgs('api', kind), env, cleanup);
    await waitReady(app, healthy(apiPort));
    return app;
  };
  const api = await startWithFallback('api', options.apps, startApi);
  await beforeWorkers(apiPort);
  // The worker has no health endpoint: it is ready when it logs "Calseta worker started" (info level;
  // it logs nothing else at info while it works).
  const startWorkers = async (kind: AppKind) => {
    const started: AppProcess[] = [];
    for (let i = 0; i < options.workers; i++) {
      const env = { ...common, LOG_LEVEL: 'info', WORKER_CONCURRENCY: String(options.workerConcurrency) };
      started.push(spawnApp(`worker-${i + 1}`, appArgs('worker', kind), env, cleanup));
    }
    try {
      await Promise.all(started.map((w) => workerStarted(w)));
    } catch (error) {
      for (const w of started) await w.stop('SIGKILL');
      throw error;
    }
    return started;
  };
  const mode: AppMode = options.apps === 'auto' && api.note !== '' ? 'tsx' : options.apps;
  const workers = await startWithFallback('worker', mode, startWorkers);
  return { apiPort, api: api.started, workers: workers.started, apiNote: api.note, workerNote: workers.note };
}

// ------------------------------------------------------------------------------------- the third provider

/**
 * The third provider, as JSON: the mock's VirusTotal IP API, but reached on the mock's root path
 * (`/api/v3/ip_addresses/…`, not `/virustotal/api/v3/…`), so the mock's per-path counts tell its calls
 * from the builtin VirusTotal's.
 */
function customProvider(mock: MockProvidersServer) {
  return {
    provider_name: CUSTOM_PROVIDER,
    display_name: 'Bench Intel (mock VirusTotal IP API, root path)',
    description: 'Created by pnpm bench enrich',
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
        { field: 'data.attributes.last_analysis_stats.malicious', operator: '>=', value: 1, verdict: 'Suspicious' },
      ],
      default_verdict: 'Benign',
      not_found_verdict: 'Pending',
    },
    default_cache_ttl_seconds: 3600,
    cache_ttl_by_type: { ip: 3600 },
    timeout_ms: 30_000,
  };
}

/**
 * Create the third provider through `POST /v1/enrichment-providers`; while that endpoint does not
 * exist (or refuses the body), insert the row directly and NOTIFY the registries, as the endpoint
 * would. Returns how it was created.
 * TODO: drop the SQL fallback once POST /v1/enrichment-providers has shipped.
 */
async function createCustomProvider(
  apiPort: number,
  key: string,
  mock: MockProvidersServer,
  admin: Pool,
): Promise<string> {
  const body = customProvider(mock);
  let why: string;
  try {
    const response = await fetch(`http://127.0.0.1:${apiPort}/v1/enrichment-providers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status === 200 || response.status === 201) return 'POST /v1/enrichment-providers';
    why = `POST /v1/enrichment-providers answered ${response.status} ${text.slice(0, 160)}`;
  } catch (error) {
    why = `POST /v1/enrichment-providers failed: ${error instanceof Error ? error.message : String(error)}`;
  }
  await admin.query(
    `INSERT INTO enrichment_providers
       (provider_name, display_name, description, is_builtin, is_active, supported_indicator_types, http_config,
        auth_type, malice_rules, default_cache_ttl_seconds, cache_ttl_by_type, timeout_ms)
     VALUES ($1, $2, $3, false, true, $4, $5, 'none', $6, $7, $8, $9)`,
    [
      body.provider_name,
      body.display_name,
      body.description,
      body.supported_indicator_types,
      JSON.stringify(body.http_config),
      JSON.stringify(body.malice_rules),
      body.default_cache_ttl_seconds,
      JSON.stringify(body.cache_ttl_by_type),
      body.timeout_ms,
    ],
  );
  await admin.query("SELECT pg_notify('calseta_providers', '')");
  return `SQL insert + NOTIFY calseta_providers (${why})`;
}

// ------------------------------------------------------------------------------------- mock call counts

/** Outbound calls per provider, told apart by the path the mock saw. */
function callsByProvider(stats: MockStats): Record<ProviderName | 'other', number> {
  const calls: Record<ProviderName | 'other', number> = { virustotal: 0, abuseipdb: 0, [CUSTOM_PROVIDER]: 0, other: 0 };
  for (const [p, n] of Object.entries(stats.byPath)) {
    if (p.startsWith('/virustotal/')) calls.virustotal += n;
    else if (p.startsWith('/abuseipdb/')) calls.abuseipdb += n;
    else if (p.startsWith('/api/v3/ip_addresses/')) calls[CUSTOM_PROVIDER] += n;
    else calls.other += n;
  }
  return calls;
}

function diffCalls(
  after: Record<ProviderName | 'other', number>,
  before: Record<ProviderName | 'other', number>,
): Record<ProviderName | 'other', number> {
  const out = { ...after };
  for (const k of Object.keys(out) as (ProviderName | 'other')[]) out[k] -= before[k];
  return out;
}

/**
 * The largest number of calls any one (provider, value) got in the window: 1 when nothing was called
 * twice. The IP is in the path for VirusTotal and the custom provider, in the query for AbuseIPDB.
 */
function maxCallsPerValue(after: MockStats, before: MockStats): { max: number; repeated: string[] } {
  const repeated: string[] = [];
  let max = 0;
  const count = (name: string, d: number) => {
    if (d > max) max = d;
    if (d > 1 && repeated.length < 5) repeated.push(`${name} ×${d}`);
  };
  for (const [p, n] of Object.entries(after.byPath)) {
    if (!p.startsWith('/abuseipdb/')) count(p, n - (before.byPath[p] ?? 0));
  }
  for (const [v, n] of Object.entries(after.byValue)) {
    if (v.startsWith('abuseipdb:')) count(v, n - (before.byValue[v] ?? 0));
  }
  return { max, repeated };
}

// ------------------------------------------------------------------------------------- load

interface SendResult {
  sent: number;
  accepted: number;
  queued: number;
  failures: Record<string, number>;
  failureSamples: string[];
  /** Ingest request latency (send → 202), ms. */
  latency: LatencySummary;
  /** Seconds from the first request to the last response. */
  seconds: number;
}

async function post(url: string, key: string, body: string) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body,
  });
  return { status: response.status, text: await response.text() };
}

/**
 * Send `count` alerts. `pace` null: as fast as possible with `concurrency` requests in flight. `pace`
 * = alerts/s: request i starts at i / pace seconds, whatever the earlier ones are doing.
 */
async function send(
  url: string,
  key: string,
  count: number,
  body: (i: number) => string,
  mode: { concurrency: number } | { pace: number },
): Promise<SendResult> {
  const latency = new LatencyRecorder();
  const failures: Record<string, number> = {};
  const failureSamples: string[] = [];
  let accepted = 0;
  let queued = 0;
  let sent = 0;
  const one = async (i: number) => {
    const payload = body(i);
    sent++;
    const t0 = performance.now();
    try {
      const { status, text } = await post(url, key, payload);
      if (status === 202) {
        accepted++;
        latency.record(performance.now() - t0);
        if ((JSON.parse(text) as { data?: { status?: string } }).data?.status === 'queued') queued++;
      } else {
        failures[String(status)] = (failures[String(status)] ?? 0) + 1;
        if (failureSamples.length < 3) failureSamples.push(`${status} ${text.slice(0, 300)}`);
      }
    } catch (error) {
      failures.socket_error = (failures.socket_error ?? 0) + 1;
      if (failureSamples.length < 3) failureSamples.push(`socket: ${error instanceof Error ? error.message : error}`);
    }
  };
  const started = performance.now();
  if ('concurrency' in mode) {
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(mode.concurrency, count) }, async () => {
        while (next < count) await one(next++);
      }),
    );
  } else {
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < count; i++) {
      const due = started + (i * 1000) / mode.pace;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inflight.push(one(i));
    }
    await Promise.all(inflight);
  }
  return {
    sent,
    accepted,
    queued,
    failures,
    failureSamples,
    latency: latency.summary(),
    seconds: (performance.now() - started) / 1000,
  };
}

// ------------------------------------------------------------------------------------- measuring

interface CpuFigures {
  api: number | null;
  workers: number | null;
  postgres: number | null;
  /** The bench process: load generator and the in-process mock providers. */
  bench: number | null;
  machine: number | null;
  other: number | null;
}

function meters(apiPid: number | null, workerPids: number[], pgPid: number | null) {
  const cores = os.cpus().length;
  const bench = new CpuMeter(() => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  });
  const api = apiPid === null ? null : new CpuMeter(() => processCpuSeconds(apiPid));
  const workers = new CpuMeter(() => {
    let total = 0;
    for (const pid of workerPids) {
      const s = processCpuSeconds(pid);
      if (s === null) return null;
      total += s;
    }
    return total;
  });
  const postgres = pgPid === null ? null : new CpuMeter(() => processTreeCpuSeconds(pgPid));
  let machineStart = machineCpuSeconds();
  return {
    start() {
      machineStart = machineCpuSeconds();
      for (const m of [bench, api, workers, postgres]) m?.start();
    },
    stop(): CpuFigures {
      const machineEnd = machineCpuSeconds();
      const machine =
        machineStart && machineEnd && machineEnd.total > machineStart.total
          ? ((machineEnd.busy - machineStart.busy) / (machineEnd.total - machineStart.total)) * cores * 100
          : null;
      const f = {
        api: api?.stop() ?? null,
        workers: workers.stop(),
        postgres: postgres?.stop() ?? null,
        bench: bench.stop(),
        machine,
      };
      const parts = [f.api, f.workers, f.postgres, f.bench];
      const other =
        f.machine === null || parts.some((p) => p === null)
          ? null
          : Math.max(0, f.machine - parts.reduce<number>((a, b) => a + (b ?? 0), 0));
      return { ...f, other };
    },
  };
}

interface AlertTiming {
  id: number;
  status: string;
  /** ms since epoch: alerts.ingested_at (the API's clock when it accepted the request). */
  ingested: number;
  /** alerts.created_at (Postgres now() of the insert transaction). */
  created: number;
  /** alerts.enriched_at (the worker's clock when the providers had answered, before its commit). */
  enriched: number | null;
  /** pgboss.job started_on / completed_on of the alert's enrich-alert job (Postgres clock; completed after the commit). */
  jobStarted: number | null;
  jobCompleted: number | null;
  cacheHits: number;
  jobState: string;
  /** Times pg-boss retried the job (after an error, e.g. a deadlock). */
  retries: number;
}

/** The latest enrich-alert job of each alert (pg-boss keeps one row per job through its retries). */
const JOBS_BY_ALERT = `
  SELECT DISTINCT ON ((data->>'alert_id')::bigint) (data->>'alert_id')::bigint AS alert_id,
         state, retry_count, started_on, completed_on
    FROM pgboss.job WHERE name = 'enrich-alert'
   ORDER BY (data->>'alert_id')::bigint, created_on DESC`;

/**
 * Alerts with id > `afterId`: how many are done (enriched and their job completed) and how many
 * the queue gave up on (job failed after its last retry: the alert stays Pending).
 */
async function progress(pool: Pool, afterId: number): Promise<{ done: number; gaveUp: number }> {
  return one<{ done: number; gaveUp: number }>(
    pool,
    `SELECT count(*) FILTER (WHERE a.enrichment_status <> 'Pending' AND j.state = 'completed')::int AS done,
            count(*) FILTER (WHERE j.state = 'failed')::int AS "gaveUp"
       FROM alerts a LEFT JOIN (${JOBS_BY_ALERT}) j ON j.alert_id = a.id
      WHERE a.id > $1`,
    [afterId],
  );
}

async function waitEnriched(
  pool: Pool,
  afterId: number,
  expected: number,
  timeoutS: number,
): Promise<{ done: number; gaveUp: number; timedOut: boolean }> {
  const deadline = performance.now() + timeoutS * 1000;
  for (;;) {
    const p = await progress(pool, afterId);
    if (p.done + p.gaveUp >= expected) return { ...p, timedOut: false };
    if (performance.now() > deadline) return { ...p, timedOut: true };
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function timings(pool: Pool, afterId: number): Promise<AlertTiming[]> {
  const { rows } = await pool.query<{
    id: string;
    status: string;
    ingested: number;
    created: number;
    enriched: number | null;
    job_started: number | null;
    job_completed: number | null;
    cache_hits: number | null;
    job_state: string | null;
    retry_count: number | null;
  }>(
    `SELECT a.id, a.enrichment_status AS status,
            extract(epoch FROM a.ingested_at)::float8 * 1000 AS ingested,
            extract(epoch FROM a.created_at)::float8 * 1000 AS created,
            extract(epoch FROM a.enriched_at)::float8 * 1000 AS enriched,
            extract(epoch FROM j.started_on)::float8 * 1000 AS job_started,
            extract(epoch FROM j.completed_on)::float8 * 1000 AS job_completed,
            (a.enrichment_summary->>'cache_hits')::int AS cache_hits,
            j.state AS job_state, j.retry_count
       FROM alerts a LEFT JOIN (${JOBS_BY_ALERT}) j ON j.alert_id = a.id
      WHERE a.id > $1 ORDER BY a.id`,
    [afterId],
  );
  return rows.map((r) => ({
    id: Number(r.id),
    status: r.status,
    ingested: r.ingested,
    created: r.created,
    enriched: r.enriched,
    jobStarted: r.job_started,
    jobCompleted: r.job_completed,
    cacheHits: r.cache_hits ?? 0,
    jobState: r.job_state ?? 'none',
    retries: r.retry_count ?? 0,
  }));
}

interface PhaseResult {
  name: string;
  what: string;
  ingest: SendResult;
  alerts: number;
  enrichedAlerts: number;
  /** Alerts whose job failed for good (retries exhausted): still Pending. */
  gaveUp: number;
  timedOut: boolean;
  /** Job states of the phase's alerts, and how many jobs were retried (how many retries in all). */
  jobStates: Record<string, number>;
  retriedJobs: number;
  retries: number;
  statuses: Record<string, number>;
  /** ingested_at → enriched_at. */
  toEnriched: LatencySummary;
  /** ingested_at → job completed (the enrichment committed and visible). */
  toCommitted: LatencySummary;
  /** ingested_at → job started (queueing before a worker picked it up). */
  queueWait: LatencySummary;
  /** job started → enriched_at (the worker's extraction + providers / cache). */
  working: LatencySummary;
  /** Alerts / (last job completed − first ingested_at). */
  alertsPerSecond: number | null;
  /** First ingest to last enriched, s. */
  spanSeconds: number | null;
  calls: Record<ProviderName | 'other', number>;
  totalCalls: number;
  maxCallsPerValue: number;
  repeatedCalls: string[];
  expectedCalls: number;
  cacheHits: number;
  cpu: CpuFigures;
  workerActivity: ActivitySummary;
  /** WAL Postgres wrote during the phase (everything: ingest, jobs, enrichment). */
  walBytes: number;
}

function summarize(values: Iterable<number>): LatencySummary {
  const r = new LatencyRecorder();
  for (const v of values) r.record(v);
  return r.summary();
}

async function runPhase(input: {
  name: string;
  what: string;
  admin: Pool;
  mock: MockProvidersServer;
  url: string;
  key: string;
  count: number;
  body: (i: number) => string;
  mode: { concurrency: number } | { pace: number };
  expectedCalls: number;
  timeoutS: number;
  cpu: ReturnType<typeof meters>;
}): Promise<PhaseResult> {
  const { admin, mock } = input;
  const afterId = (await one<{ id: string | null }>(admin, 'SELECT max(id) AS id FROM alerts')).id;
  const after = Number(afterId ?? 0);
  const statsBefore = mock.stats();
  const walBefore = (await one<{ lsn: string }>(admin, 'SELECT pg_current_wal_lsn()::text AS lsn')).lsn;
  const sampler = activitySampler(admin, 'calseta-worker');
  input.cpu.start();
  const ingest = await send(input.url, input.key, input.count, input.body, input.mode);
  if (ingest.accepted < ingest.sent) {
    // Figures over the accepted part of a phase would describe a different load than the one named
    // (e.g. a 1,000-alert burst of which a rate limit let 100 in): refuse to print them.
    input.cpu.stop();
    throw new Error(
      `${input.name}: ${ingest.sent - ingest.accepted} of ${ingest.sent} alerts were refused ` +
        `(${Object.entries(ingest.failures)
          .map(([status, n]) => `${n} × ${status}`)
          .join(', ')}), e.g. ${ingest.failureSamples.join(' | ')}. No figures: they would not describe this load.`,
    );
  }
  const waited = await waitEnriched(admin, after, ingest.queued, input.timeoutS);
  const cpu = input.cpu.stop();
  const workerActivity = sampler.stop();
  // Calls still in flight (there should be none once every alert is done) would be missed: let them land.
  await new Promise((r) => setTimeout(r, 200));
  const statsAfter = mock.stats();
  const walBytes = (
    await one<{ bytes: number }>(admin, 'SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1::pg_lsn)::float8 AS bytes', [
      walBefore,
    ])
  ).bytes;
  const rows = await timings(admin, after);
  const done = rows.filter((r) => r.status !== 'Pending' && r.enriched !== null);
  const statuses: Record<string, number> = {};
  for (const r of rows) statuses[r.status] = (statuses[r.status] ?? 0) + 1;
  const jobStates: Record<string, number> = {};
  for (const r of rows) jobStates[r.jobState] = (jobStates[r.jobState] ?? 0) + 1;
  const committed = done.filter((r) => r.jobCompleted !== null);
  const firstIngested = rows.length ? Math.min(...rows.map((r) => r.ingested)) : null;
  const lastCommitted = committed.length ? Math.max(...committed.map((r) => r.jobCompleted as number)) : null;
  const span = firstIngested !== null && lastCommitted !== null ? (lastCommitted - firstIngested) / 1000 : null;
  const calls = diffCalls(callsByProvider(statsAfter), callsByProvider(statsBefore));
  const repeats = maxCallsPerValue(statsAfter, statsBefore);
  return {
    name: input.name,
    what: input.what,
    ingest,
    alerts: rows.length,
    enrichedAlerts: waited.done,
    gaveUp: waited.gaveUp,
    timedOut: waited.timedOut,
    jobStates,
    retriedJobs: rows.filter((r) => r.retries > 0).length,
    retries: rows.reduce((a, r) => a + r.retries, 0),
    statuses,
    toEnriched: summarize(done.map((r) => (r.enriched as number) - r.ingested)),
    toCommitted: summarize(committed.map((r) => (r.jobCompleted as number) - r.ingested)),
    queueWait: summarize(done.filter((r) => r.jobStarted !== null).map((r) => (r.jobStarted as number) - r.ingested)),
    working: summarize(
      done.filter((r) => r.jobStarted !== null).map((r) => (r.enriched as number) - (r.jobStarted as number)),
    ),
    alertsPerSecond: span && span > 0 ? committed.length / span : null,
    spanSeconds: span,
    calls,
    totalCalls: Object.values(calls).reduce((a, b) => a + b, 0),
    maxCallsPerValue: repeats.max,
    repeatedCalls: repeats.repeated,
    expectedCalls: input.expectedCalls,
    cacheHits: done.reduce((a, r) => a + r.cacheHits, 0),
    cpu,
    workerActivity,
    walBytes,
  };
}

// ------------------------------------------------------------------------------------- main

export function run(args: string[]): Promise<number> {
  return runMeasured(args, parseOptions, HELP, 'the API, the workers, the mock providers and Postgres', measure);
}

async function measure(options: Options, cleanup: Cleanup): Promise<number> {
  const out = (line = '') => process.stdout.write(`${line}\n`);
  const startedAt = new Date();
  const cores = os.cpus().length;
  const cpuModel = os.cpus()[0]?.model ?? 'unknown CPU';

  fs.mkdirSync(options.tmp, { recursive: true });
  const tmpDir = fs.mkdtempSync(path.join(options.tmp, 'calseta-bench-'));
  cleanup.tmpDir = tmpDir;
  const fsType = filesystemOf(tmpDir);

  out(`Calseta enrichment benchmark — ${startedAt.toISOString()}`);
  out(`  machine   ${cores} cores (${cpuModel}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}`);
  out(`            load generator, mock providers, API, ${options.workers} workers and Postgres all share these cores`);
  const busyBefore = await machineBusy(2_000);
  out(
    `            busy before start (2 s sample): ${busyBefore === null ? 'n/a' : `${fmt(busyBefore, 0)}% of ${cores * 100}%`}`,
  );
  out(`  data dir  ${tmpDir} (${fsType})${fsType === 'tmpfs' ? '  WARNING: tmpfs makes fsync free' : ''}`);

  const postgres = await startEmbeddedPostgres({ dataDir: tmpDir });
  cleanup.postgres = postgres;
  const pgPid = postmasterPid(path.join(tmpDir, 'pg'));
  const { db, pool: admin } = createDb({ url: postgres.url, max: 4, applicationName: 'calseta-bench' });
  cleanup.destroyers.push(() => db.destroy());
  const pgVersion = (await one<{ v: string }>(admin, "SELECT current_setting('server_version') AS v")).v;
  out(`  postgres  ${pgVersion}, durable defaults (fsync, synchronous_commit on)`);

  // Schema, pg-boss queues, system rows (builtin providers), an admin key: what `calseta start` does.
  await migrateToLatest(db);
  const key = await firstRun(postgres.url, 'bench');

  // Mock providers in this process; the builtins point at them through their env vars.
  const mock = await startMockProviders({ latencyMs: options.latency });
  cleanup.destroyers.unshift(() => mock.close());
  const encryptionKey = randomBytes(32).toString('base64');

  let providerHow = '';
  const stack = await startStack(
    options,
    postgres.url,
    mockProviderEnv(mock),
    encryptionKey,
    cleanup,
    async (apiPort) => {
      providerHow = await createCustomProvider(apiPort, key, mock, admin);
    },
  );
  const active = (
    await admin.query<{ provider_name: string; is_builtin: boolean }>(
      'SELECT provider_name, is_builtin FROM enrichment_providers WHERE is_active ORDER BY id',
    )
  ).rows;
  out(`  API       ${stack.api.command} (pid ${stack.api.child.pid}), LOG_LEVEL=warn, LOG_REQUESTS=false`);
  if (stack.apiNote) out(`            fell back to tsx — ${stack.apiNote}`);
  out(
    `  workers   ${stack.workers.length} × ${stack.workers[0]?.command} (pids ${stack.workers.map((w) => w.child.pid).join(', ')}), ` +
      `WORKER_CONCURRENCY=${options.workerConcurrency}, DB_POOL_SIZE 20`,
  );
  if (stack.workerNote) out(`            fell back to tsx — ${stack.workerNote}`);
  out(`  mock      ${mock.url} in the bench process, every response after ${options.latency} ms`);
  out(
    `  providers ${active.map((p) => `${p.provider_name}${p.is_builtin ? '' : ' (custom)'}`).join(', ')}; ` +
      `ip: ${PROVIDERS.join(', ')}`,
  );
  out(`            ${CUSTOM_PROVIDER} created by ${providerHow}`);
  out();

  const url = `http://127.0.0.1:${stack.apiPort}/v1/ingest/generic`;
  const cpu = meters(
    stack.api.child.pid ?? null,
    stack.workers.map((w) => w.child.pid).filter((p): p is number => p !== undefined),
    pgPid,
  );
  const shared = sharedIndicators(options.indicators);
  const perAlertCalls = options.indicators * PROVIDERS.length;
  const phases: PhaseResult[] = [];
  const idle = async (label: string) => {
    if (options.waitIdle <= 0) return;
    const waited = await waitForIdle(options.waitIdle, IDLE_BUSY);
    out(
      `${label}: ${waited.quiet ? 'machine quiet' : 'machine still busy'} after ${fmt(waited.seconds, 0)} s ` +
        `(${fmt(waited.busy, 0)}% busy)`,
    );
  };
  const report = (p: PhaseResult) =>
    out(
      `${p.ingest.accepted} accepted in ${fmt(p.ingest.seconds, 1)} s, ${p.enrichedAlerts} enriched` +
        `${p.gaveUp ? `, ${p.gaveUp} given up` : ''}${p.retriedJobs ? `, ${p.retriedJobs} jobs retried` : ''}` +
        `${p.timedOut ? ` — TIMED OUT after ${options.timeout} s` : ''}; ${p.totalCalls} provider calls`,
    );

  await idle('[1/3] burst');
  process.stdout.write(
    `[1/3] burst: ${options.alerts} alerts × ${options.indicators} shared indicators, cold cache, ` +
      `${options.concurrency} concurrent… `,
  );
  const burst = await runPhase({
    name: 'burst',
    what: `${options.alerts} alerts sharing ${options.indicators} indicators, cold cache, ${options.concurrency} concurrent`,
    admin,
    mock,
    url,
    key,
    count: options.alerts,
    body: (i) => alertBody(`enrich-bench burst #${i}`, shared),
    mode: { concurrency: options.concurrency },
    expectedCalls: perAlertCalls,
    timeoutS: options.timeout,
    cpu,
  });
  phases.push(burst);
  report(burst);

  if (options.pacedSeconds > 0) {
    await new Promise((r) => setTimeout(r, 1_000));
    await idle('[2/3] paced, warm');
    const count = Math.max(1, Math.round(options.pacedRate * options.pacedSeconds));
    process.stdout.write(
      `[2/3] paced, warm cache: ${count} alerts at ${fmt(options.pacedRate, 0)}/s, the same ${options.indicators} indicators… `,
    );
    const warm = await runPhase({
      name: 'paced-warm',
      what: `${count} alerts at ${fmt(options.pacedRate, 1)}/s, the same ${options.indicators} indicators (cache warm)`,
      admin,
      mock,
      url,
      key,
      count,
      body: (i) => alertBody(`enrich-bench warm #${i}`, shared),
      mode: { pace: options.pacedRate },
      expectedCalls: 0,
      timeoutS: options.timeout,
      cpu,
    });
    phases.push(warm);
    report(warm);
  }

  if (options.coldSeconds > 0) {
    await new Promise((r) => setTimeout(r, 1_000));
    await idle('[3/3] paced, cold');
    const count = Math.max(1, Math.round(options.coldRate * options.coldSeconds));
    process.stdout.write(
      `[3/3] paced, cold cache: ${count} alerts at ${fmt(options.coldRate, 1)}/s, ${options.indicators} fresh indicators each… `,
    );
    const fresh = freshIndicators();
    const cold = await runPhase({
      name: 'paced-cold',
      what: `${count} alerts at ${fmt(options.coldRate, 1)}/s, ${options.indicators} fresh indicators each (nothing cached)`,
      admin,
      mock,
      url,
      key,
      count,
      body: (i) =>
        alertBody(
          `enrich-bench cold #${i}`,
          Array.from({ length: options.indicators }, () => fresh()),
        ),
      mode: { pace: options.coldRate },
      expectedCalls: count * perAlertCalls,
      timeoutS: options.timeout,
      cpu,
    });
    phases.push(cold);
    report(cold);
  }

  const logLines = {
    api: stack.api.lines,
    workers: stack.workers.flatMap((w, i) =>
      w.lines.filter((l) => !l.includes('Calseta worker started')).map((l) => `[worker ${i + 1}] ${l}`),
    ),
  };
  const inflightLeft = (await one<{ n: number }>(admin, 'SELECT count(*)::int AS n FROM enrichment_inflight')).n;
  const cacheRows = (await one<{ n: number }>(admin, 'SELECT count(*)::int AS n FROM enrichment_cache')).n;
  // What every enrichment of an alert with the shared indicators rewrites: their stored results.
  const resultSize = await one<{ avg: number | null; total: number | null }>(
    admin,
    `SELECT avg(pg_column_size(enrichment_results))::float8 AS avg, sum(pg_column_size(enrichment_results))::float8 AS total
       FROM indicators WHERE type = 'ip' AND value = ANY($1)`,
    [shared],
  );

  // ---------------------------------------------------------------------------------- report
  const ms = (v: number) => fmt(v, 0);
  const pct = (v: number | null) => (v === null ? 'n/a' : `${fmt(v, 0)}%`);
  const lat = (s: LatencySummary) => (s.count === 0 ? 'n/a' : `${ms(s.p50)} / ${ms(s.p99)} / ${ms(s.max)}`);
  const failuresText = (f: Record<string, number>) =>
    Object.keys(f).length === 0
      ? '0'
      : Object.entries(f)
          .map(([k, v]) => `${v}×${k}`)
          .join(' ');
  out();
  out(`Results (latencies in ms as p50 / p99 / max; CPU as % of one core, ${cores} cores = ${cores * 100}%)`);
  const header = ['', ...phases.map((p) => p.name)];
  const row = (label: string, cell: (p: PhaseResult) => string) => [label, ...phases.map(cell)];
  out(
    table([
      header,
      row('alerts ingested (202)', (p) => `${p.ingest.accepted}/${p.ingest.sent}`),
      row('ingest failures', (p) => failuresText(p.ingest.failures)),
      row('ingest rate /s', (p) => fmt(p.ingest.accepted / p.ingest.seconds, 0)),
      row('ingest request latency', (p) => lat(p.ingest.latency)),
      row('alerts enriched', (p) => `${p.enrichedAlerts}${p.timedOut ? ' (timed out)' : ''}`),
      row('alerts given up (job failed)', (p) => String(p.gaveUp)),
      row('jobs retried (retries)', (p) => `${p.retriedJobs} (${p.retries})`),
      row('statuses', (p) =>
        Object.entries(p.statuses)
          .map(([s, n]) => `${n} ${s}`)
          .join(', '),
      ),
      row('ingest → enriched_at', (p) => lat(p.toEnriched)),
      row('ingest → committed (job done)', (p) => lat(p.toCommitted)),
      row('  of which queued (→ job start)', (p) => lat(p.queueWait)),
      row('  of which working (→ enriched_at)', (p) => lat(p.working)),
      row('alerts/s (first ingest → last done)', (p) => fmt(p.alertsPerSecond, 1)),
      row('span s', (p) => fmt(p.spanSeconds, 2)),
      ...PROVIDERS.map((name) => row(`calls ${name}`, (p) => String(p.calls[name]))),
      row('calls other paths', (p) => String(p.calls.other)),
      row('calls total (expected)', (p) => `${p.totalCalls} (${p.expectedCalls})`),
      row('max calls per provider+value', (p) => String(p.maxCallsPerValue)),
      row('cache hits (alert summaries)', (p) => String(p.cacheHits)),
      row('WAL written MiB', (p) => fmt(p.walBytes / 2 ** 20, 1)),
      row('WAL KiB per alert', (p) => fmt(p.walBytes / 1024 / Math.max(1, p.alerts), 0)),
      row('CPU API', (p) => pct(p.cpu.api)),
      row('CPU workers (all)', (p) => pct(p.cpu.workers)),
      row('CPU Postgres', (p) => pct(p.cpu.postgres)),
      row('CPU bench (load + mock)', (p) => pct(p.cpu.bench)),
      row('CPU other processes', (p) => pct(p.cpu.other)),
      row('CPU whole machine', (p) => pct(p.cpu.machine)),
    ]),
  );
  out('  Worker Postgres connections, average by state (pg_stat_activity every 100 ms):');
  for (const p of phases) out(`    ${p.name}: ${describeActivity(p.workerActivity)}`);
  for (const p of phases) {
    for (const sample of p.ingest.failureSamples) out(`  ${p.name} sample failure: ${sample}`);
    if (p.repeatedCalls.length) out(`  ${p.name} values called more than once: ${p.repeatedCalls.join(', ')}`);
    if ((p.cpu.other ?? 0) > 20) {
      out(`  WARNING: other processes used ${pct(p.cpu.other)} CPU during ${p.name}: its figures are distorted.`);
    }
  }
  out(
    `  enrichment_inflight rows left: ${inflightLeft}; enrichment_cache rows: ${cacheRows}; ` +
      `log lines: API ${logLines.api.length}, workers ${logLines.workers.length}`,
  );
  out(
    `  stored enrichment_results of the ${shared.length} shared indicators: ${fmt((resultSize.avg ?? 0) / 1024, 1)} KiB each ` +
      `(compressed), ${fmt((resultSize.total ?? 0) / 1024, 0)} KiB in all`,
  );
  const problems = { api: logProblems(logLines.api), workers: logProblems(logLines.workers) };
  for (const [app, counts] of Object.entries(problems)) {
    for (const [what, n] of Object.entries(counts)) out(`    ${app}: ${n} × ${what}`);
  }
  for (const line of [...logLines.api, ...logLines.workers].filter((l) => !l.includes('{')).slice(0, 4)) {
    out(`    ${line.slice(0, 200)}`);
  }

  const warm = phases.find((p) => p.name === 'paced-warm');
  const cold = phases.find((p) => p.name === 'paced-cold');
  const verdict = (ok: boolean | null) => (ok === null ? 'n/a' : ok ? 'PASS' : 'MISS');
  const callsOk = burst.totalCalls === burst.expectedCalls;
  const p50Ok = (p: PhaseResult | undefined) =>
    p === undefined || p.toEnriched.count === 0 ? null : p.toEnriched.p50 <= TARGET_P50_MS;
  out();
  out('Targets (figures, not assertions: the exit code is 0 either way)');
  out(
    `  burst outbound provider calls          ${burst.totalCalls}   target exactly ${options.indicators} × ${PROVIDERS.length} = ${burst.expectedCalls}   ${verdict(callsOk)}`,
  );
  for (const p of [cold, warm]) {
    if (!p) continue;
    out(
      `  ${`${p.name} p50 ingest → enriched`.padEnd(38)} ${ms(p.toEnriched.p50)} ms (p99 ${ms(p.toEnriched.p99)})   ` +
        `target <= ${TARGET_P50_MS} ms unsaturated   ${verdict(p50Ok(p))}   (→ committed: p50 ${ms(p.toCommitted.p50)}, p99 ${ms(p.toCommitted.p99)})`,
    );
  }
  out(
    `  burst p50 / p99 ingest → enriched      ${ms(burst.toEnriched.p50)} / ${ms(burst.toEnriched.p99)} ms   ` +
      '(saturated: everything queued at once; no target)',
  );
  out(
    `  burst alerts/s sustained               ${fmt(burst.alertsPerSecond, 1)}   ` +
      `(${burst.enrichedAlerts} alerts, first ingest → last enrichment committed: ${fmt(burst.spanSeconds, 2)} s)`,
  );

  const roundSummary = (s: LatencySummary) => ({
    count: s.count,
    p50: round(s.p50),
    p90: round(s.p90),
    p99: round(s.p99),
    max: round(s.max),
    mean: round(s.mean),
  });
  const result = {
    benchmark: 'enrich',
    started_at: startedAt.toISOString(),
    git: gitState(),
    machine: {
      cores,
      cpu: cpuModel,
      memory_gib: round(os.totalmem() / 2 ** 30),
      node: process.version,
      busy_before_start_percent: round(busyBefore),
      note: 'load generator, mock providers, API, workers and Postgres share the cores',
    },
    postgres: { version: pgVersion, data_dir_filesystem: fsType },
    options,
    stack: {
      api: stack.api.command,
      api_fallback_note: stack.apiNote || null,
      workers: stack.workers.length,
      worker_command: stack.workers[0]?.command ?? null,
      worker_fallback_note: stack.workerNote || null,
      worker_concurrency: options.workerConcurrency,
      providers_active: active.map((p) => p.provider_name),
      custom_provider_created_by: providerHow,
      mock_latency_ms: options.latency,
    },
    phases: phases.map((p) => ({
      name: p.name,
      what: p.what,
      ingest: {
        sent: p.ingest.sent,
        accepted: p.ingest.accepted,
        queued: p.ingest.queued,
        failures: p.ingest.failures,
        seconds: round(p.ingest.seconds, 3),
        request_latency_ms: roundSummary(p.ingest.latency),
      },
      alerts: p.alerts,
      enriched: p.enrichedAlerts,
      given_up: p.gaveUp,
      timed_out: p.timedOut,
      job_states: p.jobStates,
      retried_jobs: p.retriedJobs,
      retries: p.retries,
      statuses: p.statuses,
      latency_ms: {
        ingest_to_enriched_at: roundSummary(p.toEnriched),
        ingest_to_committed: roundSummary(p.toCommitted),
        queued: roundSummary(p.queueWait),
        working: roundSummary(p.working),
      },
      alerts_per_second: round(p.alertsPerSecond, 2),
      span_seconds: round(p.spanSeconds, 3),
      provider_calls: { ...p.calls, total: p.totalCalls, expected: p.expectedCalls },
      max_calls_per_provider_value: p.maxCallsPerValue,
      repeated_calls: p.repeatedCalls,
      cache_hits: p.cacheHits,
      wal_mib: round(p.walBytes / 2 ** 20, 2),
      cpu_percent_of_one_core: Object.fromEntries(Object.entries(p.cpu).map(([k, v]) => [k, round(v)])),
      worker_pg_connections_by_state: Object.fromEntries(
        Object.entries(p.workerActivity.connections).map(([k, v]) => [k, round(v, 2)]),
      ),
    })),
    targets: {
      burst_provider_calls: { target: burst.expectedCalls, value: burst.totalCalls, pass: callsOk },
      ...(cold && {
        cold_p50_ms: { target: `<= ${TARGET_P50_MS}`, value: round(cold.toEnriched.p50), pass: p50Ok(cold) },
      }),
      ...(warm && {
        warm_p50_ms: { target: `<= ${TARGET_P50_MS}`, value: round(warm.toEnriched.p50), pass: p50Ok(warm) },
      }),
      burst_alerts_per_second: round(burst.alertsPerSecond, 2),
    },
    leftovers: { enrichment_inflight_rows: inflightLeft, enrichment_cache_rows: cacheRows },
    shared_indicator_results_bytes: { avg: round(resultSize.avg, 0), total: round(resultSize.total, 0) },
    log_problems: problems,
    log_lines: { api: logLines.api.slice(0, 20), workers: logLines.workers.slice(0, 20) },
  };
  const file = writeResult('enrich', startedAt, result);
  out();
  out(`Result written to ${file}`);
  return 0;
}
