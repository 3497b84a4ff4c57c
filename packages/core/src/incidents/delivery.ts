/**
 * Per-incident agent delivery (issue 23). An agent registered with `delivery_mode: 'incident'` gets
 * no per-alert deliveries (agents/matching.ts); it gets the incident instead:
 *
 * 1. `dispatchIncidentUpdates(ctx, result)` — after correlation — schedules one `deliver-incident`
 *    job per (incident, matching agent) unless one is already scheduled (`incident_delivery_cursors
 *    .due_at`): at once for an incident that opened, after the debounce for an update. Alerts joining
 *    meanwhile ride on the scheduled job, so a storm costs a few deliveries, not one per alert.
 * 2. The job cuts a revision (one transaction: clears `due_at`, compares the members now with the
 *    previous revision's, inserts `incident_deliveries` row revision n+1 — unique per incident, agent
 *    and revision — and queues its first attempt). Nothing new: no revision. Its changes are counted
 *    from the last revision the agent received, so a revision that failed for good loses nothing.
 * 3. Each attempt job claims the revision's attempt (as agent deliveries do), builds the incident
 *    payload for the revision's members, signs and POSTs it with the same headers as alert deliveries
 *    (`X-Calseta-Event: incident.opened | incident.updated`, `Idempotency-Key` the same for every
 *    attempt of the revision), records the attempt and schedules the next one with backoff.
 *
 * Exactly one revision per cut, whatever pg-boss repeats: a re-run cut finds `due_at` cleared; a
 * re-run attempt finds the attempt taken. A worker killed mid-attempt leaves its claim with its
 * liveness id: the retried job takes it over at once (the process is gone) and sends the same
 * revision again with the same key, for the receiver to drop if it already has it.
 */
import type { Db } from '@calseta/db';
import type { AgentRunAttempt, AgentRunStatus, IncidentDelivery, PageQuery } from '@calseta/schema';
import { sql } from 'kysely';
import { postToAgent, signingSecretOf } from '../agents/deliver.js';
import { LEASE_MARGIN_SECONDS, retryDelaySeconds } from '../agents/dispatch.js';
import { agentMatches } from '../agents/matching.js';
import { type AgentRow, findAgent } from '../agents/registry.js';
import { authorize } from '../auth/permissions.js';
import { targetingSubjectOf } from '../context/subject.js';
import type { ServiceContext } from '../infra/context.js';
import { ServiceError } from '../infra/errors.js';
import type { JobPayload } from '../infra/jobs/catalogue.js';
import { livenessHeldSql } from '../infra/liveness.js';
import { iso, pageOf } from '../infra/serialize.js';
import { countDeliveryAttempt } from '../infra/telemetry/metrics.js';
import type { IncidentChange } from './correlate.js';
import { buildIncidentPayload, DEFAULT_INCIDENT_TOKEN_BUDGET } from './payload.js';

export const EVENT_INCIDENT_OPENED = 'incident.opened';
export const EVENT_INCIDENT_UPDATED = 'incident.updated';
/** Updates wait this long for more alerts to join before they are delivered (`incidents.debounceSeconds`). */
export const DEFAULT_INCIDENT_DEBOUNCE_SECONDS = 30;
/** Added alerts whose targeting facts are checked against an agent's filters, per change at most. */
const MATCH_SAMPLE = 50;
const JOB = 'deliver-incident';
/** A scheduled cut this late has failed for good (its job's retries and expiries are far shorter). */
const OVERDUE_SECONDS = 600;

/** What delivery needs of a correlation change (correlate.ts's IncidentChange). */
type Change = Pick<IncidentChange, 'incidentId' | 'opened' | 'alertIds'>;

export interface IncidentDispatchResult {
  /** Deliveries newly scheduled (an (incident, agent) with one already scheduled counts nothing). */
  scheduled: number;
}

type Agent = Pick<
  AgentRow,
  | 'id'
  | 'uuid'
  | 'name'
  | 'is_active'
  | 'trigger_on_sources'
  | 'trigger_on_severities'
  | 'trigger_filter'
  | 'delivery_mode'
>;

