/**
 * 0004_ingest_claims — dedup by claim row instead of by lock-and-search.
 *
 * `alert_fingerprints` holds, per fingerprint, the alert that currently owns it and when it was
 * claimed. Ingest claims with INSERT … ON CONFLICT: the row lock makes concurrent copies of one
 * alert wait for each other, and the whole new-alert path fits in one statement (no advisory lock,
 * no search over alerts). Deleting the alert releases its claim.
 *
 * Also trims four single-column indexes on low-cardinality alert columns (each insert paid for
 * them; the list endpoint sorts by occurred_at and filters on top of that index) and replaces the
 * status one with (status, occurred_at) for the triage queue.
 *
 * FROZEN once released. Kysely<any> only.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE alert_fingerprints (
      fingerprint text PRIMARY KEY,
      alert_uuid  uuid NOT NULL REFERENCES alerts (uuid) ON DELETE CASCADE,
      claimed_at  timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX ix_alert_fingerprints_alert_uuid ON alert_fingerprints (alert_uuid)`.execute(db);
  // Existing alerts claim their fingerprints (newest alert per fingerprint wins).
  await sql`
    INSERT INTO alert_fingerprints (fingerprint, alert_uuid, claimed_at)
    SELECT DISTINCT ON (fingerprint) fingerprint, uuid, created_at
    FROM alerts WHERE fingerprint IS NOT NULL
    ORDER BY fingerprint, created_at DESC`.execute(db);

  for (const index of [
    'ix_alerts_fingerprint_created_at',
    'ix_alerts_status',
    'ix_alerts_severity',
    'ix_alerts_source_name',
    'ix_alerts_enrichment_status',
  ]) {
    await sql`DROP INDEX ${sql.raw(index)}`.execute(db);
  }
  await sql`CREATE INDEX ix_alerts_status_occurred_at ON alerts (status, occurred_at DESC, id DESC)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX ix_alerts_status_occurred_at`.execute(db);
  await sql`CREATE INDEX ix_alerts_fingerprint_created_at ON alerts (fingerprint, created_at DESC)`.execute(db);
  for (const column of ['status', 'severity', 'source_name', 'enrichment_status']) {
    await sql`CREATE INDEX ${sql.raw(`ix_alerts_${column}`)} ON alerts (${sql.raw(column)})`.execute(db);
  }
  await sql`DROP TABLE alert_fingerprints`.execute(db);
}
