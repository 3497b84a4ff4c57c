/**
 * The ops listener (issue 22): each process (api, worker, mcp) serves `GET /metrics`, `/health/live`
 * and `/health/ready` on a port of its own (`OPS_PORT`, on `OPS_HOST`), apart from the API and MCP
 * ports. The worker has no other HTTP server; scrapers and orchestrators need no API key; and the
 * port can stay inside the cluster network while the API is public (docs/operations.md).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';
import type { Logger } from '../logger.js';
import { renderMetrics } from './metrics.js';

/** Default ops ports, one per kind of process, so the three can share one host. */
export const OPS_DEFAULT_PORTS = Object.freeze({ api: 9464, worker: 9465, mcp: 9466 });

/** `OPS_HOST` and `OPS_PORT` (`off` disables the listener, 0 takes a free port) for an app's env schema. */
export function opsEnvShape(defaultPort: number) {
  return {
    /** Loopback by default: metrics describe the deployment. Set 0.0.0.0 for a scraper on another host. */
    OPS_HOST: z.string().min(1).default('127.0.0.1'),
    OPS_PORT: z.union([z.literal('off'), z.coerce.number().int().min(0).max(65535)]).default(defaultPort),
  };
}

export interface OpsServerOptions {
  host: string;
  port: number | 'off';
  logger: Logger;
  /** `/health/ready`: 200 when `status` is `ready`, else 503; the object is the JSON body either way. */
  ready: () => Promise<{ status: string }>;
  /** `/metrics` (default: this process's registry). */
  metrics?: () => Promise<{ contentType: string; body: string }>;
}

export interface OpsServer {
  /** The bound port (useful with `OPS_PORT=0`). */
  readonly port: number;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json; charset=utf-8';

function send(res: http.ServerResponse, status: number, type: string, body: string, headOnly: boolean): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(body),
  });
  res.end(headOnly ? undefined : body);
}

/**
 * Start the ops listener. A port that cannot be bound (already in use: another process of the same
 * kind on this host) is logged as an error and the process runs on without it (resolves undefined):
 * the work matters more than its dashboard, and the failing readiness probe shows the problem.
 */
export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer | undefined> {
  const { port: wanted, host } = options;
  if (wanted === 'off') return undefined;
  const metrics = options.metrics ?? renderMetrics;
  const { logger } = options;

  const server = http.createServer((req, res) => {
    const headOnly = req.method === 'HEAD';
    if (req.method !== 'GET' && !headOnly) {
      res.setHeader('allow', 'GET, HEAD');
      send(res, 405, JSON_TYPE, '{"error":"method not allowed"}', false);
      return;
    }
    const path = (req.url ?? '/').split('?', 1)[0];
    const answer = async (): Promise<void> => {
      switch (path) {
        case '/health/live':
          return send(res, 200, JSON_TYPE, '{"status":"ok"}', headOnly);
        case '/health/ready': {
          const readiness = await options.ready();
          return send(res, readiness.status === 'ready' ? 200 : 503, JSON_TYPE, JSON.stringify(readiness), headOnly);
        }
        case '/metrics': {
          const { contentType, body } = await metrics();
          return send(res, 200, contentType, body, headOnly);
        }
        default:
          return send(res, 404, JSON_TYPE, '{"error":"not found"}', headOnly);
      }
    };
    answer().catch((error: unknown) => {
      logger.warn({ err: error, path }, 'ops endpoint failed');
      if (!res.headersSent) send(res, 500, JSON_TYPE, '{"error":"internal"}', headOnly);
      else res.destroy();
    });
  });
  // Scrapers keep connections open; a slow or idle client must not hold a socket for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;

  const bound = await new Promise<boolean>((resolve) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      logger.error(
        { err: error, ops_host: host, ops_port: wanted },
        'ops endpoints (/metrics, /health/live, /health/ready) not served: cannot bind OPS_HOST:OPS_PORT',
      );
      resolve(false);
    });
    server.listen(wanted, host, () => resolve(true));
  });
  if (!bound) return undefined;

  const port = (server.address() as AddressInfo).port;
  // No "listening" and no `port` field: test harnesses wait for the app's own listening line.
  logger.info({ ops_host: host, ops_port: port }, `ops endpoints on http://${host}:${port}/metrics`);
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
