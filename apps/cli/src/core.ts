import { type CoreConfig, type CoreDeps, createCore, createLogger, JobQueue, seedSystemRows } from '@calseta/core';
import { createDb } from '@calseta/db';
import { firstParty } from '@calseta/integrations';

/**
 * Core dependencies for a CLI command: database, queue (whose start installs the pg-boss schema)
 * and the system rows. `close()` releases everything.
 */
export async function openCore(
  url: string,
  {
    logLevel = 'warn',
    logTo = 'stdout',
    config,
  }: { logLevel?: string; logTo?: 'stdout' | 'stderr'; config?: Partial<CoreConfig> } = {},
): Promise<{ deps: CoreDeps; close(): Promise<void> }> {
  const logger = createLogger({ service: 'cli', level: logLevel, destination: logTo });
  const { db } = createDb({ url, max: 4, applicationName: 'calseta-cli' });
  const queue = new JobQueue({ url, logger, supervise: false, maxConnections: 2 });
  await queue.start();
  const deps = createCore({
    db,
    queue,
    logger,
    integrations: firstParty,
    config: { dedupWindowHours: 24, webhookSecrets: {}, ...config },
  });
  await seedSystemRows(deps);
  return {
    deps,
    close: async () => {
      await queue.stop();
      await deps.close();
      await db.destroy();
    },
  };
}