/** Does `agent` want this change: it matches one of the added alerts (its sources, severities, filter). */
async function wants(
  db: Db,
  agent: Agent,
  alertIds: readonly number[],
  subjects: Map<number, Awaited<ReturnType<typeof targetingSubjectOf>>>,
) {
  const open = agent.trigger_on_sources.length === 0 && agent.trigger_on_severities.length === 0;
  const filter = agent.trigger_filter as { match_any?: unknown[]; match_all?: unknown[] } | null;
  if (open && (filter === null || ((filter.match_any?.length ?? 0) === 0 && (filter.match_all?.length ?? 0) === 0))) {
    return true;
  }
  for (const id of alertIds.slice(0, MATCH_SAMPLE)) {
    if (!subjects.has(id)) subjects.set(id, await targetingSubjectOf(db, id));
    const subject = subjects.get(id);
    if (subject && agentMatches(agent, subject, 'incident')) return true;
  }
  return false;
}

/**
 * After correlation (`correlateAlerts(...).changes`): schedule the deliveries of every incident that
 * opened or grew to every active per-incident agent that matches one of its new alerts or already
 * follows it. Cheap when nothing is registered per incident (one query). Pass a context whose `db`
 * is the correlation's transaction to make the schedule commit with it (then announce
 * `deliver-incident` once it has committed, if `scheduled > 0`).
 */
export async function dispatchIncidentUpdates(
  ctx: ServiceContext,
  result: { changes: readonly Change[] },
): Promise<IncidentDispatchResult> {
  const changes = result.changes.filter((c) => c.alertIds.length > 0 || c.opened);
  if (changes.length === 0) return { scheduled: 0 };
  const agents = await ctx.db
    .selectFrom('agent_registrations')
    .select([
      'id',
      'uuid',
      'name',
      'is_active',
      'trigger_on_sources',
      'trigger_on_severities',
      'trigger_filter',
      'delivery_mode',
    ])
    .where('is_active', '=', true)
    .where('delivery_mode', '=', 'incident')
    .orderBy('id')
    .execute();
  if (agents.length === 0) return { scheduled: 0 };
  const incidentIds = [...new Set(changes.map((c) => c.incidentId))];
  const following = new Set(
    (
      await ctx.db
        .selectFrom('incident_delivery_cursors')
        .select(['incident_id', 'agent_registration_id'])
        .where('incident_id', 'in', incidentIds)
        .execute()
    ).map((r) => `${r.incident_id}:${r.agent_registration_id}`),
  );
  const subjects = new Map<number, Awaited<ReturnType<typeof targetingSubjectOf>>>();
  const pairs: Array<{ incidentId: number; agentId: number; opened: boolean }> = [];
  for (const change of changes) {
    for (const agent of agents) {
      const follows = following.has(`${change.incidentId}:${agent.id}`);
      if (follows || (await wants(ctx.db, agent, change.alertIds, subjects))) {
        pairs.push({ incidentId: change.incidentId, agentId: agent.id, opened: change.opened && !follows });
      }
    }
  }
  if (pairs.length === 0) return { scheduled: 0 };
  // One lock order for every caller: two processes scheduling overlapping incidents never deadlock.
  pairs.sort((a, b) => a.incidentId - b.incidentId || a.agentId - b.agentId);
  const debounce = ctx.config.incidents?.debounceSeconds ?? DEFAULT_INCIDENT_DEBOUNCE_SECONDS;
  const schedule = async (db: Db) => {
    let scheduled = 0;
    for (const pair of pairs) {
      const delay = pair.opened ? 0 : debounce;
      // Scheduled unless a job already is: that job will cut the revision with these alerts in it. A
      // job long overdue (it failed for good) no longer counts, or the incident would never update again.
      const row = await sql<{ due_at: Date }>`
        INSERT INTO incident_delivery_cursors (incident_id, agent_registration_id, due_at)
        VALUES (${pair.incidentId}, ${pair.agentId}, now() + make_interval(secs => ${delay}))
        ON CONFLICT (incident_id, agent_registration_id) DO UPDATE SET due_at = EXCLUDED.due_at
          WHERE incident_delivery_cursors.due_at IS NULL
             OR incident_delivery_cursors.due_at < now() - make_interval(secs => ${OVERDUE_SECONDS})
        RETURNING due_at`.execute(db);
      if (row.rows.length === 0) continue;
      await ctx.queue.send(
        JOB,
        { incident_id: pair.incidentId, agent_id: pair.agentId },
        { db, ...(delay > 0 ? { startAfterSeconds: delay } : {}) },
      );
      scheduled++;
    }
    return scheduled;
  };
  // In the caller's transaction the caller announces once committed: woken earlier, a worker finds nothing.
  if (ctx.db.isTransaction) return { scheduled: await schedule(ctx.db) };
  const scheduled = await ctx.db.transaction().execute(schedule);
  if (scheduled > 0) ctx.queue.announce(JOB);
  return { scheduled };
}

