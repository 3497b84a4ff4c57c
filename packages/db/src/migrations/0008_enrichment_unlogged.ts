/**
 * 0008_enrichment_unlogged — the enrichment cache, in-flight claims and rate state become UNLOGGED:
 * they are derived, short-lived data, so their writes need no WAL and their commits no fsync (the
 * benchmark showed four fsync'd commits per provider call). After a crash Postgres empties them:
 * the cache refills, claims were stale anyway, and rate windows restart.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

const TABLES = ['enrichment_cache', 'enrichment_inflight', 'provider_rate_state'];

export async function up(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) await sql`ALTER TABLE ${sql.table(table)} SET UNLOGGED`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) await sql`ALTER TABLE ${sql.table(table)} SET LOGGED`.execute(db);
}
