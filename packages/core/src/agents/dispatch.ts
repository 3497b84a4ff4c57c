import type { Db } from '@calseta/db';
import type {
  AgentRun,
  AgentRunAttempt,
  AgentRunTrigger,
  AgentTestResult,
  DispatchAgentResult,
  TriggerAgentsResult,
} from '@calseta/schema';
import { sql } from 'kysely';
import { alertIdByUuid } from '../alerts/read.js';
import { authorize } from '../auth/permissions.js';
import { targetingSubjectOf } from '../context/subject.js';
import { activityRow } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound, ServiceError } from '../infra/errors.js';
import { newUuid } from '../infra/ids.js';
import type { JobPayload } from '../infra/jobs/catalogue.js';
import { countDeliveryAttempt, observeAlertDelivered } from '../infra/telemetry/metrics.js';
import { buildAlertPayload } from '../payload/build.js';
import { postToAgent, signingSecretOf } from './deliver.js';
import { matchingAgents } from './matching.js';
import { type AgentRow, findAgent } from './registry.js';
import { agentRunById } from './runs.js';

/** `X-Calseta-Event` of a delivery and of a test. */
export const EVENT_ALERT_ENRICHED = 'alert.enriched';
export const EVENT_TEST = 'agent.test';

const DEFAULT_RETRY_BASE_SECONDS = 2;
const DEFAULT_RETRY_CAP_SECONDS = 300;
/** An attempt's claim outlives its request by this much; then a crashed attempt may be retried. */
const LEASE_MARGIN_SECONDS = 30;
const JOB = 'dispatch-agent';

/**
 * Delay before attempt `next` (2, 3, …): full jitter, uniformly random in
 * [0, min(cap, base · 2^(next − 2))] — 0–2 s, 0–4 s, 0–8 s … with the defaults.
 */
export function retryDelaySeconds(
  next: number,
  config: { retryBaseSeconds?: number; retryCapSeconds?: number } = {},
  random: () => number = Math.random,
): number {
  const base = config.retryBaseSeconds ?? DEFAULT_RETRY_BASE_SECONDS;
  const cap = config.retryCapSeconds ?? DEFAULT_RETRY_CAP_SECONDS;
  const ceiling = Math.min(cap, base * 2 ** Math.max(0, next - 2));
  return Math.round(random() * ceiling * 1000) / 1000;
}

interface NewDelivery {
  agent: Pick<AgentRow, 'id'>;
  trigger: AgentRunTrigger;
  status: 'pending' | 'waiting';
  /** A redelivery keeps the idempotency key of the delivery it repeats. */
  redeliveryOf?: { id: number; idempotency_key: string };
}

interface QueuedRun {
  id: number;
  agent_registration_id: number;
}

/** Insert deliveries; an `auto` one is skipped when the (alert, agent) already has one (quirk 23). */
async function insertDeliveries(trx: Db, alertId: number, items: readonly NewDelivery[]) {
  const inserted: Array<QueuedRun & { uuid: string; status: string; trigger: string }> = [];
  for (const item of items) {
    const uuid = newUuid();
    const query = trx.insertInto('agent_runs').values({
      uuid,
      agent_registration_id: item.agent.id,
      alert_id: alertId,
      idempotency_key: item.redeliveryOf?.idempotency_key ?? uuid,
      trigger: item.trigger,
      status: item.status,
      redelivery_of_id: item.redeliveryOf?.id ?? null,
    });
    const row = await (item.trigger === 'auto'
      ? query.onConflict((oc) =>
          oc.columns(['alert_id', 'agent_registration_id']).where('trigger', '=', 'auto').doNothing(),
        )
      : query
    )
      .returning(['id', 'uuid', 'agent_registration_id', 'status', 'trigger'])
      .executeTakeFirst();
    if (row) inserted.push(row);
  }
  return inserted;
}

/** Enqueue the first attempt of each delivery inside `trx`; announce after commit. */
async function enqueueFirstAttempts(ctx: ServiceContext, trx: Db, alertId: number, runs: readonly QueuedRun[]) {
  for (const run of runs) {
    await ctx.queue.send(
      JOB,
      { alert_id: alertId, agent_id: run.agent_registration_id, run_id: run.id, attempt: 1 },
      { db: trx },
    );
  }
}