const idempotencyKey = (incidentUuid: string, agentUuid: string, revision: number) =>
  `incident:${incidentUuid}:agent:${agentUuid}:r${revision}`;

/** The latest revision the agent received (before `revision`): what an update's changes are counted from. */
function lastDelivered(db: Db, incidentId: number, agentId: number, revision?: number) {
  let query = db
    .selectFrom('incident_deliveries')
    .select(['revision', 'alert_ids'])
    .where('incident_id', '=', incidentId)
    .where('agent_registration_id', '=', agentId)
    .where('status', '=', 'delivered');
  if (revision !== undefined) query = query.where('revision', '<', revision);
  return query.orderBy('revision', 'desc').limit(1).executeTakeFirst();
}

/** Ids in `a` and not in `b`, in `a`'s order. */
const minus = (a: readonly number[], b: readonly number[]) => {
  const set = new Set(b);
  return a.filter((id) => !set.has(id));
};

/**
 * Cut the next revision of (incident, agent), if a job was scheduled and the members changed since
 * the previous revision; queue its first attempt. One transaction: a re-run finds nothing to do.
 */
async function cutRevision(ctx: ServiceContext, incidentId: number, agentId: number): Promise<void> {
  const cut = await ctx.db.transaction().execute(async (trx) => {
    const claimed = await trx
      .updateTable('incident_delivery_cursors')
      .set({ due_at: null })
      .where('incident_id', '=', incidentId)
      .where('agent_registration_id', '=', agentId)
      .where('due_at', 'is not', null)
      .returning('incident_id')
      .executeTakeFirst();
    if (!claimed) return false;
    const [incident, agent, previous, baseline, members] = await Promise.all([
      trx.selectFrom('incidents').select('uuid').where('id', '=', incidentId).executeTakeFirst(),
      trx.selectFrom('agent_registrations').select('uuid').where('id', '=', agentId).executeTakeFirst(),
      trx
        .selectFrom('incident_deliveries')
        .select(['revision', 'alert_ids'])
        .where('incident_id', '=', incidentId)
        .where('agent_registration_id', '=', agentId)
        .orderBy('revision', 'desc')
        .limit(1)
        .executeTakeFirst(),
      lastDelivered(trx, incidentId, agentId),
      trx
        .selectFrom('incident_alerts')
        .select('alert_id')
        .where('incident_id', '=', incidentId)
        .orderBy('alert_id')
        .execute(),
    ]);
    if (!incident || !agent) return false;
    const now = members.map((m) => Number(m.alert_id));
    // Nothing changed since the last revision cut: nothing to send.
    const cut = (previous?.alert_ids ?? []).map(Number);
    if (minus(now, cut).length === 0 && minus(cut, now).length === 0) return false;
    // What changed is counted from what the agent last received (a failed revision's alerts are new still).
    const added = minus(now, (baseline?.alert_ids ?? []).map(Number));
    const revision = (previous?.revision ?? 0) + 1;
    const row = await trx
      .insertInto('incident_deliveries')
      .values({
        incident_id: incidentId,
        agent_registration_id: agentId,
        revision,
        event: baseline === undefined ? EVENT_INCIDENT_OPENED : EVENT_INCIDENT_UPDATED,
        idempotency_key: idempotencyKey(incident.uuid, agent.uuid, revision),
        alert_ids: JSON.stringify(now),
        added_alert_ids: JSON.stringify(added),
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await ctx.queue.send(
      JOB,
      { incident_id: incidentId, agent_id: agentId, delivery_id: Number(row.id), attempt: 1 },
      { db: trx },
    );
    return true;
  });
  if (cut) ctx.queue.announce(JOB);
}

/** Atomically take attempt `attempt` of a revision, or re-take one whose process died or whose lease ran out. */
async function claimAttempt(ctx: ServiceContext, deliveryId: number, attempt: number, leaseSeconds: number) {
  const owner = ctx.notifications.livenessId;
  const { rows } = await sql<{ uuid: string; idempotency_key: string }>`
    UPDATE incident_deliveries SET
      status = 'delivering',
      attempt_count = ${attempt},
      claimed_by = ${owner},
      started_at = coalesce(started_at, now()),
      next_attempt_at = now() + make_interval(secs => ${leaseSeconds})
    WHERE id = ${deliveryId} AND (
      (status IN ('pending', 'retrying') AND attempt_count = ${attempt - 1})
      OR (status = 'delivering' AND attempt_count = ${attempt} AND (
        next_attempt_at < now() OR claimed_by IS NULL OR NOT ${sql.raw(livenessHeldSql('claimed_by::text'))})))
    RETURNING uuid, idempotency_key`.execute(ctx.db);
  return rows[0];
}

/**
 * The `deliver-incident` job: without `delivery_id`, cut the next revision; with it, make attempt
 * `attempt` of that revision (build, sign, POST, record, schedule the next with backoff).
 */
export async function runIncidentDelivery(ctx: ServiceContext, data: JobPayload<'deliver-incident'>): Promise<void> {
  if (data.delivery_id === undefined) return cutRevision(ctx, data.incident_id, data.agent_id);
  const attempt = data.attempt ?? 1;
  const agent = await ctx.db
    .selectFrom('agent_registrations')
    .selectAll()
    .where('id', '=', data.agent_id)
    .executeTakeFirst();
  const delivery = await ctx.db
    .selectFrom('incident_deliveries')
    .select([
      'id',
      'uuid',
      'revision',
      'event',
      'status',
      'attempt_count',
      'alert_ids',
      'added_alert_ids',
      'incident_id',
    ])
    .where('id', '=', data.delivery_id)
    .executeTakeFirst();
  if (!agent || !delivery) return; // deleted (deliveries cascade)

  if (!agent.is_active || agent.delivery_mode !== 'incident') {
    const cancelled = await ctx.db
      .updateTable('incident_deliveries')
      .set({
        status: 'cancelled',
        error: agent.is_active ? 'Agent no longer delivers per incident' : 'Agent is inactive',
        next_attempt_at: null,
        completed_at: new Date(),
      })
      .where('id', '=', delivery.id)
      .where('status', 'in', ['pending', 'retrying'])
      .returning('id')
      .executeTakeFirst();
    if (cancelled) countDeliveryAttempt(agent.name, 'cancelled', null);
    return;
  }

  const claimed = await claimAttempt(ctx, delivery.id, attempt, agent.timeout_seconds + LEASE_MARGIN_SECONDS);
  if (!claimed) {
    if (delivery.status === 'delivering' && delivery.attempt_count === attempt) {
      // A live process holds this attempt: let the queue retry us after its lease.
      throw new Error(`incident delivery ${delivery.uuid} attempt ${attempt} is in flight elsewhere`);
    }
    return; // a duplicate or stale job: the attempt was made
  }

  const startedAt = new Date();
  const secret = signingSecretOf(ctx, agent);
  let body = '';
  let tokenCount: number | null = null;
  let outcome: Awaited<ReturnType<typeof postToAgent>>;
  const failed = (error: string, blocked: boolean) => ({
    ok: false,
    status_code: null,
    error,
    duration_ms: 0,
    response_body: null,
    blocked,
  });
  if (secret === null) {
    outcome = failed(
      'Signing secret unavailable: ENCRYPTION_KEY is missing or changed; rotate the signing secret.',
      true,
    );
  } else {
    try {
      const previous = await lastDelivered(ctx.db, delivery.incident_id, agent.id, delivery.revision);
      const alertIds = delivery.alert_ids.map(Number);
      const payload = await buildIncidentPayload(
        ctx,
        delivery.incident_id,
        {
          revision: delivery.revision,
          alertIds,
          addedAlertIds: delivery.added_alert_ids.map(Number),
          removedAlertIds: minus((previous?.alert_ids ?? []).map(Number), alertIds),
          previousRevision: previous?.revision ?? null,
        },
        { tokenBudget: agent.token_budget ?? DEFAULT_INCIDENT_TOKEN_BUDGET },
      );
      body = JSON.stringify(payload);
      tokenCount = payload.token_count;
    } catch (error) {
      if (error instanceof ServiceError && error.code === 'NOT_FOUND') return; // incident deleted (cascade)
      ctx.logger.error({ err: error, delivery_uuid: claimed.uuid }, 'incident payload could not be built');
    }
    outcome =
      body === ''
        ? failed('Internal error: the payload could not be built', false)
        : await postToAgent(ctx, agent, {
            body,
            event: delivery.event,
            deliveryId: claimed.uuid,
            idempotencyKey: claimed.idempotency_key,
            secret,
          });
  }

  const record: AgentRunAttempt = {
    attempt,
    started_at: startedAt.toISOString(),
    status_code: outcome.status_code,
    error: outcome.error,
    duration_ms: outcome.duration_ms,
  };
  const maxAttempts = agent.retry_count + 1;
  const status = outcome.ok ? 'delivered' : outcome.blocked || attempt >= maxAttempts ? 'failed' : 'retrying';
  const delay = status === 'retrying' ? retryDelaySeconds(attempt + 1, ctx.config.agentDispatch) : 0;
  const now = new Date();
  await ctx.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('incident_deliveries')
      .set({
        status,
        attempts: sql`attempts || ${JSON.stringify([record])}::jsonb`,
        response_status_code: outcome.status_code,
        response_body: outcome.response_body === null ? null : JSON.stringify(outcome.response_body),
        error: outcome.error,
        duration_ms: outcome.duration_ms,
        ...(body === ''
          ? {}
          : { request_payload: body, payload_bytes: Buffer.byteLength(body), token_count: tokenCount }),
        next_attempt_at: status === 'retrying' ? new Date(now.getTime() + delay * 1000) : null,
        completed_at: status === 'retrying' ? null : now,
      })
      .where('id', '=', delivery.id)
      .where('attempt_count', '=', attempt)
      .where('claimed_by', '=', ctx.notifications.livenessId)
      .execute();
    if (status === 'retrying') {
      await ctx.queue.send(
        JOB,
        { incident_id: delivery.incident_id, agent_id: agent.id, delivery_id: delivery.id, attempt: attempt + 1 },
        { db: trx, ...(delay > 0 ? { startAfterSeconds: delay } : {}) },
      );
    }
  });
  if (status === 'retrying') ctx.queue.announce(JOB);
  countDeliveryAttempt(agent.name, status, body === '' ? null : outcome.duration_ms / 1000);
  ctx.logger.debug(
    { delivery_uuid: claimed.uuid, agent_uuid: agent.uuid, revision: delivery.revision, attempt, status, delay },
    'incident delivery attempt',
  );
}

