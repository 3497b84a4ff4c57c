import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, expect, inject, test } from 'vitest';
import { createDb, migrateToLatest } from './create-db.js';

const adminUrl = inject('pgAdminUrl');
const name = `t_${inject('pgRunId')}_conflict`;
const url = (() => {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
})();

async function admin(statement: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(statement.replace('$name', client.escapeIdentifier(name)));
  } finally {
    await client.end();
  }
}

beforeAll(() => admin('CREATE DATABASE $name TEMPLATE template0'));
afterAll(() => admin('DROP DATABASE IF EXISTS $name WITH (FORCE)'));

test('db.destroy() ends the pool, even when Kysely never ran a query', async () => {
  const used = createDb({ url });
  await sql`select 1`.execute(used.db);
  await used.db.destroy();
  expect(used.pool.ended).toBe(true);

  const unused = createDb({ url });
  await unused.db.destroy();
  expect(unused.pool.ended).toBe(true);
  await unused.db.destroy(); // second call is harmless
});

test('application name and pool size are applied', async () => {
  const { db, pool } = createDb({ url, max: 3, applicationName: 'calseta-test-app' });
  try {
    const { rows } = await sql<{ name: string }>`select current_setting('application_name') as name`.execute(db);
    expect(rows[0]?.name).toBe('calseta-test-app');
    expect(pool.options.max).toBe(3);
  } finally {
    await db.destroy();
  }
});

test('a failing migration names the migration and keeps the cause', async () => {
  const { db } = createDb({ url });
  try {
    await sql`create table detection_rules (id int)`.execute(db);
    const error = await migrateToLatest(db).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toMatch(/^Database migration "0001_core" failed: .*already exists/);
    expect(error?.cause).toBeInstanceOf(Error);
    // Nothing was applied: on Postgres the whole migration run is one transaction.
    const { rows } = await sql<{ n: number }>`select count(*) as n from kysely_migration`.execute(db);
    expect(rows[0]?.n).toBe(0);
  } finally {
    await db.destroy();
  }
});
