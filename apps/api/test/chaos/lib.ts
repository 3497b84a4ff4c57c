/**
 * Helpers of the chaos suite (`pnpm test:chaos`, vitest.chaos.config.ts): real API and worker
 * processes (the bundles `pnpm start` runs, built by ./global-setup.ts; spawned, waited on and stopped
 * by @calseta/process-harness) that can be killed with SIGKILL and restarted; a real agent endpoint that verifies signatures and records every delivery with its
 * Idempotency-Key, and can go down and come back on the same port; a recording proxy in front of the
 * mock providers that remembers what each (provider, value) was last answered; an ingest load loop;
 * condition waits with deadlines (no fixed sleeps); and the end-state checks every scenario makes.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { createTestCore } from '@calseta/core/testing';
import type { DbHandle } from '@calseta/db';
import { firstParty } from '@calseta/integrations';
import { type MockProvidersServer, mockBaseUrls } from '@calseta/mock-providers';
import { appArgs, GiveUp, type Proc, ProcessGroup, REPO_ROOT, until } from '@calseta/process-harness';
import type { FailureReason } from '@calseta/schema';

export { freePort, GiveUp, type Proc, type UntilOptions, until } from '@calseta/process-harness';

/** The pg pool of a `createDb` handle (the tests query stored state with it). */
export type Pool = DbHandle['pool'];

export const ROOT = REPO_ROOT;

// ------------------------------------------------------------------------------------- processes

/**
 * A Calseta deployment of real processes on one database: one API on a fixed port (so a restarted
 * API answers where the load goes) and any number of workers, each startable, killable (SIGKILL)
 * and restartable by name. Every process ever started is kept (with its log) for the report.
 */
export class Stack {
  private readonly group = new ProcessGroup();
  private readonly current = new Map<string, Proc>();
  readonly apiUrl: string;

  constructor(
    private readonly env: Record<string, string>,
    readonly apiPort: number,
  ) {
    this.apiUrl = `http://127.0.0.1:${apiPort}`;
  }

  private spawn(name: string, app: 'api' | 'worker', extra: Record<string, string>): Proc {
    // The bundles global-setup.ts built from the current sources.
    const args = ['--enable-source-maps', ...appArgs(app, 'dist')];
    const proc = this.group.start({ name, args, env: { ...this.env, ...extra } });
    this.current.set(name, proc);
    return proc;
  }

  /** Start (or restart) the API and wait until `GET /health` answers 200. */
  async startApi(timeoutMs = 60_000): Promise<Proc> {
    const proc = this.spawn('api', 'api', {
      API_HOST: '127.0.0.1',
      API_PORT: String(this.apiPort),
      LOG_LEVEL: 'warn',
      LOG_REQUESTS: 'false',
      RATE_LIMIT_AUTHED_PER_MINUTE: '0',
      RATE_LIMIT_INGEST_PER_MINUTE: '0',
    });
    await until(
      'the API to answer /health',
      async () => {
        if (!proc.alive) throw new GiveUp(`api exited: ${proc.tail()}`);
        const response = await fetch(`${this.apiUrl}/health`);
        await response.body?.cancel();
        return response.status === 200 ? true : undefined;
      },
      { timeoutMs, describe: () => proc.tail() },
    );
    return proc;
  }

  /** Start (or restart) worker `name` and wait until it logs that it started. */
  async startWorker(name: string, concurrency = 8, timeoutMs = 60_000): Promise<Proc> {
    const proc = this.spawn(name, 'worker', { LOG_LEVEL: 'info', WORKER_CONCURRENCY: String(concurrency) });
    await proc.waitFor(`${name} to start`, (line) => line.includes('Calseta worker started'), timeoutMs);
    return proc;
  }

  /** SIGKILL the current process called `name` and wait until it is gone. */
  async kill9(name: string): Promise<void> {
    await this.current.get(name)?.stop('SIGKILL');
  }

  /** Names of the processes started so far (api, worker-1, …). */
  names(): string[] {
    return [...this.current.keys()];
  }

