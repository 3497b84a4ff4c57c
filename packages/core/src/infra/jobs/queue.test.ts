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
    // Workers supervise (pg-boss's start then creates its own cron queue); APIs do not.
    const queues = Array.from(
      { length: 5 },
      (_, i) => new JobQueue({ url: database.url, logger, maxConnections: 2, supervise: i % 2 === 0 }),
    );
    try {
      const started = await Promise.allSettled(queues.map((q) => q.start()));
      expect(started.map((s) => s.status)).toEqual(Array(5).fill('fulfilled'));
      const { rows } = await sql<{ name: string }>`
        SELECT name FROM pgboss.queue WHERE name NOT LIKE '\_\_pgboss%' ORDER BY name`.execute(database.db);
      expect(rows.map((r) => r.name)).toEqual([...JOB_NAMES].sort());
    } finally {
      await Promise.all(queues.map((q) => q.stop()));
    }
  });
});

describe('jobs held by a process that died', () => {
  it('are retried by a sweep once the owner is seen gone twice, never while it lives', async () => {
    const logger = createLogger({ service: 'test', level: 'silent' });
    const owner = new JobQueue({ url: database.url, logger, maxConnections: 2 });
    const other = new JobQueue({ url: database.url, logger, maxConnections: 2 });
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    try {
      await owner.start();
      await other.start();
      const id = await other.send('enrich-alert', { alert_id: 1, reason: 'ingest' });
      await owner.work('enrich-alert', {
        concurrency: 1,
        handler: async () => {
          started();
          await held;
        },
      });
      await running;
      const state = async () =>
        (
          await sql<{ state: string; output: unknown }>`SELECT state, output FROM pgboss.job WHERE id = ${id}`.execute(
            database.db,
          )
        ).rows[0];
      expect(await state()).toEqual({
        state: 'active',
        output: { calseta_owner: String(owner.notifications.livenessId) },
      });
      // Alive: never swept.
      expect(await other.sweepOrphans()).toBe(0);
      expect(await other.sweepOrphans()).toBe(0);
      // Its connection to Postgres ends (as when the process is killed): the lock is gone.
      await owner.notifications.stop();
      expect(await other.sweepOrphans()).toBe(0); // seen gone once
      expect(await other.sweepOrphans()).toBe(1); // twice: retried
      expect((await state())?.state).toBe('retry');
    } finally {
      release();
      await Promise.all([owner.stop(), other.stop()]);
    }
  });
});
