import { createDb, type Db, migrateToLatest } from '@calseta/db';
import { createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { Notifications } from './notifications.js';
import { TABLE_CHANGED_CHANNEL, TableCache } from './table-cache.js';

const logger = createLogger({ service: 'test', level: 'silent' });

describe('TableCache (real Postgres, migration 0016 triggers)', () => {
  let database: TestDatabase;
  let db: Db;
  let notifications: Notifications;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ url: database.url, max: 2 }).db;
    await migrateToLatest(db);
    notifications = new Notifications(database.url, logger);
  });
  afterAll(async () => {
    await notifications.stop();
    await db.destroy();
    await database.drop();
  });

  /** Resolves on the next change notification of `table` this test's own listener receives. */
  const changeOf = (table: string) =>
    new Promise<void>((resolve) => {
      void notifications.listen(TABLE_CHANGED_CHANNEL, (payload) => {
        if (payload === table) resolve();
      });
    });

  it('keeps a load until its table changes, by any writer; then loads again', async () => {
    const cache = new TableCache(notifications);
    let loads = 0;
    const names = () =>
      cache.get('workflows', 'names', async () => {
        loads++;
        const { rows } = await sql<{ name: string }>`SELECT name FROM workflows ORDER BY name`.execute(db);
        return rows.map((r) => r.name);
      });
    await cache.ready;
    await names();
    await names();
    const before = loads;
    expect(await names()).toEqual(await names());
    expect(loads).toBe(before); // served from memory

    const changed = changeOf('workflows');
    await sql`UPDATE workflows SET updated_at = now() WHERE false`.execute(db); // a statement, even of no row
    await changed;
    await names();
    expect(loads).toBe(before + 1);
  });

  it('a change of another table leaves the entry alone', async () => {
    const cache = new TableCache(notifications);
    await cache.ready;
    let loads = 0;
    const load = () => cache.get('workflows', 'n', async () => ++loads);
    await load();
    await load();
    const changed = changeOf('context_documents');
    await sql`UPDATE context_documents SET updated_at = now() WHERE false`.execute(db);
    await changed;
    expect(await load()).toBe(1);
    expect(loads).toBe(1);
  });
  it('serves nothing from memory while its listener is lost (changes made meanwhile are not notified)', async () => {
    const lost: Array<() => void> = [];
    const sink = {
      write: (line: string) => {
        if (line.includes('notification listener lost')) for (const f of lost.splice(0)) f();
      },
    };
    const own = new Notifications(database.url, createLogger({ service: 'test', level: 'warn', destination: sink }));
    try {
      const cache = new TableCache(own);
      await cache.ready;
      let loads = 0;
      const load = () => cache.get('workflows', 'n', async () => ++loads);
      await load();
      expect(await load()).toBe(1);
      const gone = new Promise<void>((resolve) => lost.push(resolve));
      await sql`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
        WHERE application_name = 'calseta-listen' AND datname = current_database()`.execute(db);
      await gone;
      // An agent deactivated now would not be heard of: it must be read, not remembered.
      expect(await load()).toBe(2);
      expect(await load()).toBe(3);
    } finally {
      await own.stop();
    }
  });
});