/**
 * After the enrichment step of `enrich-alert`: one delivery per matching agent.
 *
 * - Automatic delivery happens once per (alert, agent): a re-enrichment does not notify agents again
 *   (reference quirk 23 fixed) unless the job asks for it (`redispatch`), which adds a new delivery
 *   (new idempotency key: it is a new event for the receiver) for every matching agent.
 * - `final` is false while the alert still waits for rate-limited providers (the summary has a
 *   `retry_at`): the deliveries are recorded as `waiting` and sent when the follow-up enrichment
 *   finishes, so agents get the alert once, enriched, instead of a half-enriched copy first.
 */
export async function dispatchAfterEnrichment(
  ctx: ServiceContext,
  alertId: number,
  options: { redispatch?: boolean; final: boolean },
): Promise<{ queued: number; waiting: number }> {
  const subject = await targetingSubjectOf(ctx.db, alertId);
  if (subject === null) return { queued: 0, waiting: 0 };
  const agents = await matchingAgents(ctx.db, subject);
  const status = options.final ? 'pending' : 'waiting';
  const result = await ctx.db.transaction().execute(async (trx) => {
    const queued: QueuedRun[] = [];
    let waiting = 0;
    for (const agent of agents) {
      let [row] = await insertDeliveries(trx, alertId, [{ agent, trigger: 'auto', status }]);
      if (row === undefined && options.redispatch) {
        [row] = await insertDeliveries(trx, alertId, [{ agent, trigger: 'redispatch', status }]);
      }
      if (row === undefined) continue;
      if (row.status === 'pending') queued.push(row);
      else waiting += 1;
    }
    if (options.final) {
      // Deliveries recorded while enrichment waited on rate limits go out now.
      const released = await trx
        .updateTable('agent_runs')
        .set({ status: 'pending', updated_at: new Date() })
        .where('alert_id', '=', alertId)
        .where('status', '=', 'waiting')
        .returning(['id', 'agent_registration_id'])
        .execute();
      queued.push(...released);
    }
    await enqueueFirstAttempts(ctx, trx, alertId, queued);
    return { queued: queued.length, waiting };
  });
  if (result.queued > 0) ctx.queue.announce(JOB);
  return result;
}

/** `POST /v1/alerts/{uuid}/trigger-agents`: a new delivery to every matching agent now. */
export async function triggerAgents(
  ctx: ServiceContext,
  { uuid: alertUuid }: { uuid: string },
): Promise<TriggerAgentsResult> {
  authorize(ctx, 'agents:write');
  const alertId = await alertIdByUuid(ctx.db, alertUuid);
  const subject = await targetingSubjectOf(ctx.db, alertId);
  if (subject === null) throw notFound('Alert');
  const agents = await matchingAgents(ctx.db, subject);
  const runs = await ctx.db.transaction().execute(async (trx) => {
    const inserted = await insertDeliveries(
      trx,
      alertId,
      agents.map((agent) => ({ agent, trigger: 'manual' as const, status: 'pending' as const })),
    );
    await enqueueFirstAttempts(ctx, trx, alertId, inserted);
    return inserted;
  });
  if (runs.length > 0) ctx.queue.announce(JOB);
  return {
    queued_agent_count: agents.length,
    agent_names: agents.map((a) => a.name),
    run_uuids: runs.map((r) => r.uuid),
  };
}

/** `POST /v1/alerts/{uuid}/dispatch-agent?agent_uuid=`: deliver to one agent, bypassing matching. */
export async function dispatchAgent(
  ctx: ServiceContext,
  { alertUuid, agentUuid }: { alertUuid: string; agentUuid: string },
): Promise<DispatchAgentResult> {
  authorize(ctx, 'agents:write');
  const alertId = await alertIdByUuid(ctx.db, alertUuid);
  const agent = await findAgent(ctx.db, agentUuid);
  if (!agent.is_active) throw new ServiceError('AGENT_INACTIVE', `Agent "${agent.name}" is not active.`);
  const [run] = await ctx.db.transaction().execute(async (trx) => {
    const inserted = await insertDeliveries(trx, alertId, [{ agent, trigger: 'single', status: 'pending' }]);
    await enqueueFirstAttempts(ctx, trx, alertId, inserted);
    return inserted;
  });
  ctx.queue.announce(JOB);
  return {
    agent_uuid: agent.uuid,
    agent_name: agent.name,
    alert_uuid: alertUuid,
    run_uuid: (run as { uuid: string }).uuid,
  };
}

