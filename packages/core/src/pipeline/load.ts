import type { Db } from '@calseta/db';
import { sql } from 'kysely';
import { TickBatcher } from '../infra/tick-batcher.js';
import type { StoredIndicator } from './enrich-alert.js';

/** What the pipeline reads of alerts: the payload to extract from and the facts agents are matched on. */
function selectAlerts(db: Db, alertIds: readonly number[]) {
  return db
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
    .where('alerts.id', '=', sql<number>`ANY(${[...alertIds]}::bigint[])`)
    .execute();
}

export type LoadedAlert = Awaited<ReturnType<typeof selectAlerts>>[number];

/** A stored indicator with its link to this alert (null: not linked yet) and its uuid. */
export interface LinkedIndicator extends StoredIndicator {
  uuid: string | null;
  link_id: number | null;
  source_field: string | null;
  last_seen?: Date;
}

interface IndicatorQuery {
  alertId: number;
  extracted: ReadonlyArray<{ type: string; value: string }>;
}

/**
 * The alerts' indicators in one statement: those linked to each alert, and those of its `extracted`
 * that exist already (linked or not), in id order per alert.
 */
async function selectIndicators(db: Db, queries: readonly IndicatorQuery[]): Promise<LinkedIndicator[][]> {
  const wanted = queries.flatMap((q) => q.extracted.map((e) => ({ a: q.alertId, t: e.type, v: e.value })));
  const { rows } = await sql<LinkedIndicator & { alert_id: number }>`
    WITH x AS (SELECT * FROM jsonb_to_recordset(${JSON.stringify(wanted)}::jsonb) AS x(a bigint, t text, v text)),
    wanted AS (
      SELECT alert_id, indicator_id AS id FROM alert_indicators WHERE alert_id = ANY(${queries.map((q) => q.alertId)}::bigint[])
      UNION
      SELECT x.a, i.id FROM x JOIN indicators i ON i.type = x.t AND i.value = x.v
    )
    SELECT w.alert_id, i.id, i.uuid, i.type, i.value, i.enrichment_results, i.malice_source, i.malice,
      i.malice_overridden_at, i.malice_explanation, i.is_enriched, i.last_seen, ai.id AS link_id, ai.source_field
    FROM wanted w JOIN indicators i ON i.id = w.id
    LEFT JOIN alert_indicators ai ON ai.alert_id = w.alert_id AND ai.indicator_id = i.id
    ORDER BY w.alert_id, i.id`.execute(db);
  const byAlert = new Map<number, LinkedIndicator[]>();
  for (const { alert_id, ...indicator } of rows) {
    const list = byAlert.get(Number(alert_id)) ?? [];
    list.push(indicator);
    byAlert.set(Number(alert_id), list);
  }
  return queries.map((q) => byAlert.get(q.alertId) ?? []);
}

interface Loaders {
  alerts: TickBatcher<number, LoadedAlert | null>;
  indicators: TickBatcher<IndicatorQuery, LinkedIndicator[]>;
}

const loaders = new WeakMap<Db, Loaders>();

/**
 * The jobs a worker fetched together start together: their reads of one event-loop turn are one
 * statement each (alerts, indicators), not one per job.
 */
function loadersOf(db: Db): Loaders {
  let found = loaders.get(db);
  if (found === undefined) {
    found = {
      alerts: new TickBatcher(async (ids) => {
        const rows = await selectAlerts(db, [...new Set(ids)]);
        const byId = new Map(rows.map((r) => [Number(r.id), r]));
        return ids.map((id) => byId.get(id) ?? null);
      }),
      indicators: new TickBatcher((queries) => selectIndicators(db, queries)),
    };
    loaders.set(db, found);
  }
  return found;
}

/** The alert as the pipeline reads it, or null when it is gone. */
export function loadAlert(db: Db, alertId: number): Promise<LoadedAlert | null> {
  return loadersOf(db).alerts.submit(alertId);
}

/** The indicators the alert has, and those of `extracted` that exist already, in id order. */
export function storedIndicators(
  db: Db,
  alertId: number,
  extracted: ReadonlyArray<{ type: string; value: string }>,
): Promise<LinkedIndicator[]> {
  return loadersOf(db).indicators.submit({ alertId, extracted });
}
