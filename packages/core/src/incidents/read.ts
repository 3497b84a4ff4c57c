import type { Db } from '@calseta/db';
import {
  type AlertFinding,
  type AlertSeverity,
  type AlertStatus,
  type CloseClassification,
  INCIDENT_DETAIL_MAX_ALERTS,
  type Incident,
  type IncidentEvent,
  type IncidentListQuery,
  type IncidentMember,
  type IncidentMembershipReason,
  type IncidentSharedEntity,
  type IncidentSummary,
  type IndicatorType,
  type MaliceLevel,
  type PageQuery,
} from '@calseta/schema';
import { sql } from 'kysely';
import { SUMMARY_COLUMNS, toSummary } from '../alerts/read.js';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound } from '../infra/errors.js';
import { csv, iso, type Page, paginate } from '../infra/serialize.js';
import { severityRank } from './rows.js';

export const INCIDENT_COLUMNS = [
  'incidents.id',
  'incidents.uuid',
  'incidents.title',
  'incidents.severity',
  'incidents.severity_override',
  'incidents.status',
  'incidents.close_classification',
  'incidents.alert_count',
  'incidents.first_alert_at',
  'incidents.last_alert_at',
  'incidents.acknowledged_at',
  'incidents.triaged_at',
  'incidents.closed_at',
  'incidents.created_at',
  'incidents.updated_at',
  'merged.uuid as merged_into_uuid',
] as const;

type IncidentRow = {
  id: number;
  uuid: string;
  title: string;
  severity: string;
  severity_override: string | null;
  status: string;
  close_classification: string | null;
  alert_count: number;
  first_alert_at: Date | null;
  last_alert_at: Date | null;
  acknowledged_at: Date | null;
  triaged_at: Date | null;
  closed_at: Date | null;
  created_at: Date;
  updated_at: Date;
  merged_into_uuid: string | null;
};

