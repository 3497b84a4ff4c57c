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

test('a lent-out client whose connection dies between queries does not crash the process', async () => {
  const errors: Error[] = [];
  const { db, pool } = createDb({ url, max: 2, onPoolError: (error) => errors.push(error) });
  const client = await pool.connect();
  const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
  // The pool removed its idle listener at checkout; ours must still be there.
  expect(client.listenerCount('error')).toBeGreaterThan(0);
  const killer = new pg.Client({ connectionString: url });
  await killer.connect();
  const died = new Promise<void>((resolve) => client.once('end', () => resolve()));
  await killer.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]);
  await killer.end();
  await died; // the FATAL arrived with no query running: an 'error' event on the client
  expect(errors.some((e) => /terminating connection/.test(e.message))).toBe(true);
  await expect(client.query('SELECT 1')).rejects.toThrow();
  client.release();
  // The pool dropped the dead client and answers with a fresh one.
  expect((await sql<{ one: number }>`SELECT 1 AS one`.execute(db)).rows[0]?.one).toBe(1);
  await db.destroy();
});

test('data statements run as named prepared statements (once per connection); DDL and opt-out do not', async () => {
  const prepared = (db: import('kysely').Kysely<import('./database.js').Database>) =>
    sql<{ statement: string }>`SELECT statement FROM pg_prepared_statements`.execute(db).then((r) => r.rows);
  const on = createDb({ url, max: 1 });
  try {
    await sql`CREATE TABLE IF NOT EXISTS prep_probe (id int)`.execute(on.db);
    for (const id of [1, 2, 3]) await sql`SELECT id FROM prep_probe WHERE id = ${id}`.execute(on.db);
    const statements = (await prepared(on.db)).map((r) => r.statement);
    expect(statements.filter((s) => s.includes('FROM prep_probe WHERE id = $1'))).toHaveLength(1);
    expect(statements.some((s) => s.includes('CREATE TABLE'))).toBe(false);
  } finally {
    await on.db.destroy();
  }
  const off = createDb({ url, max: 1, preparedStatements: false });
  try {
    await sql`SELECT id FROM prep_probe WHERE id = ${1}`.execute(off.db);
    expect((await prepared(off.db)).map((r) => r.statement)).not.toContainEqual(
      expect.stringContaining('FROM prep_probe'),
    );
  } finally {
    await off.db.destroy();
  }
});

test('a prepared statement whose result type a migration changed is re-prepared, not failed forever', async () => {
  // A long-lived worker keeps its connections (and their prepared statements) across a rolling
  // deploy's migration: Postgres then refuses the old plan ("cached plan must not change result type").
  const { db } = createDb({ url, max: 1 });
  try {
    await sql`CREATE TABLE prep_shape (id int)`.execute(db);
    await sql`INSERT INTO prep_shape VALUES (1)`.execute(db);
    const read = () =>
      db
        .selectFrom('prep_shape' as never)
        .selectAll()
        .execute();
    expect(await read()).toEqual([{ id: 1 }]);
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    await other.query('ALTER TABLE prep_shape ADD COLUMN note text');
    await other.end();
    // Outside a transaction the statement is retried unprepared at once; later calls re-prepare.
    expect(await read()).toEqual([{ id: 1, note: null }]);
    expect(await read()).toEqual([{ id: 1, note: null }]);
    // Inside a transaction the error aborts it (nothing can be retried there), but only once.
    await sql`ALTER TABLE prep_shape ADD COLUMN other text`.execute(db);
    const inTrx = () =>
      db.transaction().execute((trx) =>
        trx
          .selectFrom('prep_shape' as never)
          .selectAll()
          .execute(),
      );
    await expect(inTrx()).rejects.toThrow(/cached plan must not change result type/);
    expect(await inTrx()).toEqual([{ id: 1, note: null, other: null }]);
    expect(await read()).toEqual([{ id: 1, note: null, other: null }]);
  } finally {
    await db.destroy();
  }
});

test('a statement of many parameters (a VALUES list of each batch size) is not kept prepared in every backend', async () => {
  const { db } = createDb({ url, max: 1 });
  try {
    await sql`CREATE TABLE prep_rows (a text, b text)`.execute(db);
    for (const n of [2, 40, 41]) {
      const rows = Array.from({ length: n }, (_, i) => ({ a: `a${i}`, b: `b${i}` }));
      await db
        .insertInto('prep_rows' as never)
        .values(rows as never)
        .execute();
    }
    const { rows } = await sql<{ params: number }>`
      SELECT cardinality(parameter_types) AS params FROM pg_prepared_statements
      WHERE statement LIKE 'insert into "prep_rows"%' ORDER BY 1`.execute(db);
    expect(rows.map((r) => r.params)).toEqual([4]); // 80 and 82 parameters: unnamed
  } finally {
    await db.destroy();
  }
});
