/**
 * 0014_alert_verdict — the alert list shows, filters and sorts by the verdict, with the indicator count.
 *
 * An alert's verdict is the analyst's override, else its worst indicator's verdict. Both parts are kept
 * on the row so the list reads them for free and an index walks them:
 *
 * - `indicators_malice_rank`: the worst linked indicator's weight (MALICE_WEIGHT: Pending 0, Unknown 1,
 *   Context 2, Benign 3, Suspicious 4, Malicious 5), and `indicator_count`, both maintained by
 *   statement-level triggers on `alert_indicators` (links added or removed) and `indicators` (a
 *   verdict changed), which lock the affected alerts in id order (no deadlock between two batches);
 * - `malice_rank`: generated, the override's weight when set, else `indicators_malice_rank`; indexed
 *   like the other sort keys of 0010 (rank, occurred_at, id, one direction), so `sort_by=malice` and a
 *   one-level `malice=` filter are index walks.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

const rank = (column: string) =>
  sql.raw(
    `CASE ${column} WHEN 'Malicious' THEN 5 WHEN 'Suspicious' THEN 4 WHEN 'Benign' THEN 3 WHEN 'Context' THEN 2 WHEN 'Unknown' THEN 1 WHEN 'Pending' THEN 0 END`,
  );

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE alerts
      ADD COLUMN indicators_malice_rank integer NOT NULL DEFAULT 0,
      ADD COLUMN indicator_count integer NOT NULL DEFAULT 0,
      ADD COLUMN malice_rank integer NOT NULL GENERATED ALWAYS AS (COALESCE(${rank('malice_override')}, indicators_malice_rank)) STORED
  `.execute(db);
  await sql`
    CREATE FUNCTION calseta_refresh_alert_verdicts(ids bigint[]) RETURNS void LANGUAGE sql AS $$
      WITH locked AS (SELECT id FROM alerts WHERE id = ANY(ids) ORDER BY id FOR UPDATE),
      agg AS (
        SELECT l.id,
               COALESCE(max(${rank('i.malice')}), 0)::integer AS worst,
               count(ai.id)::integer AS n
        FROM locked l
        LEFT JOIN alert_indicators ai ON ai.alert_id = l.id
        LEFT JOIN indicators i ON i.id = ai.indicator_id
        GROUP BY l.id
      )
      UPDATE alerts a SET indicators_malice_rank = agg.worst, indicator_count = agg.n
      FROM agg
      WHERE a.id = agg.id AND (a.indicators_malice_rank, a.indicator_count) IS DISTINCT FROM (agg.worst, agg.n)
    $$
  `.execute(db);
  await sql`
    CREATE FUNCTION calseta_alert_links_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF TG_OP = 'INSERT' THEN
        PERFORM calseta_refresh_alert_verdicts(ARRAY(SELECT DISTINCT alert_id FROM new_links));
      ELSE
        PERFORM calseta_refresh_alert_verdicts(ARRAY(SELECT DISTINCT alert_id FROM old_links));
      END IF;
      RETURN NULL;
    END $$
  `.execute(db);
  await sql`
    CREATE TRIGGER trg_alert_indicators_insert_verdict AFTER INSERT ON alert_indicators
    REFERENCING NEW TABLE AS new_links FOR EACH STATEMENT EXECUTE FUNCTION calseta_alert_links_changed()
  `.execute(db);
  await sql`
    CREATE TRIGGER trg_alert_indicators_delete_verdict AFTER DELETE ON alert_indicators
    REFERENCING OLD TABLE AS old_links FOR EACH STATEMENT EXECUTE FUNCTION calseta_alert_links_changed()
  `.execute(db);
  await sql`
    CREATE FUNCTION calseta_indicator_verdicts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM calseta_refresh_alert_verdicts(ARRAY(
        SELECT DISTINCT ai.alert_id
        FROM new_rows n JOIN old_rows o ON o.id = n.id AND o.malice IS DISTINCT FROM n.malice
        JOIN alert_indicators ai ON ai.indicator_id = n.id
      ));
      RETURN NULL;
    END $$
  `.execute(db);
  await sql`
    CREATE TRIGGER trg_indicators_update_verdict AFTER UPDATE ON indicators
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION calseta_indicator_verdicts_changed()
  `.execute(db);
  await sql`SELECT calseta_refresh_alert_verdicts(ARRAY(SELECT id FROM alerts))`.execute(db);
  await sql`CREATE INDEX ix_alerts_malice_rank_occurred_at ON alerts (malice_rank DESC, occurred_at DESC, id DESC)`.execute(
    db,
  );
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER trg_indicators_update_verdict ON indicators`.execute(db);
  await sql`DROP TRIGGER trg_alert_indicators_delete_verdict ON alert_indicators`.execute(db);
  await sql`DROP TRIGGER trg_alert_indicators_insert_verdict ON alert_indicators`.execute(db);
  await sql`DROP FUNCTION calseta_indicator_verdicts_changed()`.execute(db);
  await sql`DROP FUNCTION calseta_alert_links_changed()`.execute(db);
  await sql`DROP FUNCTION calseta_refresh_alert_verdicts(bigint[])`.execute(db);
  await sql`ALTER TABLE alerts DROP COLUMN malice_rank, DROP COLUMN indicator_count, DROP COLUMN indicators_malice_rank`.execute(
    db,
  );
}