export function toIncidentSummary(row: IncidentRow): IncidentSummary {
  return {
    uuid: row.uuid,
    title: row.title,
    severity: row.severity as AlertSeverity,
    severity_override: row.severity_override as AlertSeverity | null,
    status: row.status as AlertStatus,
    close_classification: row.close_classification as CloseClassification | null,
    alert_count: row.alert_count,
    first_alert_at: iso(row.first_alert_at),
    last_alert_at: iso(row.last_alert_at),
    merged_into_uuid: row.merged_into_uuid,
    acknowledged_at: iso(row.acknowledged_at),
    triaged_at: iso(row.triaged_at),
    closed_at: iso(row.closed_at),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

const incidentsWithMerged = (db: Db) =>
  db.selectFrom('incidents').leftJoin('incidents as merged', 'merged.id', 'incidents.merged_into_id');

/** `LIKE` pattern matching `text` literally (its wildcards escaped): no pattern is built from input. */
function containsPattern(text: string): string {
  return `%${text.replaceAll('\\', '\\\\').replaceAll('%', '\\%').replaceAll('_', '\\_')}%`;
}

/** `GET /v1/incidents`: filters like the alert list, newest first by default. */
export async function listIncidents(
  ctx: ServiceContext,
  query: IncidentListQuery & PageQuery,
): Promise<Page<IncidentSummary>> {
  authorize(ctx, 'incidents:read');
  let base = incidentsWithMerged(ctx.db);
  const statuses = csv(query.status);
  if (statuses) base = base.where('incidents.status', 'in', statuses);
  const severities = csv(query.severity);
  if (severities) base = base.where('incidents.severity', 'in', severities);
  if (query.from_time) base = base.where('incidents.created_at', '>=', new Date(query.from_time));
  if (query.to_time) base = base.where('incidents.created_at', '<=', new Date(query.to_time));
  if (query.q) base = base.where('incidents.title', 'ilike', containsPattern(query.q));
  if (query.alert_uuid) {
    const alertUuid = query.alert_uuid;
    base = base.where('incidents.id', 'in', (eb) =>
      eb
        .selectFrom('incident_alerts')
        .innerJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
        .select('incident_alerts.incident_id')
        .where('alerts.uuid', '=', alertUuid),
    );
  }
  const direction = query.sort_order ?? 'desc';
  const sortBy = query.sort_by ?? 'created_at';
  return paginate(
    base,
    query,
    (q) => {
      const rows = q.select(INCIDENT_COLUMNS);
      const sorted =
        sortBy === 'severity'
          ? rows.orderBy(severityRank('incidents.severity'), direction)
          : sortBy === 'created_at'
            ? rows
            : rows.orderBy(`incidents.${sortBy}`, (ob) => (direction === 'asc' ? ob.asc() : ob.desc()).nullsLast());
      return sorted.orderBy('incidents.created_at', direction).orderBy('incidents.id', direction);
    },
    toIncidentSummary,
  );
}

export async function incidentByUuid(db: Db, uuid: string) {
  const row = await incidentsWithMerged(db)
    .select(INCIDENT_COLUMNS)
    .where('incidents.uuid', '=', uuid)
    .executeTakeFirst();
  if (!row) throw notFound('Incident');
  return row;
}

const seconds = (later: Date | null, earlier: Date | null) =>
  later && earlier ? Math.max(0, (later.getTime() - earlier.getTime()) / 1000) : null;

/** Entities on two or more members, with their verdicts (most shared first, at most 200). */
async function sharedEntities(db: Db, incidentId: number): Promise<IncidentSharedEntity[]> {
  const rows = await db
    .selectFrom('incident_alerts as m')
    .innerJoin('alert_indicators as ai', 'ai.alert_id', 'm.alert_id')
    .innerJoin('indicators as i', 'i.id', 'ai.indicator_id')
    .innerJoin('alerts as a', 'a.id', 'm.alert_id')
    .select([
      'i.uuid',
      'i.type',
      'i.value',
      'i.malice',
      (eb) => eb.fn.countAll<string>().as('n'),
      sql<string[]>`(array_agg(a.uuid ORDER BY a.occurred_at, a.id))[1:50]`.as('alert_uuids'),
    ])
    .where('m.incident_id', '=', incidentId)
    .groupBy(['i.id', 'i.uuid', 'i.type', 'i.value', 'i.malice'])
    .having((eb) => eb.fn.countAll(), '>', 1)
    .orderBy('n', 'desc')
    .orderBy('i.id')
    .limit(200)
    .execute();
  return rows.map((r) => ({
    type: r.type as IndicatorType,
    value: r.value,
    indicator_uuid: r.uuid,
    malice: r.malice as MaliceLevel,
    alert_count: Number(r.n),
    alert_uuids: r.alert_uuids,
  }));
}

async function membersOf(db: Db, incidentId: number): Promise<IncidentMember[]> {
  const rows = await db
    .selectFrom('incident_alerts')
    .innerJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
    .select([
      ...SUMMARY_COLUMNS,
      'incident_alerts.reason',
      'incident_alerts.pinned',
      'incident_alerts.added_by',
      'incident_alerts.created_at as added_at',
    ])
    .where('incident_alerts.incident_id', '=', incidentId)
    .orderBy('alerts.occurred_at', 'desc')
    .orderBy('alerts.id', 'desc')
    .limit(INCIDENT_DETAIL_MAX_ALERTS)
    .execute();
  return rows.map((r) => ({
    ...toSummary(r),
    membership: {
      reason: r.reason as unknown as IncidentMembershipReason,
      pinned: r.pinned,
      added_by: r.added_by as 'correlation' | 'analyst',
      added_at: iso(r.added_at),
    },
  }));
}

/** One incident with its members, shared entities and metrics. */
export async function loadIncident(db: Db, uuid: string): Promise<Incident> {
  const row = await incidentByUuid(db, uuid);
  const [alerts, shared, findings, firstMember] = await Promise.all([
    membersOf(db, row.id),
    sharedEntities(db, row.id),
    db
      .selectFrom('incident_findings')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('incident_id', '=', row.id)
      .executeTakeFirstOrThrow(),
    db
      .selectFrom('incident_alerts')
      .innerJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
      .select(['alerts.occurred_at', 'alerts.created_at'])
      .where('incident_alerts.incident_id', '=', row.id)
      .where('alerts.occurred_at_inferred', '=', false)
      .orderBy('alerts.occurred_at')
      .limit(1)
      .executeTakeFirst(),
  ]);
  return {
    ...toIncidentSummary(row),
    alerts,
    shared_entities: shared,
    metrics: {
      time_to_detect_seconds: seconds(firstMember?.created_at ?? null, firstMember?.occurred_at ?? null),
      time_to_acknowledge_seconds: seconds(row.acknowledged_at, row.created_at),
      time_to_close_seconds: seconds(row.closed_at, row.created_at),
    },
    finding_count: Number(findings.n),
  };
}

/** `GET /v1/incidents/{uuid}`. */
export async function getIncident(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<Incident> {
  authorize(ctx, 'incidents:read');
  return loadIncident(ctx.db, uuid);
}

/** `GET /v1/incidents/{uuid}/timeline`: oldest first. */
export async function listIncidentTimeline(
  ctx: ServiceContext,
  { uuid, query }: { uuid: string; query: PageQuery },
): Promise<Page<IncidentEvent>> {
  authorize(ctx, 'incidents:read');
  const { id } = await incidentByUuid(ctx.db, uuid);
  const base = ctx.db
    .selectFrom('incident_events')
    .leftJoin('alerts', 'alerts.id', 'incident_events.alert_id')
    .where('incident_events.incident_id', '=', id);
  return paginate(
    base,
    query,
    (q) =>
      q
        .select([
          'incident_events.uuid',
          'incident_events.event_type',
          'incident_events.actor_type',
          'incident_events.actor_key_prefix',
          'incident_events.references',
          'incident_events.created_at',
          'alerts.uuid as alert_uuid',
        ])
        .orderBy('incident_events.created_at')
        .orderBy('incident_events.id'),
    (r) => ({
      uuid: r.uuid,
      event_type: r.event_type as IncidentEvent['event_type'],
      actor_type: r.actor_type as IncidentEvent['actor_type'],
      actor_key_prefix: r.actor_key_prefix,
      alert_uuid: r.alert_uuid,
      references: (r.references ?? {}) as Record<string, unknown>,
      created_at: iso(r.created_at),
    }),
  );
}

/** `GET /v1/incidents/{uuid}/findings`: oldest first. */
export async function listIncidentFindings(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<AlertFinding[]> {
  authorize(ctx, 'incidents:read');
  const { id } = await incidentByUuid(ctx.db, uuid);
  const rows = await ctx.db
    .selectFrom('incident_findings')
    .selectAll()
    .where('incident_id', '=', id)
    .orderBy('posted_at')
    .orderBy('id')
    .execute();
  return rows.map(toFinding);
}

export function toFinding(r: {
  uuid: string;
  agent_name: string;
  summary: string;
  confidence: string | null;
  recommended_action: string | null;
  evidence: Record<string, unknown> | null;
  posted_by: Record<string, unknown> | null;
  posted_at: Date;
}): AlertFinding {
  return {
    id: r.uuid,
    agent_name: r.agent_name,
    summary: r.summary,
    confidence: r.confidence as AlertFinding['confidence'],
    recommended_action: r.recommended_action,
    evidence: r.evidence,
    posted_at: iso(r.posted_at),
    posted_by: r.posted_by as AlertFinding['posted_by'],
  };
}
