import type { Db } from '@calseta/db';
import { sql } from 'kysely';
import type { StoredIndicator } from './enrich-alert.js';

/** What the pipeline reads of an alert: its payload to extract from and the facts agents are matched on. */
export async function loadAlert(db: Db, alertId: number) {
  const alert = await db
    .selectFrom('alerts')
    .leftJoin('detection_rules', 'detection_rules.id', 'alerts.detection_rule_id')
    .select([
      'alerts.id',
      'alerts.uuid',
      'alerts.source_name',
      'alerts.raw_payload',
      'alerts.ingested_at',
      'alerts.enriched_at',
      'alerts.title',
      'alerts.severity',
      'alerts.tags',
      'alerts.malice_override',
      'detection_rules.name as rule_name',
      'detection_rules.source_rule_id',
      'detection_rules.mitre_tactics',
      'detection_rules.mitre_techniques',
    ])
    .where('alerts.id', '=', alertId)
    .executeTakeFirst();
  return alert ?? null;
}

export type LoadedAlert = NonNullable<Awaited<ReturnType<typeof loadAlert>>>;

/** A stored indicator with its link to this alert (null: not linked yet) and its uuid. */
export interface LinkedIndicator extends StoredIndicator {
  uuid: string | null;
  link_id: number | null;
  source_field: string | null;
}

/**
 * In one statement: the indicators linked to the alert, and those of `extracted` that exist already
 * (linked or not), in id order.
 */
export async function storedIndicators(
  db: Db,
  alertId: number,
  extracted: ReadonlyArray<{ type: string; value: string }>,
): Promise<LinkedIndicator[]> {
  const { rows } = await sql<LinkedIndicator>`
    WITH wanted AS (
      SELECT indicator_id AS id FROM alert_indicators WHERE alert_id = ${alertId}
      UNION
      SELECT i.id FROM unnest(${extracted.map((e) => e.type)}::text[], ${extracted.map((e) => e.value)}::text[]) AS x(type, value)
      JOIN indicators i ON i.type = x.type AND i.value = x.value
    )
    SELECT i.id, i.uuid, i.type, i.value, i.enrichment_results, i.malice_source, i.malice, i.malice_overridden_at,
      i.malice_explanation, i.is_enriched, ai.id AS link_id, ai.source_field
    FROM wanted w JOIN indicators i ON i.id = w.id
    LEFT JOIN alert_indicators ai ON ai.alert_id = ${alertId} AND ai.indicator_id = i.id
    ORDER BY i.id`.execute(db);
  return rows;
}
