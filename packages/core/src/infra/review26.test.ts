// review26 (issue 20 review) of transactionWith (infra/transaction.ts).
import { createDb, type Db } from '@calseta/db';
import { createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { transactionWith } from './transaction.js';

describe('review26: transactionWith when BEGIN; <setup> fails after BEGIN ran', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    // One connection: the one the failed transaction gave back is the next one lent.
    db = createDb({ url: database.url, max: 1 }).db;
  });
  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  // FAILS on the current code: `BEGIN; setup` is awaited outside the try, so when the setup fails
  // (a cancel — pg_cancel_backend, statement_timeout — or any caller's setup that can fail) the
  // transaction BEGIN opened is left aborted on the connection, which goes back to the pool as is:
  // every later statement on it fails with "current transaction is aborted" (25P02) until someone
  // happens to send ROLLBACK. Fix: send ROLLBACK (or release the connection destroyed) on any error
  // after `BEGIN` was sent — e.g. move the first await inside the try.
  it.fails('leaves the pooled connection usable', async () => {
    await expect(transactionWith(db, 'SELECT 1/0', async () => 'never')).rejects.toThrow(/division by zero/);
    const { rows } = await sql<{ n: number }>`SELECT 1 AS n`.execute(db);
    expect(rows[0]?.n).toBe(1);
  });
});
