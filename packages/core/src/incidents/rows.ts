/** Statements every incident write shares: the timeline row and the members' aggregates. */
import type { Db } from '@calseta/db';
import type { IncidentEventType } from '@calseta/schema';
import { sql } from 'kysely';
import { redact } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { newUuid } from '../infra/ids.js';

export interface IncidentEventInput {
  incidentId: number;
  type: IncidentEventType;
  alertId?: number | null;
  references?: Record<string, unknown>;
}

/** A timeline row, with who acted (never a secret: key prefix and name) and redacted references. */
export function incidentEventRow(ctx: Pick<ServiceContext, 'actor' | 'requestId'>, input: IncidentEventInput) {
  const actor = ctx.actor;
  return {
    uuid: newUuid(),
    incident_id: input.incidentId,
    event_type: input.type,
    actor_type: actor.type,
    actor_key_prefix: actor.type === 'system' ? null : actor.key.prefix,
    actor_key_name: actor.type === 'system' ? null : actor.key.name,
    api_key_id: actor.type === 'system' ? null : actor.key.id,
    request_id: ctx.requestId ?? null,
    alert_id: input.alertId ?? null,
    references: JSON.stringify(redact(input.references ?? {})),
  };
}

/** Rows per INSERT: well under Postgres's 65,535 bind parameters (11 per event). */
const EVENTS_PER_STATEMENT = 1000;

export async function recordIncidentEvents(
  db: Db,
  ctx: Pick<ServiceContext, 'actor' | 'requestId'>,
  events: IncidentEventInput[],
): Promise<void> {
  for (let i = 0; i < events.length; i += EVENTS_PER_STATEMENT) {
    await db
      .insertInto('incident_events')
      .values(events.slice(i, i + EVENTS_PER_STATEMENT).map((e) => incidentEventRow(ctx, e)))
      .execute();
  }
}

/** `= ANY($ids)`: one bind parameter however many ids (an IN list takes one each). */
export const anyId = (ids: readonly number[]) => sql<number>`ANY(${[...ids]}::bigint[])`;

/** AlertSeverity by weight (SEVERITY_WEIGHT), in SQL. */
export const severityRank = (column: string) =>
  sql<number>`CASE ${sql.ref(column)} WHEN 'Critical' THEN 5 WHEN 'High' THEN 4 WHEN 'Medium' THEN 3 WHEN 'Low' THEN 2 WHEN 'Informational' THEN 1 ELSE 0 END`;
const SEVERITY_BY_RANK = (expr: ReturnType<typeof sql>) =>
  sql<string>`(ARRAY['Pending','Informational','Low','Medium','High','Critical'])[${expr} + 1]`;

/**
 * Recount the incidents' members: alert_count, the worst member's severity, first and last alert
 * times (`calseta_refresh_incidents`, migration 0018; its triggers run it when members leave or a
 * member's severity changes). Reads every member, so it serves analyst changes (merge, split, move);
 * correlation adds with `addToAggregates`, which reads only the new members.
 */
export async function refreshAggregates(db: Db, incidentIds: number[]): Promise<void> {
  if (incidentIds.length === 0) return;
  await sql`SELECT calseta_refresh_incidents(${[...new Set(incidentIds)].sort((a, b) => a - b)}::bigint[])`.execute(db);
}

/** Add new members' counts, severity and times to their incidents (members in `alertIds` only). */
export async function addToAggregates(db: Db, alertIds: number[]): Promise<void> {
  if (alertIds.length === 0) return;
  await sql`
    UPDATE incidents i SET
      alert_count = i.alert_count + agg.n,
      alerts_severity = CASE WHEN agg.worst > ${severityRank('i.alerts_severity')}
                             THEN ${SEVERITY_BY_RANK(sql`agg.worst`)} ELSE i.alerts_severity END,
      first_alert_at = LEAST(i.first_alert_at, agg.first_at),
      last_alert_at = GREATEST(i.last_alert_at, agg.last_at)
    FROM (
      SELECT m.incident_id, count(*)::integer AS n, max(${severityRank('a.severity')}) AS worst,
             min(a.occurred_at) AS first_at, max(a.occurred_at) AS last_at
      FROM incident_alerts m JOIN alerts a ON a.id = m.alert_id
      WHERE m.alert_id = ANY(${alertIds}::bigint[])
      GROUP BY m.incident_id
    ) agg
    WHERE i.id = agg.incident_id
  `.execute(db);
}
