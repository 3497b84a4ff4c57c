import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  type CoreConfig,
  contextFor,
  createCore,
  createLogger,
  JobQueue,
  parseAllowedHosts,
  providerEnvFrom,
  SYSTEM,
  seedSystemContextDocuments,
  seedSystemDetectionRules,
  seedSystemRows,
} from '@calseta/core';
import { createDb, migrateToLatest, startEmbeddedPostgres } from '@calseta/db';
import { firstParty } from '@calseta/integrations';
import { mockProviderEnv, startMockProviders } from '@calseta/mock-providers';
import { demoDetectionRules, demoRunbooks } from '@calseta/seeds';
import type { Cleanup } from './stack.js';

/**
 * An in-process core for benchmarks that measure the pipeline's output (tokens, incidents): a
 * throwaway embedded Postgres, the mock providers, the demo detection rules and runbooks as
 * `pnpm calseta seed demo` installs them. Everything belongs to `cleanup`.
 */
export async function startDemoCore(
  cleanup: Cleanup,
  name: string,
  options: { allowHosts?: string[]; config?: Partial<CoreConfig> } = {},
) {
  cleanup.tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), `calseta-bench-${name}-`));
  const postgres = await startEmbeddedPostgres({ dataDir: cleanup.tmpDir });
  cleanup.postgres = postgres;
  const { db, pool } = createDb({ url: postgres.url, max: 10, applicationName: 'calseta-bench' });
  cleanup.pools.push(pool);
  await migrateToLatest(db);
  const mock = await startMockProviders({});
  cleanup.destroyers.push(() => mock.close());
  const env = mockProviderEnv(mock);
  const logger = createLogger({ service: 'cli', level: 'warn' });
  const queue = new JobQueue({ url: postgres.url, logger, supervise: false, maxConnections: 4 });
  await queue.start();
  cleanup.destroyers.unshift(() => queue.stop());
  const deps = createCore({
    integrations: firstParty,
    db,
    queue,
    logger,
    config: {
      dedupWindowHours: 0,
      webhookSecrets: {},
      outbound: { allowHosts: [...parseAllowedHosts(env.SSRF_ALLOWED_HOSTS), ...(options.allowHosts ?? [])] },
      enrichment: { providerEnv: providerEnvFrom(env) },
      ...options.config,
    },
  });
  cleanup.destroyers.unshift(() => deps.enrichment.close());
  await seedSystemRows(deps);
  const ctx = contextFor(deps, SYSTEM);
  await seedSystemDetectionRules(ctx, await demoDetectionRules());
  await seedSystemContextDocuments(ctx, await demoRunbooks());
  return { db, deps, ctx, queue };
}
