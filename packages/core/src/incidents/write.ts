/**
 * Analysts' incident writes: triage (status, severity, classification, title), findings, and the
 * membership decisions — move alerts in, split alerts out, merge incidents. Every membership an
 * analyst sets is pinned: correlation never changes it (correlate.ts leaves placed alerts alone).
 * Incidents are locked FOR UPDATE in id order, as correlation locks them, so writes never deadlock.
 */
import type { Db } from '@calseta/db';
import {
  type AlertFinding,
  type FindingCreate,
  FindingCreateSchema,
  type Incident,
  type IncidentAddAlertsRequest,
  IncidentAddAlertsRequestSchema,
  type IncidentMembershipReason,
  type IncidentMergeRequest,
  IncidentMergeRequestSchema,
  type IncidentPatch,
  IncidentPatchSchema,
  type IncidentSplitRequest,
  IncidentSplitRequestSchema,
} from '@calseta/schema';
import { sql } from 'kysely';
import { lifecycleChange } from '../alerts/lifecycle.js';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound, ServiceError, validationError } from '../infra/errors.js';
import { newUuid } from '../infra/ids.js';
import { findingAuthor } from '../metrics/findings.js';
import { loadIncident, toFinding } from './read.js';
import { anyId, type IncidentEventInput, recordIncidentEvents, refreshAggregates } from './rows.js';

type Action = 'merge' | 'split' | 'move';

/** Lock incidents by uuid (id order); NOT_FOUND names the first missing one. */
async function lockByUuid(trx: Db, uuids: string[]) {
  const rows = await trx
    .selectFrom('incidents')
    .select(['id', 'uuid', 'status', 'merged_into_id', 'acknowledged_at', 'closed_at'])
    .where('uuid', 'in', [...new Set(uuids)])
    .orderBy('id')
    .forUpdate()
    .execute();
  const byUuid = new Map(rows.map((r) => [r.uuid, r]));
  for (const uuid of uuids) if (!byUuid.has(uuid)) throw notFound('Incident');
  return byUuid;
}

function analystReason(ctx: ServiceContext, action: Action, detail: string): IncidentMembershipReason {
  const who = ctx.actor.type === 'system' ? 'the system' : `key ${ctx.actor.key.prefix}`;
  return {
    rule: 'analyst',
    entities: [],
    matched_alert_uuid: null,
    detection_rule_uuid: null,
    source_group: null,
    action,
    summary: `${detail} by ${who}.`,
  };
}

/**
 * Pin `alertIds` to incident `targetId` (from wherever they were), recount every incident touched
 * and record both sides on the timelines. Returns the incidents the alerts left.
 */
