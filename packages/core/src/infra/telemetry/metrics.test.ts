import { createRequire } from 'node:module';
import { createDb } from '@calseta/db';
import { createTestDatabase } from '@calseta/db/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobOutcome } from '../jobs/queue.js';
import { JobQueue } from '../jobs/queue.js';
import { createLogger } from '../logger.js';
import { metricsRegistry, observeDbPool, observePendingApprovals, renderMetrics } from './metrics.js';

/** pg-boss's own statements (the supervisor's expiry), to expire a job exactly as it does. */
const plans = createRequire(import.meta.url)('pg-boss/src/plans.js') as {
  failJobsByTimeout(schema: string): string;
};

/** A series' value in the exposition text (`name{labels}`, labels as rendered), or undefined. */
async function scraped(series: string): Promise<number | undefined> {
  const { body } = await renderMetrics();
  const line = body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

let database: Awaited<ReturnType<typeof createTestDatabase>>;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => database.drop());

const logger = createLogger({ service: 'test', level: 'silent' });

describe('queue metrics', () => {
  it('depth and oldest due age per kind are read from pg-boss at scrape time', async () => {
    const queue = new JobQueue({ url: database.url, logger, maxConnections: 2 });
    await queue.start();
    try {
      await queue.send('sweep-approvals', {}, { startAfterSeconds: 3600 });
      const id = await queue.send('notify-approval', { approval_id: 1, event: 'requested' });
      await queue.send('notify-approval', { approval_id: 2, event: 'requested' });
      await sql`UPDATE pgboss.job SET start_after = now() - interval '90 seconds' WHERE id = ${id}`.execute(
        database.db,
      );

      const stats = await queue.waiting();
      expect(stats.find((s) => s.kind === 'notify-approval')).toMatchObject({ depth: 2 });
      expect(stats.find((s) => s.kind === 'notify-approval')?.oldestAgeSeconds).toBeGreaterThanOrEqual(90);
      // Scheduled for later: waiting, but not yet due, so it has not waited at all.
      expect(stats.find((s) => s.kind === 'sweep-approvals')).toEqual({
        kind: 'sweep-approvals',
        depth: 1,
        oldestAgeSeconds: 0,
      });
      expect(stats.find((s) => s.kind === 'execute-workflow')).toEqual({
        kind: 'execute-workflow',
        depth: 0,
        oldestAgeSeconds: 0,
      });
      expect(await scraped('calseta_queue_depth{kind="notify-approval"}')).toBe(2);
      expect(await scraped('calseta_queue_oldest_job_age_seconds{kind="notify-approval"}')).toBeGreaterThanOrEqual(90);
    } finally {
      await queue.stop();
    }
  });

  it('a job taken again after pg-boss expired it counts one retry and one expiration', async () => {
    const queue = new JobQueue({ url: database.url, logger, maxConnections: 2 });
    await queue.start();
    try {
      await sql`DELETE FROM pgboss.job`.execute(database.db); // the previous test's
      const id = await queue.send('notify-approval', { approval_id: 3, event: 'decided' });
      // It was taken and then ran past its expiry: pg-boss's supervisor fails it for a retry.
      await sql`UPDATE pgboss.job SET state = 'active', started_on = now() - interval '1 hour' WHERE id = ${id}`.execute(
        database.db,
      );
      await queue.boss.getDb().executeSql(plans.failJobsByTimeout('pgboss'), []);
      const [job] = (await sql<{ state: string }>`SELECT state FROM pgboss.job WHERE id = ${id}`.execute(database.db))
        .rows;
      expect(job?.state).toBe('retry');
      await sql`UPDATE pgboss.job SET start_after = now() - interval '1 second' WHERE id = ${id}`.execute(database.db);

      const before = {
        retries: (await scraped('calseta_queue_retries_total{kind="notify-approval"}')) ?? 0,
        expirations: (await scraped('calseta_queue_expirations_total{kind="notify-approval"}')) ?? 0,
      };
      const done = new Promise<JobOutcome>((resolve) => queue.events.once('completed', resolve));
      await queue.work('notify-approval', { concurrency: 1, handler: async () => {} });
      expect((await done).id).toBe(id);
      expect(await scraped('calseta_queue_retries_total{kind="notify-approval"}')).toBe(before.retries + 1);
      expect(await scraped('calseta_queue_expirations_total{kind="notify-approval"}')).toBe(before.expirations + 1);
      expect(await scraped('calseta_queue_jobs_total{kind="notify-approval",outcome="completed"}')).toBe(1);
    } finally {
      await queue.stop();
    }
  });
});

describe('database pool metrics', () => {
  it('connections in use and idle, and a lost connection counted once', async () => {
    let lost!: () => void;
    const errored = new Promise<void>((resolve) => {
      lost = resolve;
    });
    const { db, pool } = createDb({
      url: database.url,
      max: 3,
      applicationName: 'metrics-pool-test',
      onPoolError: () => lost(),
    });
    const detach = observeDbPool(pool);
    try {
      const client = await pool.connect();
      expect(await scraped('calseta_db_pool_connections{state="in_use"}')).toBe(1);
      client.release();
      expect(await scraped('calseta_db_pool_connections{state="idle"}')).toBe(1);
      expect(await scraped('calseta_db_pool_waiting_requests')).toBe(0);
      const before = (await scraped('calseta_db_pool_errors_total')) ?? 0;
      // The server ends the idle connection (a restart, an admin): pg-pool reports it on the client and the pool.
      await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'metrics-pool-test'`.execute(
        database.db,
      );
      await errored;
      expect(await scraped('calseta_db_pool_errors_total')).toBe(before + 1);
    } finally {
      detach();
      await db.destroy();
    }
  });
});

describe('values read at scrape time', () => {
  it('are read once for several scrapes close together, from the source attached last', async () => {
    let reads = 0;
    const detach = observePendingApprovals(async () => {
      reads += 1;
      return 7;
    });
    try {
      expect(await scraped('calseta_approvals_pending')).toBe(7);
      expect(await scraped('calseta_approvals_pending')).toBe(7);
      await metricsRegistry.getMetricsAsJSON();
      expect(reads).toBe(1);
    } finally {
      detach();
    }
  });
});