/** `GET /v1/agents/{uuid}/incident-deliveries`: the agent's incident revisions, newest first, with every attempt. */
export async function listIncidentDeliveries(
  ctx: ServiceContext,
  { uuid: agentUuid, query }: { uuid: string; query: PageQuery },
) {
  authorize(ctx, 'agents:read');
  const agent = await findAgent(ctx.db, agentUuid);
  const [rows, total] = await Promise.all([
    ctx.db
      .selectFrom('incident_deliveries as d')
      .innerJoin('incidents as i', 'i.id', 'd.incident_id')
      .select([
        'd.uuid',
        'i.uuid as incident_uuid',
        'd.revision',
        'd.event',
        'd.idempotency_key',
        'd.status',
        'd.attempt_count',
        sql<number>`jsonb_array_length(d.alert_ids)`.as('alert_count'),
        sql<number>`jsonb_array_length(d.added_alert_ids)`.as('added_alert_count'),
        'd.next_attempt_at',
        'd.response_status_code',
        'd.error',
        'd.duration_ms',
        'd.payload_bytes',
        'd.token_count',
        'd.attempts',
        'd.started_at',
        'd.completed_at',
        'd.created_at',
        'd.updated_at',
      ])
      .where('d.agent_registration_id', '=', agent.id)
      .orderBy('d.created_at', 'desc')
      .orderBy('d.id', 'desc')
      .limit(query.page_size)
      .offset((query.page - 1) * query.page_size)
      .execute(),
    ctx.db
      .selectFrom('incident_deliveries')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('agent_registration_id', '=', agent.id)
      .executeTakeFirstOrThrow(),
  ]);
  return pageOf(
    rows.map(
      (r): IncidentDelivery => ({
        uuid: r.uuid,
        incident_uuid: r.incident_uuid,
        agent_uuid: agent.uuid,
        agent_name: agent.name,
        revision: r.revision,
        event: r.event as IncidentDelivery['event'],
        idempotency_key: r.idempotency_key,
        status: r.status as AgentRunStatus,
        attempt_count: r.attempt_count,
        max_attempts: agent.retry_count + 1,
        alert_count: Number(r.alert_count),
        added_alert_count: Number(r.added_alert_count),
        next_attempt_at: iso(r.next_attempt_at),
        response_status_code: r.response_status_code,
        error: r.error,
        duration_ms: r.duration_ms,
        payload_bytes: r.payload_bytes,
        token_count: r.token_count,
        attempts: r.attempts as unknown as AgentRunAttempt[],
        started_at: iso(r.started_at),
        completed_at: iso(r.completed_at),
        created_at: iso(r.created_at),
        updated_at: iso(r.updated_at),
      }),
    ),
    Number(total.n),
    query,
  );
}
