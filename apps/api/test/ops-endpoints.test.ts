/**
 * The ops endpoints of real processes (issue 22): the API, the worker and the MCP server run as
 * `pnpm dev` runs them (tsx; the built bundles with OPS_TEST_KIND=dist), each with its ops listener
 * on a free port, against a test database reached through a TCP proxy this test can cut. Checks: /metrics is Prometheus text with the
 * process's `service` label; /health/live answers while the database is down and /health/ready
 * answers 503 naming it, then recovers; a migration the database has not recorded makes every
 * process unready; the worker's readiness includes its job loops. The API's and MCP's own ports
 * answer the same probes.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { createTestCore, type TestCore } from '@calseta/core/testing';
import { createDb, type DbHandle, migrationNames } from '@calseta/db';
import { withTcpAddress } from '@calseta/db/testing';
import { firstParty } from '@calseta/integrations';
import { appArgs, type Proc, ProcessGroup } from '@calseta/process-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const STARTUP_MS = 90_000;
/** The sources through tsx, as `pnpm dev` runs them; `OPS_TEST_KIND=dist` runs the built bundles instead. */
// biome-ignore lint/style/noProcessEnv: a test's switch, not an app setting (apps read env only in env.ts)
const KIND = process.env.OPS_TEST_KIND === 'dist' ? 'dist' : 'tsx';
const CHANGE_MS = 20_000;

/** A TCP proxy to Postgres that can go down (every connection reset, new ones refused) and come back. */
async function databaseProxy(target: URL) {
  const sockets = new Set<net.Socket>();
  let down = false;
  const server = net.createServer((client) => {
    if (down) {
      client.resetAndDestroy();
      return;
    }
    const upstream = net.connect(Number(target.port), target.hostname);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        client.destroy();
        upstream.destroy();
      });
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: withTcpAddress(target.toString(), `127.0.0.1:${(server.address() as net.AddressInfo).port}`),
    down() {
      down = true;
      for (const socket of sockets) socket.resetAndDestroy();
    },
    up() {
      down = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

const procs = new ProcessGroup();
let core: TestCore;
/** This test's own connection, beside the processes' (not through the proxy). */
let admin: DbHandle;
let proxy: Awaited<ReturnType<typeof databaseProxy>>;
/** Each process's ops listener, and the API's and MCP's own ports. */
const ops: Record<'api' | 'worker' | 'mcp', string> = { api: '', worker: '', mcp: '' };
let apiUrl: string;
let mcpUrl: string;

const opsUrl = (proc: Proc) =>
  proc.waitFor(
    `${proc.name} ops endpoints`,
    (_, entry) => (typeof entry?.ops_port === 'number' ? `http://127.0.0.1:${entry.ops_port}` : undefined),
    STARTUP_MS,
  );

beforeAll(async () => {
  // This process creates the queues first (processes creating them at once can deadlock in pg-boss).
  core = await createTestCore({ integrations: firstParty, startQueue: true, seed: true });
  admin = createDb({ url: core.databaseUrl, max: 1 });
  proxy = await databaseProxy(new URL(core.databaseUrl));
  const env = {
    DATABASE_URL: proxy.url,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'info',
    DB_POOL_SIZE: '3',
    OPS_HOST: '127.0.0.1',
    OPS_PORT: '0',
  };
  const api = procs.start({
    name: 'api',
    args: appArgs('api', KIND),
    env: { ...env, API_HOST: '127.0.0.1', API_PORT: '0', LOG_REQUESTS: 'false' },
  });
  const worker = procs.start({
    name: 'worker',
    args: appArgs('worker', KIND),
    env: { ...env, WORKER_CONCURRENCY: '2' },
  });
  const mcp = procs.start({
    name: 'mcp',
    args: appArgs('mcp', KIND),
    env: { ...env, MCP_HOST: '127.0.0.1', MCP_PORT: '0' },
  });
  [ops.api, ops.worker, ops.mcp, apiUrl, mcpUrl] = await Promise.all([
    opsUrl(api),
    opsUrl(worker),
    opsUrl(mcp),
    api.listening(STARTUP_MS),
    mcp.listening(STARTUP_MS),
  ]);
  await worker.waitFor('worker started', (_, entry) => entry?.msg === 'Calseta worker started', STARTUP_MS);
}, STARTUP_MS + 30_000);

afterAll(async () => {
  await procs.stopAll('SIGTERM', 10_000);
  await proxy?.close();
  await admin?.db.destroy();
  await core?.close();
});

type Probe = { status: number; body: { status?: string; failing?: string[]; checks?: Record<string, unknown> } };

async function get(url: string): Promise<Probe> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: (await res.json()) as Probe['body'] };
}