/**
 * `POST /v1/agent-runs/{uuid}/redeliver`: a new delivery of the same event — same alert, same
 * agent, same idempotency key (a receiver that already processed it can drop it), fresh attempts,
 * the payload rebuilt from the alert as it is now. Only for finished deliveries.
 */
export async function redeliverAgentRun(ctx: ServiceContext, { uuid: runUuid }: { uuid: string }): Promise<AgentRun> {
  authorize(ctx, 'agents:write');
  const runId = await ctx.db.transaction().execute(async (trx) => {
    const run = await trx
      .selectFrom('agent_runs')
      .select(['id', 'alert_id', 'agent_registration_id', 'idempotency_key', 'status'])
      .where('uuid', '=', runUuid)
      .forUpdate()
      .executeTakeFirst();
    if (!run) throw notFound('Agent run');
    if (!['delivered', 'failed', 'cancelled'].includes(run.status)) {
      throw new ServiceError('CONFLICT', `The delivery is still ${run.status}; redeliver it once it has finished.`, {
        status: run.status,
      });
    }
    const agent = await trx
      .selectFrom('agent_registrations')
      .select(['id', 'name', 'is_active'])
      .where('id', '=', run.agent_registration_id)
      .executeTakeFirstOrThrow();
    if (!agent.is_active) throw new ServiceError('AGENT_INACTIVE', `Agent "${agent.name}" is not active.`);
    const [inserted] = await insertDeliveries(trx, run.alert_id, [
      { agent, trigger: 'redeliver', status: 'pending', redeliveryOf: run },
    ]);
    const queued = inserted as QueuedRun;
    await enqueueFirstAttempts(ctx, trx, run.alert_id, [queued]);
    return queued.id;
  });
  ctx.queue.announce(JOB);
  return agentRunById(ctx.db, runId);
}

/** Atomically take attempt `attempt` of a delivery (or re-take it after a crashed worker's lease ran out). */
async function claimAttempt(ctx: ServiceContext, runId: number, attempt: number, leaseSeconds: number) {
  const claimed = await sql<{ id: number; uuid: string; idempotency_key: string; started_at: Date | null }>`
    UPDATE agent_runs SET
      status = 'delivering',
      attempt_count = ${attempt},
      started_at = coalesce(started_at, now()),
      next_attempt_at = now() + make_interval(secs => ${leaseSeconds}),
      updated_at = now()
    WHERE id = ${runId} AND (
      (status IN ('pending', 'retrying') AND attempt_count = ${attempt - 1})
      OR (status = 'delivering' AND attempt_count = ${attempt} AND next_attempt_at < now())
    )
    RETURNING id, uuid, idempotency_key, started_at`.execute(ctx.db);
  return claimed.rows[0];
}

async function finishRun(
  ctx: ServiceContext,
  agent: AgentRow,
  run: { id: number; uuid: string; idempotency_key: string; trigger: string; alert_id: number },
  status: 'delivered' | 'failed' | 'cancelled',
  fields: { status_code: number | null; attempt_count: number; error: string | null },
  trx: Db,
) {
  await trx
    .insertInto('activity_events')
    .values({
      ...activityRow(ctx, {
        type: 'agent_webhook_dispatched',
        alertId: run.alert_id,
        references: {
          agent_name: agent.name,
          agent_uuid: agent.uuid,
          run_uuid: run.uuid,
          trigger: run.trigger,
          status,
          status_code: fields.status_code,
          attempt_count: fields.attempt_count,
          idempotency_key: run.idempotency_key,
          error: fields.error,
        },
      }),
      agent_id: agent.id,
    })
    .execute();
}

