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

describe('JobQueue.stop while Postgres shuts down beside it', () => {
  it('connections Postgres ends while the queue stops are logged as expected, not as queue errors', async () => {
    // `pnpm start`'s Ctrl-C reaches the embedded Postgres too: it ends every connection (57P01)
    // while the apps stop their queues. Before, each app logged it as a `queue error`; the job it
    // interrupts (its completion's connection ended) is retried, and said so at warn.
    type Line = { level: number; msg: string; err?: { message?: string } };
    const lines: Line[] = [];
    const waits: Array<{ match: (line: Line) => boolean; resolve: () => void }> = [];
    /** Resolves at the first line (already written or to come) that matches. */
    const logged = (match: (line: Line) => boolean) =>
      lines.some(match) ? Promise.resolve() : new Promise<void>((resolve) => waits.push({ match, resolve }));
    const logger = createLogger({
      service: 'test',
      level: 'debug',
      destination: {
        write: (text: string) => {
          const line = JSON.parse(text) as Line;
          lines.push(line);
          for (const w of waits) if (w.match(line)) w.resolve();
        },
      },
    });
    // A queue of the tests above may still hold a connection: each part ends only its own queue's.
    const pgBossPids = async () =>
      (
        await sql<{ pid: number }>`SELECT pid FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'pgboss'`.execute(database.db)
      ).rows.map((r) => r.pid);
    const endNew = async (earlier: Set<number>) => {
      const pids = (await pgBossPids()).filter((pid) => !earlier.has(pid));
      expect(pids.length).toBeGreaterThan(0);
      await sql`SELECT pg_terminate_backend(pid) FROM unnest(${pids}::int[]) AS pid`.execute(database.db);
    };

    const earlier = new Set(await pgBossPids());
    const queue = new JobQueue({ url: database.url, logger, maxConnections: 2 });
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => (started = resolve));
    await queue.start();
    await queue.work('enrich-alert', {
      concurrency: 1,
      handler: async () => {
        started();
        await held;
      },
    });
    await queue.send('enrich-alert', { alert_id: 1, reason: 'ingest' });
    await running;
    const stopped = queue.stop(); // waits for the running job: the queue's connections stay open
    await endNew(earlier);
    await logged((l) => /terminating connection/.test(l.err?.message ?? '') || /ended a queue connection/.test(l.msg));
    release();
    await stopped;
    expect(lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([]);
    expect(lines.map((l) => l.msg)).toContain('the database ended a queue connection while the queue stopped');

    // The same loss while a queue runs is still an error.
    const before = new Set(await pgBossPids());
    const other = new JobQueue({ url: database.url, logger, maxConnections: 2 });
    await other.start();
    await other.send('enrich-alert', { alert_id: 2, reason: 'ingest' }); // a pooled connection, idle now
    try {
      await endNew(before);
      await logged((l) => l.level >= 50 && l.msg === 'queue error');
    } finally {
      await other.stop();
    }
  });
});