async function moveInto(
  trx: Db,
  ctx: ServiceContext,
  target: { id: number; uuid: string },
  alertIds: number[],
  reason: IncidentMembershipReason,
): Promise<number[]> {
  if (alertIds.length === 0) return [];
  const before = await trx
    .selectFrom('incident_alerts')
    .innerJoin('incidents', 'incidents.id', 'incident_alerts.incident_id')
    .select(['incident_alerts.alert_id', 'incident_alerts.incident_id', 'incidents.uuid'])
    .where('incident_alerts.alert_id', '=', anyId(alertIds))
    .execute();
  const from = new Map(before.map((b) => [b.alert_id, b]));
  const moving = alertIds.filter((id) => from.get(id)?.incident_id !== target.id);
  const pinnedHere = alertIds.filter((id) => from.get(id)?.incident_id === target.id);
  if (moving.length > 0) {
    // One statement however many alerts move (a merge moves whole incidents).
    await sql`
      INSERT INTO incident_alerts (incident_id, alert_id, reason, pinned, added_by)
      SELECT ${target.id}, id, ${JSON.stringify(reason)}::jsonb, true, 'analyst' FROM unnest(${moving}::bigint[]) AS id
      ON CONFLICT (alert_id) DO UPDATE
      SET incident_id = excluded.incident_id, reason = excluded.reason, pinned = true, added_by = 'analyst'
    `.execute(trx);
  }
  // Already here: the analyst confirmed them, so they are pinned too.
  if (pinnedHere.length > 0) {
    await trx.updateTable('incident_alerts').set({ pinned: true }).where('alert_id', '=', anyId(pinnedHere)).execute();
  }
  const left = [...new Set(moving.flatMap((id) => (from.has(id) ? [from.get(id)?.incident_id as number] : [])))];
  await refreshAggregates(trx, [target.id, ...left]);
  // A merge is one timeline event on each side (mergeIncidents), not one per alert.
  if (moving.length === 0 || reason.action === 'merge') return left;
  const uuids = await trx.selectFrom('alerts').select(['id', 'uuid']).where('id', '=', anyId(moving)).execute();
  const alertUuid = new Map(uuids.map((u) => [u.id, u.uuid]));
  const events: IncidentEventInput[] = [];
  for (const alertId of moving) {
    const previous = from.get(alertId);
    events.push({
      incidentId: target.id,
      type: 'incident_alert_added',
      alertId,
      references: {
        alert_uuid: alertUuid.get(alertId),
        rule: 'analyst',
        action: reason.action,
        from_incident_uuid: previous?.uuid ?? null,
      },
    });
    if (previous) {
      events.push({
        incidentId: previous.incident_id,
        type: 'incident_alert_removed',
        alertId,
        references: { alert_uuid: alertUuid.get(alertId), action: reason.action, to_incident_uuid: target.uuid },
      });
    }
  }
  await recordIncidentEvents(trx, ctx, events);
  return left;
}

async function alertIdsByUuid(trx: Db, uuids: string[]): Promise<number[]> {
  const rows = await trx.selectFrom('alerts').select(['id', 'uuid']).where('uuid', 'in', uuids).execute();
  if (rows.length !== new Set(uuids).size) throw notFound('Alert');
  return rows.map((r) => r.id).sort((a, b) => a - b);
}

/** `POST /v1/incidents/{uuid}/alerts`: move alerts (from another incident, or none) into this one. */
export async function addIncidentAlerts(
  ctx: ServiceContext,
  { uuid, input }: { uuid: string; input: IncidentAddAlertsRequest },
): Promise<Incident> {
  authorize(ctx, 'incidents:write');
  const { alert_uuids } = IncidentAddAlertsRequestSchema.parse(input);
  await ctx.db.transaction().execute(async (trx) => {
    const alertIds = await alertIdsByUuid(trx, alert_uuids);
    const current = await trx
      .selectFrom('incident_alerts')
      .innerJoin('incidents', 'incidents.id', 'incident_alerts.incident_id')
      .select('incidents.uuid')
      .where('incident_alerts.alert_id', 'in', alertIds)
      .execute();
    const locked = await lockByUuid(trx, [uuid, ...current.map((c) => c.uuid)]);
    const target = locked.get(uuid) as { id: number; uuid: string };
    await moveInto(trx, ctx, target, alertIds, analystReason(ctx, 'move', 'Moved here'));
  });
  return loadIncident(ctx.db, uuid);
}