  /** Processes that died although nobody killed them (checked by the scenarios). */
  unexpectedExits(killed: ReadonlySet<Proc> = new Set()): Proc[] {
    return this.group.unexpectedExits().filter((p) => !killed.has(p));
  }

  proc(name: string): Proc | undefined {
    return this.current.get(name);
  }

  /** The last lines of every process, for failure messages. */
  tails(lines = 8): string {
    return this.group.tails(lines);
  }

  stop(): Promise<void> {
    return this.group.stopAll('SIGKILL');
  }
}

/** An admin API key, created with core in this process (keys live in the shared database). */
export async function createAdminKey(databaseUrl: string): Promise<string> {
  const core = await createTestCore({
    integrations: firstParty,
    databaseUrl,
    config: { dedupWindowHours: 0 },
    adminKeyName: 'chaos',
  });
  await core.close();
  return core.adminKey;
}

/** `fetch` with the admin key and JSON; returns status and parsed body. */
export async function api(
  baseUrl: string,
  key: string,
  method: string,
  route: string,
  json?: unknown,
): Promise<{ status: number; body: any }> {
  const response = await fetch(baseUrl + route, {
    method,
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body };
}

// ------------------------------------------------------------------------------------- agent endpoint

export interface Delivery {
  agent: string;
  alertUuid: string | null;
  idempotencyKey: string;
  deliveryId: string;
  signatureOk: boolean;
}

/** As docs/agent-webhooks.md tells receivers to verify, written independently of core. */
function verifySignature(secret: string, headers: IncomingHttpHeaders, body: string): boolean {
  const timestamp = String(headers['x-calseta-timestamp'] ?? '');
  const ts = Number(timestamp);
  if (!Number.isInteger(ts) || Math.abs(Date.now() / 1000 - ts) > 300) return false;
  const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`);
  const given = Buffer.from(String(headers['x-calseta-signature'] ?? ''));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * A real agent endpoint (`/<agent name>`): answers 200, records each delivery with its
 * Idempotency-Key and whether its signature verified (`secrets` by agent name). `down()` closes the
 * listening socket and every open connection (callers see connection refused); `up()` listens again
 * on the same port.
 */
export async function startAgentEndpoint() {
  const deliveries: Delivery[] = [];
  const secrets = new Map<string, string>();
  let refusedWhileDown = 0;
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const agent = (req.url ?? '/').slice(1);
      let alertUuid: string | null = null;
      try {
        alertUuid = (JSON.parse(body) as { alert?: { uuid?: string } }).alert?.uuid ?? null;
      } catch {
        // not JSON: recorded with a null alert, which the checks report
      }
      deliveries.push({
        agent,
        alertUuid,
        idempotencyKey: String(req.headers['idempotency-key'] ?? ''),
        deliveryId: String(req.headers['x-calseta-delivery'] ?? ''),
        signatureOk: verifySignature(secrets.get(agent) ?? '', req.headers, body),
      });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  };
  let server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    deliveries,
    secrets,
    url: (agent: string) => `http://127.0.0.1:${port}/${agent}`,
    refusedWhileDown: () => refusedWhileDown,
    async down() {
      const closing = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closing;
      // While down the port stays bound by a listener that resets every connection at once, so the
      // port cannot be taken by anyone else and callers see a refused/reset connection.
      const refuser = net.createServer((socket) => {
        refusedWhileDown++;
        socket.resetAndDestroy();
      });
      await new Promise<void>((resolve) => refuser.listen(port, '127.0.0.1', () => resolve()));
      server = refuser as unknown as Server;
    },
    async up() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server = createServer(handler);
      await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}

export type AgentEndpoint = Awaited<ReturnType<typeof startAgentEndpoint>>;

/** Register an agent through the API that receives at `endpoint`; its signing secret is remembered. */
export async function registerAgent(
  baseUrl: string,
  key: string,
  endpoint: AgentEndpoint,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<{ uuid: string; name: string }> {
  const res = await api(baseUrl, key, 'POST', '/v1/agents', {
    name,
    endpoint_url: endpoint.url(name),
    timeout_seconds: 5,
    retry_count: 10,
    ...extra,
  });
  if (res.status !== 201) throw new Error(`POST /v1/agents answered ${res.status}: ${JSON.stringify(res.body)}`);
  endpoint.secrets.set(name, res.body.data.signing_secret as string);
  return { uuid: res.body.data.uuid as string, name };
}

// ------------------------------------------------------------------------------------- provider recorder

export type CallOutcome = 'ok' | 'not_found' | 'failed' | 'timeout' | 'rate_limited';

/**
 * A recording proxy in front of the mock providers: every call passes through unchanged, and the
 * outcome the caller saw is remembered per `provider:value` (ok, not_found, failed = 5xx or a
 * malformed body, timeout = the answer took longer than the provider's timeout (`timeoutMs` by provider name);
 * Calseta's client stops waiting then but may leave the request open — or the caller hung up,
 * rate_limited = 429). Point the
 * builtins at `{ url, baseUrls }` (mockProviderEnv accepts it).
 */
export async function startProviderRecorder(
  mock: MockProvidersServer,
  options: { timeoutMs?: Record<string, number> } = {},
) {
  const outcomes = new Map<string, CallOutcome[]>();
  const record = (key: string | null, outcome: CallOutcome) => {
    if (!key) return;
    const list = outcomes.get(key) ?? [];
    list.push(outcome);
    outcomes.set(key, list);
  };
  const keyOf = (url: URL): string | null => {
    const vt = /^\/virustotal\/api\/v3\/ip_addresses\/([^/]+)$/.exec(url.pathname);
    if (vt?.[1]) return `virustotal:${decodeURIComponent(vt[1])}`;
    if (url.pathname === '/abuseipdb/api/v2/check') return `abuseipdb:${url.searchParams.get('ipAddress') ?? ''}`;
    return null;
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', mock.url);
      const key = keyOf(url);
      const started = performance.now();
      let settled = false;
      res.on('close', () => {
        if (!settled) {
          settled = true;
          record(key, 'timeout');
        }
      });
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name))
          headers[name] = value;
      }
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      fetch(mock.url + (req.url ?? '/'), { method: req.method ?? 'GET', headers, ...(body ? { body } : {}) })
        .then(async (upstream) => {
          const text = await upstream.text();
          if (settled) return;
          settled = true;
          const fault = upstream.headers.get('x-mock-fault');
          const limit = options.timeoutMs?.[key?.slice(0, key.indexOf(':')) ?? ''];
          const late = limit !== undefined && performance.now() - started >= limit;
          const outcome: CallOutcome = late
            ? 'timeout'
            : upstream.status === 429
              ? 'rate_limited'
              : upstream.status === 404
                ? 'not_found'
                : upstream.status === 200 && fault !== 'malformed'
                  ? 'ok'
                  : 'failed';
          record(key, outcome);
          const out: Record<string, string> = {};
          for (const name of ['content-type', 'retry-after', 'x-mock-fault', 'x-mock-provider']) {
            const v = upstream.headers.get(name);
            if (v !== null) out[name] = v;
          }
          res.writeHead(upstream.status, out).end(text);
        })
        .catch((error: unknown) => {
          if (settled) return;
          settled = true;
          record(key, 'failed');
          res.writeHead(502).end(String(error));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    baseUrls: mockBaseUrls(url),
    outcomes,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// ------------------------------------------------------------------------------------- load

export interface Sent {
  i: number;
  uuid: string;
  severity: 'High' | 'Low';
  ips: string[];
}

export interface LoadResult {
  accepted: Sent[];
  /** Responses other than 202, and connection errors, by status or error code. */
  refused: Record<string, number>;
  attempts: number;
}

/** Unique public IPv4 for alert `i` (34.x.y.z; the enrichability gate accepts it). */
export const uniqueIp = (i: number, salt = 0) => `34.${(salt * 64 + (i >> 16)) & 255}.${(i >> 8) & 255}.${i & 255}`;

/**
 * Ingest generic alerts through `POST /v1/ingest/generic` from `loops` concurrent loops, one request
 * after another each, pausing `pauseMs` between requests, until `stop()` is called. Alert `i` has the
 * IPs `ips(i)` and alternates between High and Low severity. Every 202 is recorded with its uuid;
 * refusals and connection errors are counted and the loop carries on (after a short pause).
 */
export function ingestLoad(options: {
  url: () => string;
  key: string;
  loops: number;
  pauseMs: number;
  ips: (i: number) => string[];
  title: string;
  /** Called with each refusal's status ('ECONNREFUSED', '503', …) and how long the request took. */
  onRefused?: (status: string, ms: number) => void;
  onAccepted?: (ms: number) => void;
}) {
  const result: LoadResult = { accepted: [], refused: {}, attempts: 0 };
  let stopping = false;
  let next = 0;
  const loop = async () => {
    while (!stopping) {
      const i = next++;
      const severity = i % 2 === 0 ? 'High' : 'Low';
      const ips = options.ips(i);
      const started = performance.now();
      result.attempts++;
      let status: string;
      try {
        const response = await fetch(`${options.url()}/v1/ingest/generic`, {
          method: 'POST',
          headers: { authorization: `Bearer ${options.key}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            title: `${options.title} ${i}`,
            severity: severity.toLowerCase(),
            indicators: ips.map((value) => ({ type: 'ip', value })),
          }),
          signal: AbortSignal.timeout(30_000),
        });
        const text = await response.text();
        status = String(response.status);
        if (response.status === 202) {
          const uuid = (JSON.parse(text) as { data: { alert_uuid: string } }).data.alert_uuid;
          result.accepted.push({ i, uuid, severity, ips });
          options.onAccepted?.(performance.now() - started);
        }
      } catch (error) {
        const cause = (error as { cause?: { code?: string } }).cause;
        status = cause?.code ?? (error instanceof Error ? error.name : 'error');
      }
      if (status !== '202') {
        result.refused[status] = (result.refused[status] ?? 0) + 1;
        options.onRefused?.(status, performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 100));
      } else if (options.pauseMs > 0) {
        await new Promise((resolve) => setTimeout(resolve, options.pauseMs));
      }
    }
  };
  const loops = Array.from({ length: options.loops }, () => loop());
  return {
    result,
    async stop(): Promise<LoadResult> {
      stopping = true;
      await Promise.all(loops);
      return result;
    },
  };
}

// ------------------------------------------------------------------------------------- end state

const OPEN_JOBS = `SELECT count(*)::int AS n FROM pgboss.job
  WHERE name IN ('enrich-alert', 'dispatch-agent') AND state IN ('created', 'retry', 'active')`;

/**
 * Quiescent: every accepted alert has finished enrichment (`enriched_at` set, not Pending), no
 * enrich/dispatch job is left to run, and no delivery is still pending or retrying.
 */
export async function waitQuiescent(
  pool: Pool,
  accepted: readonly Sent[],
  timeoutMs: number,
  describe: () => string,
): Promise<number> {
  const started = performance.now();
  const uuids = accepted.map((a) => a.uuid);
  await until(
    'quiescence (every accepted alert enriched, no open job, no open delivery)',
    async () => {
      const { rows } = await pool.query<{ done: number; jobs: number; runs: number }>(
        `SELECT (SELECT count(*)::int FROM alerts WHERE uuid = ANY($1::uuid[]) AND enriched_at IS NOT NULL
                   AND enrichment_status <> 'Pending') AS done,
                (${OPEN_JOBS}) AS jobs,
                (SELECT count(*)::int FROM agent_runs WHERE status NOT IN ('delivered', 'failed', 'cancelled')) AS runs`,
        [uuids],
      );
      const row = rows[0];
      return row && row.done === uuids.length && row.jobs === 0 && row.runs === 0 ? true : undefined;
    },
    {
      timeoutMs,
      everyMs: 250,
      describe: () => {
        void pool
          .query(`SELECT name, state, count(*)::int AS n FROM pgboss.job GROUP BY 1, 2 ORDER BY 1, 2`)
          .then(({ rows }) => process.stderr.write(`jobs at timeout: ${JSON.stringify(rows)}\n`))
          .catch(() => undefined);
        return describe();
      },
    },
  );
  return (performance.now() - started) / 1000;
}

export interface Invariants {
  alerts: number;
  statuses: Record<string, number>;
  deliveries: number;
  /** Deliveries received more than once with the same key (allowed: a retry after a crash). */
  repeatedKeys: number;
}

/**
 * What every scenario asserts at quiescence; throws with the list of violations:
 * - every accepted alert exists, once;
 * - its enrichment finished (`statusOk` decides which statuses are truthful here);
 * - no (type, value) indicator twice, no alert linked twice to one indicator, and each alert's
 *   links are exactly the IPs it was sent with;
 * - each alert was delivered to each matching agent (`agents`: name → matches(alert)), by exactly
 *   one delivery row in state `delivered`, and every request the endpoint received for that pair
 *   carried that row's one idempotency key and a valid signature; nobody received an alert it does
 *   not match.
 */
export async function checkInvariants(
  pool: Pool,
  accepted: readonly Sent[],
  endpoint: AgentEndpoint,
  agents: Record<string, (alert: Sent) => boolean>,
  statusOk: (status: string) => boolean,
): Promise<Invariants> {
  const problems: string[] = [];
  const uuids = accepted.map((a) => a.uuid);
  if (new Set(uuids).size !== uuids.length) problems.push('the API returned one alert uuid for two 202s');

  const { rows: alerts } = await pool.query<{
    uuid: string;
    id: number;
    enrichment_status: string;
    enrichment_summary: unknown;
  }>('SELECT uuid, id::int, enrichment_status, enrichment_summary FROM alerts WHERE uuid = ANY($1::uuid[])', [uuids]);
  if (alerts.length !== uuids.length) problems.push(`${uuids.length - alerts.length} accepted alerts are missing`);
  const statuses: Record<string, number> = {};
  for (const a of alerts) {
    statuses[a.enrichment_status] = (statuses[a.enrichment_status] ?? 0) + 1;
    if (!statusOk(a.enrichment_status)) {
      problems.push(`alert ${a.uuid} is ${a.enrichment_status}: ${JSON.stringify(a.enrichment_summary)}`);
    }
  }
  const wrong = alerts.filter((a) => !statusOk(a.enrichment_status)).slice(0, 3);
  if (wrong.length > 0) {
    // What the providers' stored results say, for the report.
    const { rows: results } = await pool.query(
      `SELECT a.uuid, i.value, i.enrichment_results FROM alerts a JOIN alert_indicators ai ON ai.alert_id = a.id
       JOIN indicators i ON i.id = ai.indicator_id WHERE a.id = ANY($1::bigint[])`,
      [wrong.map((a) => a.id)],
    );
    problems.push(`stored results: ${JSON.stringify(results).slice(0, 4_000)}`);
  }

  const { rows: dupIndicators } = await pool.query(
    'SELECT type, value, count(*)::int AS n FROM indicators GROUP BY 1, 2 HAVING count(*) > 1',
  );
  if (dupIndicators.length > 0) problems.push(`duplicate indicators: ${JSON.stringify(dupIndicators.slice(0, 5))}`);
  const { rows: dupLinks } = await pool.query(
    'SELECT alert_id, indicator_id, count(*)::int AS n FROM alert_indicators GROUP BY 1, 2 HAVING count(*) > 1',
  );
  if (dupLinks.length > 0) problems.push(`duplicate alert_indicators: ${JSON.stringify(dupLinks.slice(0, 5))}`);
  const { rows: links } = await pool.query<{ uuid: string; values: string[] }>(
    `SELECT a.uuid, array_agg(i.value ORDER BY i.value) AS values FROM alerts a
     JOIN alert_indicators ai ON ai.alert_id = a.id JOIN indicators i ON i.id = ai.indicator_id
     WHERE a.uuid = ANY($1::uuid[]) GROUP BY a.uuid`,
    [uuids],
  );
  const linked = new Map(links.map((l) => [l.uuid, l.values.join(',')]));
  let wrongLinks = 0;
  for (const a of accepted) {
    if (linked.get(a.uuid) !== [...new Set(a.ips)].sort().join(',')) wrongLinks++;
  }
  if (wrongLinks > 0) problems.push(`${wrongLinks} alerts are not linked to exactly the IPs they were sent with`);

  const { rows: runs } = await pool.query<{ uuid: string; agent: string; status: string; key: string }>(
    `SELECT al.uuid, ag.name AS agent, r.status, r.idempotency_key AS key FROM agent_runs r
     JOIN alerts al ON al.id = r.alert_id JOIN agent_registrations ag ON ag.id = r.agent_registration_id`,
  );
  const runsByPair = new Map<string, typeof runs>();
  for (const r of runs) runsByPair.set(`${r.uuid}|${r.agent}`, [...(runsByPair.get(`${r.uuid}|${r.agent}`) ?? []), r]);
  const receivedByPair = new Map<string, Delivery[]>();
  for (const d of endpoint.deliveries) {
    if (!d.signatureOk) problems.push(`delivery ${d.deliveryId} to ${d.agent} has a bad signature`);
    const pair = `${d.alertUuid}|${d.agent}`;
    receivedByPair.set(pair, [...(receivedByPair.get(pair) ?? []), d]);
  }
  let missing = 0;
  let repeatedKeys = 0;
  const bad: string[] = [];
  for (const a of accepted) {
    for (const [agent, matches] of Object.entries(agents)) {
      const pair = `${a.uuid}|${agent}`;
      const pairRuns = runsByPair.get(pair) ?? [];
      const got = receivedByPair.get(pair) ?? [];
      if (!matches(a)) {
        if (pairRuns.length > 0 || got.length > 0) bad.push(`${agent} got ${a.uuid}, which it does not match`);
        continue;
      }
      if (got.length === 0) missing++;
      if (pairRuns.length !== 1 || pairRuns[0]?.status !== 'delivered') {
        bad.push(`${pair}: delivery rows ${JSON.stringify(pairRuns.map((r) => r.status))}`);
      }
      const keys = new Set(got.map((d) => d.idempotencyKey));
      if (keys.size > 1) bad.push(`${pair}: ${keys.size} different idempotency keys`);
      if (pairRuns[0] && got.length > 0 && !keys.has(pairRuns[0].key)) bad.push(`${pair}: key differs from the row's`);
      repeatedKeys += Math.max(0, got.length - 1);
    }
  }
  if (missing > 0) problems.push(`${missing} (alert, agent) deliveries never arrived`);
  if (bad.length > 0) problems.push(`${bad.length} delivery problems, e.g. ${bad.slice(0, 5).join('; ')}`);
  if (problems.length > 0) throw new Error(`invariants violated:\n- ${problems.join('\n- ')}`);
  return { alerts: alerts.length, statuses, deliveries: endpoint.deliveries.length, repeatedKeys };
}

/**
 * The environment of every Calseta process of a scenario. `jobExpireSeconds`: how long a job held by
 * a killed process stays active before it is retried (default 5 min; the crash scenarios use 10 s,
 * which also lets a job that legitimately runs longer be run twice — at-least-once, as after a crash).
 */
export function appEnv(
  databaseUrl: string,
  providerEnv: Record<string, string>,
  allowHosts: string[],
  jobExpireSeconds?: number,
) {
  return {
    ...providerEnv,
    DATABASE_URL: databaseUrl,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    // Any free port for the ops listener: several processes of a kind share this host.
    OPS_PORT: '0',
    SSRF_ALLOWED_HOSTS: [providerEnv.SSRF_ALLOWED_HOSTS, ...allowHosts].filter(Boolean).join(','),
    ALERT_DEDUP_WINDOW_HOURS: '0',
    DB_POOL_SIZE: '6',
    // A delivery waits at most 4 s between attempts: the same code path on a test's time scale.
    AGENT_RETRY_CAP_SECONDS: '4',
    ...(jobExpireSeconds === undefined ? {} : { JOB_EXPIRE_SECONDS: String(jobExpireSeconds) }),
  } satisfies Record<string, string>;
}

// ------------------------------------------------------------------------------------- randomness

/**
 * The scenario's random numbers, from a seed: `CHAOS_SEED` when set (to replay a run), else a fresh
 * one. The seed is printed first thing, so a red run can be replayed with the same kill schedule.
 */
export function chaosRandom(scenario: string): { seed: number; random: () => number } {
  // biome-ignore lint/style/noProcessEnv: the replay switch of the chaos suite, read by the test itself
  const given = process.env.CHAOS_SEED;
  const seed = given !== undefined && given !== '' ? Number(given) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  process.stderr.write(`[chaos ${scenario}] CHAOS_SEED=${seed} (set it to replay this schedule)\n`);
  // mulberry32: small, fast and good enough for a schedule.
  let state = seed;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return { seed, random };
}

// ------------------------------------------------------------------------------------- failures

/** The one provider failure a kill or an outage may cause: the coalescer's shared call lost (its `failure_reason`). */
export const KILL_FAILURE_REASON: FailureReason = 'shared_call_lost';

export interface ProviderFailure {
  uuid: string;
  provider: string;
  value: string;
  /** The result's `failure_reason` (what the check switches on) and `error_message` (for the report). */
  reason: string | null;
  error: string | null;
  /** When the alert's enrichment finished (ms since the epoch). */
  enrichedAt: number;
}

/** Every `failed` provider result stored for the accepted alerts. */
export async function providerFailures(pool: Pool, accepted: readonly Sent[]): Promise<ProviderFailure[]> {
  const { rows } = await pool.query<Omit<ProviderFailure, 'enrichedAt'> & { at: Date }>(
    `SELECT a.uuid, r.key AS provider, i.value, r.value->>'failure_reason' AS reason,
            r.value->>'error_message' AS error, a.enriched_at AS at
     FROM alerts a JOIN alert_indicators ai ON ai.alert_id = a.id JOIN indicators i ON i.id = ai.indicator_id,
          jsonb_each(i.enrichment_results) r
     WHERE a.uuid = ANY($1::uuid[]) AND r.value->>'status' = 'failed'`,
    [accepted.map((a) => a.uuid)],
  );
  return rows.map((r) => ({ ...r, enrichedAt: new Date(r.at).getTime() }));
}

/**
 * Failures the scenario's events (kills, an outage: epoch ms) can explain, and nothing else: each
 * is the coalescer's shared call lost with its owner (`failure_reason`), its alert finished within
 * `withinMs` after one of the events, and no more alerts are affected than there were events. Returns
 * the violations (empty when every failure is explained).
 */
export function unexplainedFailures(failures: readonly ProviderFailure[], events: readonly number[], withinMs: number) {
  const problems: string[] = [];
  for (const f of failures) {
    if (f.reason !== KILL_FAILURE_REASON) {
      problems.push(`${f.provider} ${f.value} on ${f.uuid}: not a failure a kill causes: ${f.reason}: ${f.error}`);
    } else if (!events.some((at) => f.enrichedAt >= at && f.enrichedAt - at <= withinMs)) {
      problems.push(
        `${f.provider} ${f.value} on ${f.uuid}: finished ${new Date(f.enrichedAt).toISOString()}, not close to a kill`,
      );
    }
  }
  const alerts = new Set(failures.map((f) => f.uuid)).size;
  if (alerts > events.length)
    problems.push(`${alerts} alerts with failed providers, more than the ${events.length} kills`);
  return problems;
}
