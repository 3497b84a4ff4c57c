import type { Db } from '@calseta/db';
import { sql } from 'kysely';

/**
 * A transaction opened together with `setup` — parameterless statements of the caller's code (never
 * input), sent with `BEGIN` as one simple-protocol query: one round trip where Kysely's transaction
 * and a first statement take two. Commits when `fn` resolves, rolls back when it throws.
 */
export function transactionWith<T>(db: Db, setup: string, fn: (trx: Db) => Promise<T>): Promise<T> {
  return db.connection().execute(async (connection) => {
    let result: T;
    try {
      // Inside the try: a setup that fails after BEGIN ran must not leave the transaction open.
      await sql.raw(`BEGIN; ${setup}`).execute(connection);
      result = await fn(connection);
    } catch (error) {
      // ROLLBACK fails only on a broken connection, which the pool drops on release.
      await sql
        .raw('ROLLBACK')
        .execute(connection)
        .catch(() => undefined);
      throw error;
    }
    await sql.raw('COMMIT').execute(connection);
    return result;
  });
}

/** Postgres's `deadlock_detected`: it failed one transaction of a lock cycle so the others go on. */
const DEADLOCK_DETECTED = '40P01';

/**
 * Run `transaction` again when Postgres broke a deadlock by failing it, at most `attempts` times in
 * all. For the few transactions whose lock order cannot be fixed beforehand (rows that other
 * transactions create while they run); `transaction` must open its own transaction, so a repeat
 * starts from a rollback.
 */
export async function retryOnDeadlock<T>(transaction: () => Promise<T>, attempts = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      if (attempt >= attempts || (error as { code?: unknown } | null)?.code !== DEADLOCK_DETECTED) throw error;
    }
  }
}
