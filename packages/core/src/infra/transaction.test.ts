import { createDb, type Db } from '@calseta/db';
import { createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { retryOnDeadlock, transactionWith } from './transaction.js';

describe('transactionWith (real Postgres)', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    // One connection: a transaction left open would be seen by the next test.
    db = createDb({ url: database.url, max: 1 }).db;
    await sql`CREATE TABLE tx_probe (n integer)`.execute(db);
  });
  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  const SETUP = "SELECT set_config('calseta.probe', 'on', true)";
  const setting = (on: Db) =>
    sql<{ v: string | null }>`SELECT current_setting('calseta.probe', true) AS v`.execute(on).then((r) => r.rows[0]?.v);
  const count = async () => (await sql<{ n: number }>`SELECT count(*)::int AS n FROM tx_probe`.execute(db)).rows[0]?.n;

  it('runs the setup inside the transaction and commits what the body wrote', async () => {
    const seen = await transactionWith(db, SETUP, async (trx) => {
      await sql`INSERT INTO tx_probe VALUES (1)`.execute(trx);
      return setting(trx);
    });
    expect(seen).toBe('on');
    expect(await count()).toBe(1);
    // Transaction-local: gone once it ended, on the same (only) connection.
    expect(await setting(db)).toBe('');
  });

  it('rolls back what the body wrote when it throws, and leaves the connection usable', async () => {
    const before = await count();
    await expect(
      transactionWith(db, SETUP, async (trx) => {
        await sql`INSERT INTO tx_probe VALUES (2)`.execute(trx);
        throw new Error('body failed');
      }),
    ).rejects.toThrow('body failed');
    expect(await count()).toBe(before);
    // Not left inside a transaction: a write on the same connection is seen by another at once.
    await sql`INSERT INTO tx_probe VALUES (3)`.execute(db);
    const other = createDb({ url: database.url, max: 1 }).db;
    try {
      const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM tx_probe`.execute(other);
      expect(rows[0]?.n).toBe((before ?? 0) + 1);
    } finally {
      await other.destroy();
    }
  });

  it('rejects when the commit fails (a deferred constraint), writing nothing', async () => {
    await sql`CREATE TABLE tx_parent (id integer PRIMARY KEY)`.execute(db);
    await sql`CREATE TABLE tx_child (parent integer REFERENCES tx_parent DEFERRABLE INITIALLY DEFERRED)`.execute(db);
    await expect(
      transactionWith(db, SETUP, async (trx) => {
        await sql`INSERT INTO tx_child VALUES (42)`.execute(trx);
      }),
    ).rejects.toThrow(/foreign key/);
    const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM tx_child`.execute(db);
    expect(rows[0]?.n).toBe(0);
  });

  it('leaves the pooled connection usable when the setup fails after BEGIN ran', async () => {
    await expect(transactionWith(db, 'SELECT 1/0', async () => 'never')).rejects.toThrow(/division by zero/);
    // The same (only) connection is lent next: not inside an aborted transaction.
    expect(await count()).toBeGreaterThanOrEqual(0);
  });
});

describe('retryOnDeadlock (real Postgres)', () => {
  let database: TestDatabase;
  let db: Db;
  beforeAll(async () => {
    database = await createTestDatabase();
    db = createDb({ url: database.url, max: 4 }).db;
    await sql`CREATE TABLE dl_rows (id integer PRIMARY KEY, n integer NOT NULL DEFAULT 0)`.execute(db);
    await sql`INSERT INTO dl_rows (id) VALUES (1), (2)`.execute(db);
  });
  afterAll(async () => {
    await db.destroy();
    await database.drop();
  });

  const lockWaits = async () =>
    (
      await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND wait_event_type = 'Lock'`.execute(db)
    ).rows[0]?.n ?? 0;
  const bump = (trx: Db, id: number) => sql`UPDATE dl_rows SET n = n + 1 WHERE id = ${id}`.execute(trx);

  /**
   * `first` updates row 1 then row 2; the other transaction row 2 then row 1, and checks for a
   * deadlock only after a minute: `first`'s check (after the default second) finds the cycle and
   * fails `first`.
   */
  async function cycle(run: (first: () => Promise<void>) => Promise<unknown>): Promise<{ attempts: number }> {
    let attempts = 0;
    let otherHolds!: () => void;
    const otherHolding = new Promise<void>((resolve) => (otherHolds = resolve));
    let firstHolds!: () => void;
    const firstHolding = new Promise<void>((resolve) => (firstHolds = resolve));
    const first = () =>
      db.transaction().execute(async (trx) => {
        attempts++;
        await bump(trx, 1);
        firstHolds();
        await otherHolding;
        await bump(trx, 2);
      });
    const other = db.transaction().execute(async (trx) => {
      // Never the one Postgres fails: its own deadlock check would run only after a minute.
      await sql`SET LOCAL deadlock_timeout = '1min'`.execute(trx);
      await bump(trx, 2);
      otherHolds();
      await firstHolding;
      // Asked only once `first` waits for row 2: a cycle, with `first` waiting longest.
      while ((await lockWaits()) < 1) await sql`SELECT 1`.execute(db);
      await bump(trx, 1);
    });
    const outcome = run(first);
    await other;
    await outcome;
    return { attempts };
  }

  it('runs a transaction Postgres failed to break a deadlock again, which then commits', async () => {
    const before = (await sql<{ n: number }>`SELECT sum(n)::int AS n FROM dl_rows`.execute(db)).rows[0]?.n ?? 0;
    const { attempts } = await cycle((first) => retryOnDeadlock(first));
    expect(attempts).toBe(2);
    // Both transactions committed both updates: 4 bumps.
    const after = (await sql<{ n: number }>`SELECT sum(n)::int AS n FROM dl_rows`.execute(db)).rows[0]?.n ?? 0;
    expect(after - before).toBe(4);
  });

  it('without it the same cycle fails with deadlock_detected; other errors are never repeated', async () => {
    await cycle((first) => expect(first()).rejects.toMatchObject({ code: '40P01' }));
    let calls = 0;
    await expect(
      retryOnDeadlock(async () => {
        calls++;
        await sql`SELECT 1/0`.execute(db);
      }),
    ).rejects.toThrow(/division by zero/);
    expect(calls).toBe(1);
  });
});
