import { createTestDatabase } from '@calseta/db/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { JOB_NAMES } from './catalogue.js';
import { JobQueue } from './queue.js';

let database: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  database = await createTestDatabase();
  // A database with the pg-boss schema but none of our queues: what a fresh deployment's processes see.
  await sql`SELECT pgboss.delete_queue(name) FROM pgboss.queue`.execute(database.db);
});
afterAll(() => database.drop());

describe('JobQueue.start', () => {
  it('five processes starting together create every queue once, and all start', async () => {
    const logger = createLogger({ service: 'test', level: 'silent' });
    const queues = Array.from({ length: 5 }, () => new JobQueue({ url: database.url, logger, maxConnections: 2 }));
    try {
      const started = await Promise.allSettled(queues.map((q) => q.start()));
      expect(started.map((s) => s.status)).toEqual(Array(5).fill('fulfilled'));
      const { rows } = await sql<{ name: string }>`SELECT name FROM pgboss.queue ORDER BY name`.execute(database.db);
      expect(rows.map((r) => r.name)).toEqual([...JOB_NAMES].sort());
    } finally {
      await Promise.all(queues.map((q) => q.stop()));
    }
  });
});
