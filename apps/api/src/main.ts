import {
  collectProcessMetrics,
  createCore,
  createLogger,
  exitOnConfigError,
  installPluginProviders,
  JobQueue,
  loadPlugins,
  probeReadiness,
  seedSystemRows,
  sharedCoreConfig,
  startOpsServer,
  startTracing,
  tracingConfigFrom,
} from '@calseta/core';
import { createDb } from '@calseta/db';
import { firstParty } from '@calseta/integrations';
import { serve } from '@hono/node-server';
import { createApp } from './app.js';
import { loadEnv, securityOptions, webhookSecrets } from './env.js';

// Composition root: configuration → database → queue → core → HTTP.
const env = await exitOnConfigError(() => loadEnv());
// Tracing first: the pg and undici instrumentations are in place before the first query or call.
const tracing = startTracing(tracingConfigFrom(env, 'calseta-api'));
const logger = createLogger({ service: 'api', level: env.LOG_LEVEL });
collectProcessMetrics('api');
const { db } = createDb({
  url: env.DATABASE_URL,
  max: env.DB_POOL_SIZE,
  preparedStatements: env.DB_PREPARED_STATEMENTS,
  applicationName: 'calseta-api',
});
const queue = new JobQueue({
  url: env.DATABASE_URL,
  logger,
  supervise: false,
  ...(env.JOB_EXPIRE_SECONDS === undefined ? {} : { expireInSeconds: env.JOB_EXPIRE_SECONDS }),
});
await queue.start();
const plugins = await exitOnConfigError(() => loadPlugins(env.CALSETA_PLUGINS, { logger }));
const deps = createCore({
  db,
  queue,
  logger,
  integrations: firstParty,
  plugins,
  config: { ...sharedCoreConfig(env), webhookSecrets: webhookSecrets(env) },
});
await seedSystemRows(deps);
await installPluginProviders(deps, plugins);
// /metrics and the probes for scrapers and orchestrators, without an API key (docs/operations.md).
const ops = await startOpsServer({
  host: env.OPS_HOST,
  port: env.OPS_PORT,
  logger,
  ready: () => probeReadiness(deps),
});

const app = createApp(deps, {
  version: env.APP_VERSION,
  maxIngestBytes: env.MAX_INGEST_PAYLOAD_SIZE_MB * 1_048_576,
  maxBodyBytes: env.MAX_REQUEST_BODY_SIZE_MB * 1_048_576,
  logRequests: env.LOG_REQUESTS,
  security: securityOptions(env),
});
const server = serve({ fetch: app.fetch, hostname: env.API_HOST, port: env.API_PORT }, (info) => {
  logger.info(
    { port: info.port, host: env.API_HOST },
    `Calseta API listening on http://localhost:${info.port} (docs at /docs)`,
  );
});

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  server.close();
  await queue.stop();
  await deps.close();
  await db.destroy();
  await ops?.close();
  await tracing.shutdown();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
