/**
 * 0015_hot_updates — room for the pipeline's updates, uncompressed cache rows, the delivery sweeper's index.
 *
 * - `fillfactor` 80 on the rows the pipeline updates right after inserting them (alerts, indicators,
 *   agent_runs): with free space on the page, an update that changes no indexed column is HOT (no
 *   index entries, no new page). Applies to pages written from now on.
 * - `enrichment_cache.result` stored uncompressed (out of line, STORAGE EXTERNAL): the raw provider
 *   responses it holds are tens of KB each (VirusTotal's per-engine results); compressing every one
 *   cost more Postgres CPU than the rest of an alert's writes, for an unlogged table whose rows live
 *   hours at most.
 * - `ix_agent_runs_delivering`: deliveries claimed for an attempt, by lease end — the sweeper looks
 *   for those whose worker died (lease over) without reading the finished ones.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

const TABLES = ['alerts', 'indicators', 'agent_runs'];

export async function up(db: Kysely<any>): Promise<void> {
  for (const table of TABLES) await sql`ALTER TABLE ${sql.table(table)} SET (fillfactor = 80)`.execute(db);
  await sql`ALTER TABLE enrichment_cache ALTER COLUMN result SET STORAGE EXTERNAL`.execute(db);
  await sql`CREATE INDEX ix_agent_runs_delivering ON agent_runs (next_attempt_at) WHERE status = 'delivering'`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX IF EXISTS ix_agent_runs_delivering`.execute(db);
  await sql`ALTER TABLE enrichment_cache ALTER COLUMN result SET STORAGE EXTENDED`.execute(db);
  for (const table of TABLES) await sql`ALTER TABLE ${sql.table(table)} RESET (fillfactor)`.execute(db);
}