/**
 * The `dispatch-agent` job: one attempt of one delivery. Builds the alert's agent payload,
 * serializes it once, signs it and POSTs it; 2xx → `delivered`; otherwise the attempt is recorded
 * and the next one scheduled with backoff and jitter, until `retry_count + 1` attempts → `failed`.
 * An endpoint refused by the outbound policy fails at once (retrying would not change that).
 */
export async function runAgentDelivery(ctx: ServiceContext, data: JobPayload<'dispatch-agent'>): Promise<void> {
  const attempt = data.attempt ?? 1;
  const agent = await ctx.db
    .selectFrom('agent_registrations')
    .selectAll()
    .where('id', '=', data.agent_id)
    .executeTakeFirst();
  if (!agent) return; // deleted, with its deliveries
  let runId = data.run_id;
  if (runId === undefined) {
    const [created] = await insertDeliveries(ctx.db, data.alert_id, [{ agent, trigger: 'single', status: 'pending' }]);
    runId = (created as QueuedRun).id;
  }
  const run = await ctx.db
    .selectFrom('agent_runs')
    .select(['id', 'uuid', 'idempotency_key', 'trigger', 'alert_id', 'status', 'attempt_count'])
    .where('id', '=', runId)
    .executeTakeFirst();
  if (!run) return;

  if (!agent.is_active) {
    const cancelled = await ctx.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('agent_runs')
        .set({
          status: 'cancelled',
          error: 'Agent is inactive',
          next_attempt_at: null,
          completed_at: new Date(),
          updated_at: new Date(),
        })
        .where('id', '=', run.id)
        .where('status', 'in', ['pending', 'retrying'])
        .returning('id')
        .executeTakeFirst();
      if (row) {
        await finishRun(
          ctx,
          agent,
          run,
          'cancelled',
          { status_code: null, attempt_count: run.attempt_count, error: 'Agent is inactive' },
          trx,
        );
      }
      return row !== undefined;
    });
    if (cancelled) countDeliveryAttempt(agent.name, 'cancelled', null);
    return;
  }

  const claimed = await claimAttempt(ctx, run.id, attempt, agent.timeout_seconds + LEASE_MARGIN_SECONDS);
  if (!claimed) {
    if (run.status === 'delivering' && run.attempt_count === attempt) {
      // Another worker holds this attempt (or crashed holding it): let the queue retry us later.
      throw new Error(`delivery ${run.uuid} attempt ${attempt} is in flight elsewhere`);
    }
    return; // a duplicate or stale job: the attempt was made
  }

  const startedAt = new Date();
  const secret = signingSecretOf(ctx, agent);
  let payload: unknown = null;
  let body = '';
  let outcome: Awaited<ReturnType<typeof postToAgent>>;
  if (secret === null) {
    outcome = {
      ok: false,
      status_code: null,
      error: 'Signing secret unavailable: ENCRYPTION_KEY is missing or changed; rotate the signing secret.',
      duration_ms: 0,
      response_body: null,
      blocked: true,
    };
  } else {
    try {
      payload = await buildAlertPayload(ctx, data.alert_id, { tokenBudget: agent.token_budget ?? undefined });
    } catch (error) {
      if (error instanceof ServiceError && error.code === 'NOT_FOUND') return; // alert deleted (runs cascade)
      // Recorded as a failed attempt and retried like one, so the claim never outlives the job.
      ctx.logger.error({ err: error, run_uuid: claimed.uuid }, 'agent payload could not be built');
      payload = null;
    }
    if (payload === null) {
      outcome = {
        ok: false,
        status_code: null,
        error: 'Internal error: the payload could not be built',
        duration_ms: 0,
        response_body: null,
        blocked: false,
      };
    } else {
      body = JSON.stringify(payload);
      outcome = await postToAgent(ctx, agent, {
        body,
        event: EVENT_ALERT_ENRICHED,
        deliveryId: claimed.uuid,
        idempotencyKey: claimed.idempotency_key,
        secret,
      });
    }
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
      .updateTable('agent_runs')
      .set({
        status,
        attempts: sql`attempts || ${JSON.stringify([record])}::jsonb`,
        response_status_code: outcome.status_code,
        response_body: outcome.response_body === null ? null : JSON.stringify(outcome.response_body),
        error: outcome.error,
        duration_ms: outcome.duration_ms,
        ...(payload === null ? {} : { request_payload: body, payload_bytes: Buffer.byteLength(body) }),
        next_attempt_at: status === 'retrying' ? new Date(now.getTime() + delay * 1000) : null,
        completed_at: status === 'retrying' ? null : now,
        updated_at: now,
      })
      .where('id', '=', run.id)
      .execute();
    if (status === 'retrying') {
      await ctx.queue.send(
        JOB,
        { alert_id: data.alert_id, agent_id: agent.id, run_id: run.id, attempt: attempt + 1 },
        { db: trx, ...(delay > 0 ? { startAfterSeconds: delay } : {}) },
      );
    } else {
      await finishRun(
        ctx,
        agent,
        run,
        status,
        { status_code: outcome.status_code, attempt_count: attempt, error: outcome.error },
        trx,
      );
    }
  });
  if (status === 'retrying') ctx.queue.announce(JOB);
  countDeliveryAttempt(agent.name, status, body === '' ? null : outcome.duration_ms / 1000);
  if (status === 'delivered' && run.trigger === 'auto') await observeDelivered(ctx, data.alert_id, now);
  ctx.logger.debug({ run_uuid: run.uuid, agent_uuid: agent.uuid, attempt, status, delay }, 'agent delivery attempt');
}

