// Container health check (the images' HEALTHCHECK): the process is ready (docs/operations.md).
// api and mcp: GET /health/ready on their port (database, migrations, queue); worker: the same on its
// ops port (OPS_PORT, default 9465), which also says whether its job loops run; web: GET /healthz.
// cli, or a worker with OPS_PORT=off: healthy while Postgres (DATABASE_URL) accepts connections.
// Exit 0 = healthy, 1 = not.
import net from 'node:net';

// biome-ignore lint/style/noProcessEnv: a standalone container script, not an app (no env.ts)
const env = process.env;
const TIMEOUT_MS = 4_000;

const urls = {
  api: `http://127.0.0.1:${env.API_PORT ?? '8000'}/health/ready`,
  mcp: `http://127.0.0.1:${env.MCP_PORT ?? '8001'}/health/ready`,
  worker: env.OPS_PORT === 'off' ? undefined : `http://127.0.0.1:${env.OPS_PORT ?? '9465'}/health/ready`,
  web: `http://127.0.0.1:${env.WEB_PORT ?? '5173'}/healthz`,
};

async function httpOk(url) {
  const response = await fetch(url, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  return response.ok;
}

/** Whether Postgres accepts connections: on TCP, or on its Unix socket when the URL names one (`?host=/dir`). */
function postgresOpen(databaseUrl) {
  const { hostname, port, searchParams } = new URL(databaseUrl);
  const host = searchParams.get('host') ?? hostname;
  const target = host.startsWith('/')
    ? { path: `${host}/.s.PGSQL.${port || 5432}` }
    : { host, port: Number(port || 5432) };
  return new Promise((resolve) => {
    const socket = net.connect({ ...target, timeout: TIMEOUT_MS });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

const app = env.CALSETA_APP ?? '';
const url = env.HEALTHCHECK_URL ?? urls[app];
const healthy = url
  ? await httpOk(url).catch(() => false)
  : env.DATABASE_URL
    ? await postgresOpen(env.DATABASE_URL)
    : false;
process.exit(healthy ? 0 : 1);
