/**
 * 0022_cache_raw_apart — a cached answer and its raw provider response in separate columns.
 *
 * Every reader of answers (the engine's cache hits, the pipeline's prefetch, the coalescer's waiters)
 * wants the answer without the raw response; only the indicator detail wants the raw one. In one
 * `result` column, reading the answer detoasted tens of KB per row (VirusTotal's per-engine results)
 * and rebuilt the jsonb without them — the costliest read of an alert's enrichment. Now `result`
 * holds the answer with `raw: null` (small, stored inline) and `raw` the response as JSON text
 * (uncompressed, out of line, as `result` was by 0015: an unlogged table whose rows live hours at
 * most). Text, not jsonb: Postgres never looks inside a raw response, and building jsonb from every
 * written one cost more than the rest of the cache write.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE enrichment_cache ADD COLUMN raw text`.execute(db);
  await sql`ALTER TABLE enrichment_cache ALTER COLUMN raw SET STORAGE EXTERNAL`.execute(db);
  await sql`ALTER TABLE enrichment_cache ALTER COLUMN result SET STORAGE EXTENDED`.execute(db);
  await sql`
    UPDATE enrichment_cache SET raw = (result->'raw')::text, result = jsonb_set(result, '{raw}', 'null'::jsonb)
    WHERE result ? 'raw' AND result->'raw' <> 'null'::jsonb`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`UPDATE enrichment_cache SET result = jsonb_set(result, '{raw}', raw::jsonb) WHERE raw IS NOT NULL`.execute(
    db,
  );
  await sql`ALTER TABLE enrichment_cache ALTER COLUMN result SET STORAGE EXTERNAL`.execute(db);
  await sql`ALTER TABLE enrichment_cache DROP COLUMN raw`.execute(db);
}
