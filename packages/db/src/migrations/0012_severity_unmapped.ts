/**
 * 0012_severity_unmapped — a severity the source sent but no table could read stays visible.
 *
 * - `severity_raw`: the vendor's own value as text (≤ 64 chars), null when the source sent none;
 * - `severity_unmapped`: true when `severity_raw` could not be read (the alert then carries the visible
 *   default severity, Medium, instead of Pending); a partial index serves `?severity_unmapped=true`
 *   and the metrics count, which only ever look at the few unmapped rows.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`ALTER TABLE alerts ADD COLUMN severity_raw text, ADD COLUMN severity_unmapped boolean NOT NULL DEFAULT false`.execute(
    db,
  );
  await sql`CREATE INDEX ix_alerts_severity_unmapped ON alerts (occurred_at DESC, id DESC) WHERE severity_unmapped`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX ix_alerts_severity_unmapped`.execute(db);
  await sql`ALTER TABLE alerts DROP COLUMN severity_unmapped, DROP COLUMN severity_raw`.execute(db);
}