/** Every probe URL: each ops port, plus the API's and MCP's own ports. */
const probeBases = () => [ops.api, ops.worker, ops.mcp, apiUrl, mcpUrl];

/** Wait until every base's /health/ready has `status`; returns the answers. */
function readyEverywhere(status: number, what: string): Promise<Probe[]> {
  return procs.until(
    what,
    async () => {
      const answers = await Promise.all(probeBases().map((base) => get(`${base}/health/ready`)));
      return answers.every((a) => a.status === status) ? answers : undefined;
    },
    { timeoutMs: CHANGE_MS, everyMs: 100 },
  );
}

describe('ops endpoints of real processes', () => {
  it('every process is ready; the worker also reports its job loops, the API and MCP do not', async () => {
    const [api, worker, mcp, apiPort, mcpPort] = await readyEverywhere(200, 'every process ready');
    expect(worker?.body).toMatchObject({ status: 'ready', failing: [], checks: { consuming: { status: 'ok' } } });
    for (const answer of [api, mcp, apiPort, mcpPort]) {
      expect(answer?.body).toEqual({
        status: 'ready',
        failing: [],
        checks: { database: { status: 'ok' }, migrations: { status: 'ok' }, queue: { status: 'ok' } },
      });
    }
  });

  it('/metrics on each ops port is Prometheus text labelled with the process', async () => {
    for (const service of ['api', 'worker', 'mcp'] as const) {
      const res = await fetch(`${ops[service]}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      const text = await res.text();
      expect(text).toMatch(new RegExp(`^process_resident_memory_bytes\\{service="${service}"\\} \\d`, 'm'));
    }
    // Only on the ops port: the API's own port has no /metrics route.
    expect((await fetch(`${apiUrl}/metrics`)).status).toBe(404);
  });

  it('with the database down: live stays 200, ready answers 503 naming the database; both recover', async () => {
    proxy.down();
    try {
      const answers = await readyEverywhere(503, 'every process unready');
      for (const answer of answers) {
        expect(answer.body.status).toBe('not_ready');
        expect(answer.body.failing).toEqual(expect.arrayContaining(['database']));
        expect(answer.body.checks?.database).toEqual({
          status: 'fail',
          reason: expect.stringMatching(/unreachable|timed out/),
        });
      }
      for (const base of probeBases())
        expect(await get(`${base}/health/live`)).toEqual({ status: 200, body: { status: 'ok' } });
    } finally {
      proxy.up();
    }
    await readyEverywhere(200, 'every process ready again');
    expect(procs.unexpectedExits()).toEqual([]);
  });

  it('a migration of this build missing from the database: 503 naming it, until it is recorded', async () => {
    const latest = migrationNames().at(-1) as string;
    const { rows } = await admin.pool.query('DELETE FROM kysely_migration WHERE name = $1 RETURNING timestamp', [
      latest,
    ]);
    try {
      const answers = await readyEverywhere(503, 'every process unready');
      for (const answer of answers) {
        expect(answer.body.failing).toEqual(['migrations']);
        expect(answer.body.checks?.migrations).toEqual({ status: 'fail', reason: `pending: ${latest}` });
      }
    } finally {
      await admin.pool.query('INSERT INTO kysely_migration (name, timestamp) VALUES ($1, $2)', [
        latest,
        rows[0]?.timestamp,
      ]);
    }
    await readyEverywhere(200, 'every process ready again');
  });
});
