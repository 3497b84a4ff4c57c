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