/** `POST /v1/incidents/{uuid}/split`: these members leave for a new incident (created here, 201). */
export async function splitIncident(
  ctx: ServiceContext,
  { uuid, input }: { uuid: string; input: IncidentSplitRequest },
): Promise<Incident> {
  authorize(ctx, 'incidents:write');
  const request = IncidentSplitRequestSchema.parse(input);
  const created = await ctx.db.transaction().execute(async (trx) => {
    const source = (await lockByUuid(trx, [uuid])).get(uuid) as { id: number; uuid: string };
    const alertIds = await alertIdsByUuid(trx, request.alert_uuids);
    const members = await trx
      .selectFrom('incident_alerts')
      .select('alert_id')
      .where('incident_id', '=', source.id)
      .execute();
    const memberIds = new Set(members.map((m) => m.alert_id));
    const strangers = alertIds.filter((id) => !memberIds.has(id)).length;
    if (strangers > 0) {
      throw validationError('Only member alerts can be split out.', [
        { path: 'alert_uuids', message: `${strangers} of the alerts are not members of this incident.` },
      ]);
    }
    if (alertIds.length === memberIds.size) {
      throw validationError('A split must leave at least one alert behind.', [
        { path: 'alert_uuids', message: 'Every member was listed.' },
      ]);
    }
    const first = await trx
      .selectFrom('alerts')
      .select('title')
      .where('id', 'in', alertIds)
      .orderBy('occurred_at')
      .orderBy('id')
      .executeTakeFirstOrThrow();
    const row = await trx
      .insertInto('incidents')
      .values({ uuid: newUuid(), title: request.title ?? first.title.slice(0, 200) })
      .returning(['id', 'uuid'])
      .executeTakeFirstOrThrow();
    await recordIncidentEvents(trx, ctx, [
      { incidentId: row.id, type: 'incident_opened', references: { action: 'split', from_incident_uuid: source.uuid } },
      {
        incidentId: source.id,
        type: 'incident_split',
        references: { to_incident_uuid: row.uuid, alert_count: alertIds.length },
      },
    ]);
    await moveInto(trx, ctx, row, alertIds, analystReason(ctx, 'split', `Split out of incident ${source.uuid}`));
    return row.uuid;
  });
  return loadIncident(ctx.db, created);
}

/** `POST /v1/incidents/{uuid}/merge`: the others' alerts move here; they close as Duplicate. */
export async function mergeIncidents(
  ctx: ServiceContext,
  { uuid, input }: { uuid: string; input: IncidentMergeRequest },
): Promise<Incident> {
  authorize(ctx, 'incidents:write');
  const { incident_uuids } = IncidentMergeRequestSchema.parse(input);
  const sources = [...new Set(incident_uuids)];
  if (sources.includes(uuid)) {
    throw validationError('An incident cannot be merged into itself.', [
      { path: 'incident_uuids', message: 'Lists the target incident.' },
    ]);
  }
  await ctx.db.transaction().execute(async (trx) => {
    const locked = await lockByUuid(trx, [uuid, ...sources]);
    const target = locked.get(uuid) as { id: number; uuid: string; merged_into_id: number | null };
    if (target.merged_into_id !== null) throw new ServiceError('CONFLICT', 'The target incident was merged away.');
    const from = sources.map((s) => locked.get(s) as { id: number; uuid: string; merged_into_id: number | null });
    if (from.some((s) => s.merged_into_id !== null)) {
      throw new ServiceError('CONFLICT', 'An incident listed was already merged into another.');
    }
    const fromIds = from.map((s) => s.id);
    const members = await trx
      .selectFrom('incident_alerts')
      .select('alert_id')
      .where('incident_id', 'in', fromIds)
      .orderBy('alert_id')
      .execute();
    await moveInto(
      trx,
      ctx,
      target,
      members.map((m) => m.alert_id),
      analystReason(ctx, 'merge', 'Merged in'),
    );
    const now = new Date();
    await trx
      .updateTable('incidents')
      .set((eb) => ({
        status: 'Closed',
        close_classification: 'Duplicate',
        merged_into_id: target.id,
        closed_at: eb.fn.coalesce('closed_at', eb.val(now)),
        acknowledged_at: eb.fn.coalesce('acknowledged_at', eb.val(now)),
      }))
      .where('id', 'in', fromIds)
      .execute();
    // Incidents merged into a source earlier now point at the target (no chains to follow).
    await trx
      .updateTable('incidents')
      .set({ merged_into_id: target.id })
      .where('merged_into_id', 'in', fromIds)
      .execute();
    await recordIncidentEvents(trx, ctx, [
      { incidentId: target.id, type: 'incident_merged', references: { merged_incident_uuids: sources } },
      ...from.map((s) => ({
        incidentId: s.id,
        type: 'incident_merged' as const,
        references: { into_incident_uuid: target.uuid },
      })),
    ]);
  });
  return loadIncident(ctx.db, uuid);
}

