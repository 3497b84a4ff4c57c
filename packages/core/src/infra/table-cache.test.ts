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
});
