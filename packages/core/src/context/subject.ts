import type { Db } from '@calseta/db';
import { sql } from 'kysely';
import { alertMalice } from '../indicators/malice.js';
import type { TargetingSubject } from './targeting.js';

/**
 * The facts of an alert targeting rules test (context documents, agent trigger filters), in one
 * query; null when the alert does not exist.
 */
export async function targetingSubjectOf(db: Db, alertId: number): Promise<TargetingSubject | null> {
  const row = await db
    .selectFrom('alerts')
    .leftJoin('detection_rules', 'detection_rules.id', 'alerts.detection_rule_id')
    .select([
      'alerts.source_name',
      'alerts.severity',
      'alerts.tags',
      'alerts.title',
      'alerts.malice_override',
      'detection_rules.name as rule_name',
      'detection_rules.source_rule_id',
      'detection_rules.mitre_tactics',
      'detection_rules.mitre_techniques',
      sql<string[]>`coalesce((
        SELECT array_agg(i.malice) FROM alert_indicators ai JOIN indicators i ON i.id = ai.indicator_id
        WHERE ai.alert_id = alerts.id), '{}')`.as('maliceLevels'),
      sql<string[]>`coalesce((
        SELECT array_agg(DISTINCT i.type) FROM alert_indicators ai JOIN indicators i ON i.id = ai.indicator_id
        WHERE ai.alert_id = alerts.id), '{}')`.as('indicatorTypes'),
    ])
    .where('alerts.id', '=', alertId)
    .executeTakeFirst();
  if (!row) return null;
  return {
    source_name: row.source_name,
    severity: row.severity,
    tags: row.tags,
    title: row.title,
    malice: alertMalice(
      row.malice_override,
      row.maliceLevels.map((malice) => ({ malice })),
    ),
    detection_rule: [row.rule_name, row.source_rule_id].filter((v): v is string => typeof v === 'string' && v !== ''),
    mitre_tactics: row.mitre_tactics ?? [],
    mitre_techniques: row.mitre_techniques ?? [],
    indicator_types: row.indicatorTypes,
  };
}
