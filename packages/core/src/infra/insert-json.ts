import type { Db } from '@calseta/db';
import { type RawBuilder, sql } from 'kysely';

/**
 * INSERT `rows` (objects with the same keys, named as the table's columns) through one jsonb
 * parameter: one statement text whatever the number of rows, so it stays a prepared statement (a
 * multi-row VALUES list is a new text for every count, and @calseta/db runs those unnamed). Rows go
 * in the order given. `tail`: ON CONFLICT and RETURNING. Table and column names come from the
 * caller's code, never from input.
 */
export function insertJson<R>(
  db: Db,
  table: string,
  rows: ReadonlyArray<Record<string, unknown>>,
  tail: RawBuilder<unknown> = sql``,
) {
  return insertJsonStatement<R>(table, rows, tail).execute(db);
}

/**
 * {@link insertJson}'s statement, unexecuted: e.g. a data-modifying `WITH` member of a larger
 * statement. `columns` (default: the first row's keys) lets a statement that may have no rows stay valid.
 */
export function insertJsonStatement<R>(
  table: string,
  rows: ReadonlyArray<Record<string, unknown>>,
  tail: RawBuilder<unknown> = sql``,
  columnNames: readonly string[] = Object.keys(rows[0] ?? {}),
): RawBuilder<R> {
  const columns = sql.join(columnNames.map((column) => sql.ref(column)));
  return sql<R>`
    INSERT INTO ${sql.table(table)} (${columns})
    SELECT ${columns} FROM jsonb_populate_recordset(NULL::${sql.table(table)}, ${JSON.stringify(rows)}::jsonb)
    ${tail}`;
}
