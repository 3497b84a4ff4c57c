// First: heap settings apply before anything else allocates.
import './heap.js';
import {
  APPROVAL_SWEEP_CRON,
  collectProcessMetrics,
  createCore,
  createLogger,
  exitOnConfigError,
  JOB_NAMES,
  JobQueue,
  loadPlugins,
  probeReadiness,
  sharedCoreConfig,
  startOpsServer,
  startTracing,
  tracingConfigFrom,
} from '@calseta/core';
import { createDb } from '@calseta/db';
import { firstParty } from '@calseta/integrations';
import { loadEnv } from './env.js';
import { startWorker } from './worker.js';

// Composition root: configuration → database → queue (supervising) → core → job loops.
const env = await exitOnConfigError(() => loadEnv());
// Tracing first: the pg and undici instrumentations are in place before the first query or call.
const tracing = startTracing(tracingConfigFrom(env, 'calseta-worker'));
const logger = createLogger({ service: 'worker', level: env.LOG_LEVEL });
collectProcessMetrics('worker');
// A job waits for a pooled connection longer than a request would (5 s): under a burst, queueing
// for a connection beats failing the attempt and retrying it.
const { db } = createDb({
  url: env.DATABASE_URL,
  max: env.DB_POOL_SIZE,
  preparedStatements: env.DB_PREPARED_STATEMENTS,
  // The pipeline's statements are set-based, of fixed shape: one generic plan each.
  genericPlans: env.DB_PREPARED_STATEMENTS,
  applicationName: 'calseta-worker',
  connectionTimeoutMillis: 30_000,
});
const queue = new JobQueue({
  url: env.DATABASE_URL,
  logger,
  supervise: true,
  ...(env.JOB_EXPIRE_SECONDS === undefined ? {} : { expireInSeconds: env.JOB_EXPIRE_SECONDS }),
});
await queue.start();
// Plugin sources: the pipeline re-normalizes alerts with the source that ingested them.
const plugins = await exitOnConfigError(() => loadPlugins(env.CALSETA_PLUGINS, { logger }));
const deps = createCore({
  db,
  queue,
  logger,
  integrations: firstParty,
  plugins,
  config: { ...sharedCoreConfig(env), webhookSecrets: {} },
});
// The worker's only port: /metrics and the probes; ready once every queue's loop runs, not while draining.
const ops = await startOpsServer({
  host: env.OPS_HOST,
  port: env.OPS_PORT,
  logger,
  ready: () => probeReadiness(deps, { consumes: JOB_NAMES }),
});
await startWorker(deps, env.WORKER_CONCURRENCY);
// Expire stale approval requests every minute (pg-boss cron: one schedule however many workers).
await queue.boss.schedule('sweep-approvals', APPROVAL_SWEEP_CRON, {});
logger.info({ concurrency: env.WORKER_CONCURRENCY }, 'Calseta worker started');

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'draining and shutting down');
  await queue.stop();
  await deps.close();
  await db.destroy();
  await ops?.close();
  await tracing.shutdown();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