/** Enriched → delivered, for the alert's automatic delivery (a redelivery measures nothing of the pipeline). */
async function observeDelivered(ctx: ServiceContext, alertId: number, deliveredAt: Date): Promise<void> {
  const alert = await ctx.db.selectFrom('alerts').select('enriched_at').where('id', '=', alertId).executeTakeFirst();
  if (alert?.enriched_at) observeAlertDelivered((deliveredAt.getTime() - alert.enriched_at.getTime()) / 1000);
}

/** The synthetic alert of `POST /v1/agents/{uuid}/test`, in the shape of the agent payload. */
export function testPayload(agentName: string, apiBaseUrl: string) {
  const now = new Date().toISOString();
  return {
    schema: 'calseta.alert.v1',
    test: true,
    notice: 'Test delivery from Calseta: no alert exists; nothing to do.',
    alert: {
      uuid: '00000000-0000-0000-0000-000000000000',
      title: 'Calseta — Test Webhook',
      severity: 'Low',
      status: 'Open',
      source_name: agentName,
      occurred_at: now,
      ingested_at: now,
      is_enriched: false,
      tags: ['test'],
    },
    indicators: [],
    detection_rule: null,
    context_documents: [],
    related_alerts: [],
    workflows: [],
    links: { api: apiBaseUrl.replace(/\/+$/, '') },
    trimmed: [],
    token_count: 0,
  };
}

/**
 * `POST /v1/agents/{uuid}/test`: one signed synthetic delivery, synchronously, through the same
 * SSRF-guarded client as real deliveries (reference quirk 31 fixed). Nothing is recorded.
 */
export async function testAgent(ctx: ServiceContext, { uuid: agentUuid }: { uuid: string }): Promise<AgentTestResult> {
  authorize(ctx, 'agents:write');
  const agent = await findAgent(ctx.db, agentUuid);
  const secret = signingSecretOf(ctx, agent);
  if (secret === null) {
    return {
      delivered: false,
      status_code: null,
      duration_ms: 0,
      error: 'Signing secret unavailable: ENCRYPTION_KEY is missing or changed; rotate the signing secret.',
    };
  }
  const body = JSON.stringify(testPayload(agent.name, ctx.config.apiBaseUrl ?? 'http://localhost:8000'));
  const id = newUuid();
  const outcome = await postToAgent(ctx, agent, {
    body,
    event: EVENT_TEST,
    deliveryId: id,
    idempotencyKey: id,
    secret,
  });
  return {
    delivered: outcome.ok,
    status_code: outcome.status_code,
    duration_ms: outcome.duration_ms,
    error: outcome.error,
  };
}