/**
 * `PATCH /v1/incidents/{uuid}`: lifecycle like an alert's — acknowledged_at (first move out of Open),
 * triaged_at (first Triaging), closed_at (first Closed) are stamped once; `severity: null` hands the
 * severity back to the members.
 */
export async function patchIncident(
  ctx: ServiceContext,
  { uuid, patch: input }: { uuid: string; patch: IncidentPatch },
): Promise<Incident> {
  authorize(ctx, 'incidents:write');
  const patch = IncidentPatchSchema.parse(input);
  await ctx.db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('incidents')
      .select([
        'id',
        'title',
        'status',
        'severity_override',
        'close_classification',
        'acknowledged_at',
        'triaged_at',
        'closed_at',
      ])
      .where('uuid', '=', uuid)
      .forUpdate()
      .executeTakeFirst();
    if (!current) throw notFound('Incident');
    const now = new Date();
    const set: Record<string, unknown> = { updated_at: now };
    const events: IncidentEventInput[] = [];
    const event = (type: IncidentEventInput['type'], references: Record<string, unknown>) =>
      events.push({ incidentId: current.id, type, references });
    const lifecycle = lifecycleChange(current, patch, now);
    Object.assign(set, lifecycle.set);
    if (lifecycle.status?.closed) {
      event('incident_closed', { from_status: current.status, close_classification: patch.close_classification });
    } else if (lifecycle.status) {
      event('incident_status_updated', { from_status: current.status, to_status: patch.status });
    }
    if (lifecycle.classification) {
      event('incident_classification_updated', {
        from_classification: lifecycle.classification.from,
        to_classification: lifecycle.classification.to,
      });
    }
    if (patch.severity !== undefined && patch.severity !== current.severity_override) {
      set.severity_override = patch.severity;
      event('incident_severity_updated', { from_override: current.severity_override, to_override: patch.severity });
    }
    if (patch.title !== undefined && patch.title !== current.title) {
      set.title = patch.title;
      event('incident_title_updated', { from_title: current.title, to_title: patch.title });
    }
    await trx.updateTable('incidents').set(set).where('id', '=', current.id).execute();
    await recordIncidentEvents(trx, ctx, events);
  });
  return loadIncident(ctx.db, uuid);
}

/** `POST /v1/incidents/{uuid}/findings`: an agent's or analyst's finding about the whole incident. */
export async function addIncidentFinding(
  ctx: ServiceContext,
  { uuid, input }: { uuid: string; input: FindingCreate },
): Promise<AlertFinding> {
  authorize(ctx, 'incidents:write');
  const data = FindingCreateSchema.parse(input);
  return ctx.db.transaction().execute(async (trx) => {
    const incident = await trx.selectFrom('incidents').select('id').where('uuid', '=', uuid).executeTakeFirst();
    if (!incident) throw notFound('Incident');
    const row = await trx
      .insertInto('incident_findings')
      .values({
        uuid: newUuid(),
        incident_id: incident.id,
        agent_name: data.agent_name,
        summary: data.summary,
        confidence: data.confidence ?? null,
        recommended_action: data.recommended_action ?? null,
        evidence: data.evidence ? JSON.stringify(data.evidence) : null,
        posted_by: JSON.stringify(findingAuthor(ctx.actor)),
      })
      .returningAll()
      .executeTakeFirstOrThrow();
    await recordIncidentEvents(trx, ctx, [
      {
        incidentId: incident.id,
        type: 'incident_finding_added',
        references: {
          finding_id: row.uuid,
          agent_name: row.agent_name,
          summary: row.summary.length > 120 ? `${row.summary.slice(0, 120)}...` : row.summary,
          confidence: row.confidence,
        },
      },
    ]);
    return toFinding(row);
  });
}
