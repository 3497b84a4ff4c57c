/**
 * 0005_enrichment_wiring — what the live enrichment step stores beyond v1: each indicator's verdict
 * explanation and enrichment time, and a provider's negative-cache TTL.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE indicators
      ADD COLUMN malice_explanation jsonb,
      ADD COLUMN enriched_at timestamptz`.execute(db);
  await sql`ALTER TABLE enrichment_providers ADD COLUMN negative_cache_ttl_seconds integer`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE enrichment_providers DROP COLUMN negative_cache_ttl_seconds`.execute(db);
  await sql`ALTER TABLE indicators DROP COLUMN malice_explanation, DROP COLUMN enriched_at`.execute(db);
}
