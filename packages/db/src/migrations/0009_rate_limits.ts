/**
 * 0009_rate_limits — API rate-limit counters (`rate_limit_buckets`, one row per bucket and fixed
 * window, bumped by one atomic upsert per request so every replica shares the budget) become
 * UNLOGGED: they are short-lived, so their writes need no WAL and their commits no fsync. After a
 * crash Postgres empties the table and windows simply restart. The index serves the pruning of
 * finished windows.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE rate_limit_buckets SET UNLOGGED`.execute(db);
  await sql`CREATE INDEX ix_rate_limit_buckets_window_start ON rate_limit_buckets (window_start)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX ix_rate_limit_buckets_window_start`.execute(db);
  await sql`ALTER TABLE rate_limit_buckets SET LOGGED`.execute(db);
}
