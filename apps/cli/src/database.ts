import { createDb, migrateToLatest, runningEmbeddedPostgresUrl, startEmbeddedPostgres } from '@calseta/db';
import type { Env } from './env.js';

export interface DatabaseHandle {
  url: string;
  /** Where it came from, for the banner. */
  kind: 'external' | 'embedded' | 'embedded (shared)';
  stop(): Promise<void>;
}

/** DATABASE_URL if set; else the embedded Postgres under the data dir (joined if already running). */
export async function openDatabase(env: Env): Promise<DatabaseHandle> {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, kind: 'external', stop: async () => {} };
  const running = await runningEmbeddedPostgresUrl(env.dataDir);
  if (running) return { url: running, kind: 'embedded (shared)', stop: async () => {} };
  const pg = await startEmbeddedPostgres({ dataDir: env.dataDir });
  return { url: pg.url, kind: 'embedded', stop: () => pg.stop() };
}

/** Bring the schema up to date; returns the migrations applied now. */
export async function migrate(url: string): Promise<string[]> {
  const { db } = createDb({ url, max: 2, applicationName: 'calseta-migrate' });
  try {
    return await migrateToLatest(db);
  } finally {
    await db.destroy();
  }
}
