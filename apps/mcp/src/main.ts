import {
  collectProcessMetrics,
  createCore,
  createLogger,
  exitOnConfigError,
  gateOptionsFrom,
  JobQueue,
  probeReadiness,
  sharedCoreConfig,
  startOpsServer,
  startTracing,
  tracingConfigFrom,
} from '@calseta/core';
import { createDb } from '@calseta/db';
import { firstParty } from '@calseta/integrations';
import { serve } from '@hono/node-server';
import { createApp } from './app.js';
import { loadEnv } from './env.js';
import { McpSessions } from './sessions.js';

// Composition root: configuration → database → queue → core → HTTP.
const env = await exitOnConfigError(() => loadEnv());
// Tracing first: the pg and undici instrumentations are in place before the first query or call.
const tracing = startTracing(tracingConfigFrom(env, 'calseta-mcp'));
const logger = createLogger({ service: 'mcp', level: env.LOG_LEVEL });
collectProcessMetrics('mcp');
const { db } = createDb({
  url: env.DATABASE_URL,
  max: env.DB_POOL_SIZE,
  preparedStatements: env.DB_PREPARED_STATEMENTS,
  applicationName: 'calseta-mcp',
});
// The queue is only sent to (workflow runs, re-enrichment); the worker processes it.
const queue = new JobQueue({
  url: env.DATABASE_URL,
  logger,
  supervise: false,
  // Same expiry as the API and worker: starting a queue also (re)writes the queue settings.
  ...(env.JOB_EXPIRE_SECONDS === undefined ? {} : { expireInSeconds: env.JOB_EXPIRE_SECONDS }),
});
await queue.start();
const deps = createCore({
  db,
  queue,
  logger,
  integrations: firstParty,
  config: { ...sharedCoreConfig(env), webhookSecrets: {} },
});

const sessions = new McpSessions({
  maxSessions: env.MCP_MAX_SESSIONS,
  idleMs: env.MCP_SESSION_IDLE_MINUTES * 60_000,
});
await sessions.start(deps);
// /metrics and the probes for scrapers and orchestrators, without an API key (docs/operations.md).
const ops = await startOpsServer({
  host: env.OPS_HOST,
  port: env.OPS_PORT,
  logger,
  ready: () => probeReadiness(deps),
});
const app = createApp(deps, sessions, {
  security: gateOptionsFrom(env),
  maxBodyBytes: Math.round(env.MCP_MAX_BODY_SIZE_MB * 1_048_576),
});
const server = serve({ fetch: app.fetch, hostname: env.MCP_HOST, port: env.MCP_PORT }, (info) => {
  logger.info({ port: info.port, host: env.MCP_HOST }, `Calseta MCP listening on http://localhost:${info.port}/mcp`);
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  server.close();
  await sessions.close();
  await queue.stop();
  await deps.close();
  await db.destroy();
  await ops?.close();
  await tracing.shutdown();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
