/**
 * 0023_deferred_alert_verdicts — the pipeline writes an alert's verdict columns itself.
 *
 * 0014's statement-level triggers keep `alerts.indicators_malice_rank` and `indicator_count` right
 * whenever links or verdicts change. For the pipeline's commit that meant three versions of each alert
 * row per enrichment — links inserted (trigger), verdicts stored (trigger: the rank changes, an indexed
 * column, so every index of `alerts` gets a new entry), then the enrichment status — where one will
 * do. A transaction that sets `calseta.alert_verdicts = 'deferred'` (SET LOCAL) takes the triggers'
 * job on itself: it writes both columns in its own update of the alerts it holds and refreshes the
 * other alerts whose indicators changed verdict (packages/core/src/pipeline/commit-alert.ts). Every
 * other writer (the API, workflows, analysts) keeps the triggers.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

const DEFERRED = `IF current_setting('calseta.alert_verdicts', true) = 'deferred' THEN RETURN NULL; END IF;`;

/** 0014's two trigger functions, with `guard` first in each (empty: 0014's own). */
async function triggerFunctions(db: Kysely<any>, guard: string): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION calseta_alert_links_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      ${sql.raw(guard)}
      IF TG_OP = 'INSERT' THEN
        PERFORM calseta_refresh_alert_verdicts(ARRAY(SELECT DISTINCT alert_id FROM new_links));
      ELSE
        PERFORM calseta_refresh_alert_verdicts(ARRAY(SELECT DISTINCT alert_id FROM old_links));
      END IF;
      RETURN NULL;
    END $$
  `.execute(db);
  await sql`
    CREATE OR REPLACE FUNCTION calseta_indicator_verdicts_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      ${sql.raw(guard)}
      PERFORM calseta_refresh_alert_verdicts(ARRAY(
        SELECT DISTINCT ai.alert_id
        FROM new_rows n JOIN old_rows o ON o.id = n.id AND o.malice IS DISTINCT FROM n.malice
        JOIN alert_indicators ai ON ai.indicator_id = n.id
      ));
      RETURN NULL;
    END $$
  `.execute(db);
}

export async function up(db: Kysely<any>): Promise<void> {
  await triggerFunctions(db, DEFERRED);
}

export async function down(db: Kysely<any>): Promise<void> {
  await triggerFunctions(db, '');
}
