import { createDb, migrationNames } from '@calseta/db';
import { createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_INTEGRATIONS } from '../infra/integrations.js';
import { JOB_NAMES } from '../infra/jobs/catalogue.js';
import { JobQueue } from '../infra/jobs/queue.js';
import { createLogger } from '../infra/logger.js';
import { createTestCore, type TestCore } from '../testing/index.js';
import { checkReadiness, readinessStatus } from './readiness.js';

const silent = createLogger({ service: 'test', level: 'silent' });
let core: TestCore;
beforeAll(async () => {
  core = await createTestCore({ integrations: NO_INTEGRATIONS, startQueue: true });
});
afterAll(() => core?.close());

describe('checkReadiness', () => {
  it('a migrated database with the queue installed is ready: every check ok', async () => {
    const readiness = await checkReadiness(core.deps);
    expect(readiness).toEqual({
      status: 'ready',
      failing: [],
      checks: { database: { status: 'ok' }, migrations: { status: 'ok' }, queue: { status: 'ok' } },
    });
    expect(readinessStatus(readiness)).toBe(200);
  });

  describe('before migrations are applied', () => {
    let database: TestDatabase;
    beforeAll(async () => {
      database = await createTestDatabase();
    });
    afterAll(() => database.drop());

    it('a migration this build knows and the database has not recorded: 503 naming it', async () => {
      const latest = migrationNames().at(-1) as string;
      await sql`DELETE FROM kysely_migration WHERE name = ${latest}`.execute(database.db);
      const readiness = await checkReadiness({ db: database.db, queue: core.deps.queue });
      expect(readinessStatus(readiness)).toBe(503);
      expect(readiness.failing).toEqual(['migrations']);
      expect(readiness.checks.migrations).toEqual({ status: 'fail', reason: `pending: ${latest}` });
    });

    it('an empty database (no migration table): every migration pending', async () => {
      await sql`DROP TABLE kysely_migration`.execute(database.db);
      const readiness = await checkReadiness({ db: database.db, queue: core.deps.queue });
      expect(readiness.failing).toEqual(['migrations']);
      expect(readiness.checks.migrations).toEqual({
        status: 'fail',
        reason: `pending: ${migrationNames().join(', ')}`,
      });
    });

    it('a migration applied by a newer build does not make this one unready', async () => {
      const other = await createTestDatabase();
      try {
        await sql`INSERT INTO kysely_migration (name, timestamp) VALUES ('9999_from_the_future', now())`.execute(
          other.db,
        );
        expect((await checkReadiness({ db: other.db, queue: core.deps.queue })).status).toBe('ready');
      } finally {
        await other.drop();
      }
    });
  });

  it('the database unreachable: 503 naming database and migrations', async () => {
    const { db } = createDb({ url: 'postgres://calseta:secret@127.0.0.1:1/none', max: 1 });
    try {
      const readiness = await checkReadiness({ db, queue: core.deps.queue });
      expect(readinessStatus(readiness)).toBe(503);
      expect(readiness.failing).toEqual(['database', 'migrations']);
      expect(readiness.checks.database).toEqual({ status: 'fail', reason: 'unreachable' });
      expect(readiness.checks.queue).toEqual({ status: 'ok' });
    } finally {
      await db.destroy();
    }
  });

  it('a queue whose schema is gone: 503 naming queue', async () => {
    const database = await createTestDatabase();
    const queue = new JobQueue({ url: database.url, logger: silent, maxConnections: 1 });
    try {
      await queue.start();
      await sql`DROP SCHEMA pgboss CASCADE`.execute(database.db);
      const readiness = await checkReadiness({ db: database.db, queue });
      expect(readiness.failing).toEqual(['queue']);
      expect(readiness.checks.queue).toEqual({ status: 'fail', reason: 'schema missing' });
    } finally {
      await queue.stop();
      await database.drop();
    }
  });
});

describe("a worker's readiness follows its job loops", () => {
  it('not consuming before work(), every queue while working, none once stopping (even while draining)', async () => {
    // A second process's queue on the same database: the worker.
    const queue = new JobQueue({ url: core.databaseUrl, logger: silent, maxConnections: 2 });
    const worker = { db: core.deps.db, queue };
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    let stopped: Promise<void> | undefined;
    try {
      await queue.start();
      const before = await checkReadiness(worker, { consumes: JOB_NAMES });
      expect(before.failing).toEqual(['consuming']);
      expect(before.checks.consuming).toEqual({ status: 'fail', reason: `not consuming: ${JOB_NAMES.join(', ')}` });

      for (const name of JOB_NAMES) {
        await queue.work(name, {
          concurrency: 1,
          handler: async () => {
            started();
            await held;
          },
        });
      }
      const working = await checkReadiness(worker, { consumes: JOB_NAMES });
      expect(working).toMatchObject({ status: 'ready', checks: { consuming: { status: 'ok' } } });
      // Without `consumes` (the API, MCP) there is no such check.
      expect((await checkReadiness(worker)).checks).not.toHaveProperty('consuming');

      // A job in flight: stop() drains it, and meanwhile the process takes no new job.
      await queue.send('enrich-alert', { alert_id: 1, reason: 'ingest' });
      await running;
      stopped = queue.stop();
      const draining = await checkReadiness(worker, { consumes: JOB_NAMES });
      expect(draining.failing).toEqual(['consuming']);
      expect(draining.checks.consuming).toEqual({ status: 'fail', reason: `not consuming: ${JOB_NAMES.join(', ')}` });
    } finally {
      release();
      await (stopped ?? queue.stop());
    }
  });
});
