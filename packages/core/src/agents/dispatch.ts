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
import { activityRow, insertActivityRows } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound, ServiceError } from '../infra/errors.js';
import { groupCommitPerDatabase } from '../infra/group-commit.js';
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
export const LEASE_MARGIN_SECONDS = 30;
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
          // A literal: a prepared statement's generic plan cannot infer the partial unique index from a parameter.
          oc.columns(['alert_id', 'agent_registration_id']).where('trigger', '=', sql.lit('auto')).doNothing(),
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
  const redelivery = await ctx.db.transaction().execute(async (trx) => {
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
    // Read in the transaction: once committed, a worker may already be delivering it.
    return agentRunById(trx, queued.id);
  });
  ctx.queue.announce(JOB);
  return redelivery;
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

/** The activity event of a delivery that has finished (delivered, failed or cancelled). */
export function finishedActivity(
  ctx: ServiceContext,
  agent: AgentRow,
  run: Pick<ClaimedRun, 'uuid' | 'idempotency_key' | 'trigger' | 'alert_id'>,
  status: 'delivered' | 'failed' | 'cancelled',
  fields: { status_code: number | null; attempt_count: number; error: string | null },
) {
  return {
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
  };
}

/** A delivery being attempted: its run, claimed for `attempt` by this process. */
export interface ClaimedRun {
  id: number;
  uuid: string;
  idempotency_key: string;
  trigger: string;
  alert_id: number;
}

/** What one attempt produced, to be recorded (`recordAttempt`). */
export interface AttemptRecord {
  agent: AgentRow;
  run: ClaimedRun;
  attempt: number;
  startedAt: Date;
  outcome: Awaited<ReturnType<typeof postToAgent>>;
  /** The body sent ('' when none was built). */
  body: string;
  /** Enriched → delivered is observed from here (the automatic delivery of a fresh enrichment). */
  enrichedAt?: Date | null;
}

/**
 * One attempt of one delivery: sign and POST the payload `build` makes (serialized once). A missing
 * signing secret or an unbuildable payload is a failed attempt, recorded like any other; null when
 * the alert is gone (its deliveries went with it).
 */
export async function attemptDelivery(
  ctx: ServiceContext,
  agent: AgentRow,
  run: ClaimedRun,
  attempt: number,
  build: () => Promise<unknown>,
): Promise<AttemptRecord | null> {
  const startedAt = new Date();
  const secret = signingSecretOf(ctx, agent);
  const refused = (error: string, blocked: boolean) => ({
    ok: false,
    status_code: null,
    error,
    duration_ms: 0,
    response_body: null,
    blocked,
  });
  if (secret === null) {
    const error = 'Signing secret unavailable: ENCRYPTION_KEY is missing or changed; rotate the signing secret.';
    return { agent, run, attempt, startedAt, outcome: refused(error, true), body: '' };
  }
  let payload: unknown = null;
  try {
    payload = await build();
  } catch (error) {
    if (error instanceof ServiceError && error.code === 'NOT_FOUND') return null; // alert deleted (runs cascade)
    // Recorded as a failed attempt and retried like one, so the claim never outlives the job.
    ctx.logger.error({ err: error, run_uuid: run.uuid }, 'agent payload could not be built');
  }
  if (payload === null) {
    const outcome = refused('Internal error: the payload could not be built', false);
    return { agent, run, attempt, startedAt, outcome, body: '' };
  }
  const body = JSON.stringify(payload);
  const outcome = await postToAgent(ctx, agent, {
    body,
    event: EVENT_ALERT_ENRICHED,
    deliveryId: run.uuid,
    idempotencyKey: run.idempotency_key,
    secret,
  });
  return { agent, run, attempt, startedAt, outcome, body };
}

/**
 * The `dispatch-agent` job: one attempt of one delivery (a retry, a redelivery, a manual or
 * single dispatch, or a first attempt whose worker died). Builds the alert's agent payload, signs
 * and POSTs it; 2xx → `delivered`; otherwise the attempt is recorded and the next one scheduled
 * with backoff and jitter, until `retry_count + 1` attempts → `failed`. An endpoint refused by the
 * outbound policy fails at once (retrying would not change that).
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
        await trx
          .insertInto('activity_events')
          .values(
            finishedActivity(ctx, agent, run, 'cancelled', {
              status_code: null,
              attempt_count: run.attempt_count,
              error: 'Agent is inactive',
            }),
          )
          .execute();
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
  const record = await attemptDelivery(ctx, agent, { ...run, ...claimed }, attempt, () =>
    buildAlertPayload(ctx, data.alert_id, { tokenBudget: agent.token_budget ?? undefined }),
  );
  if (record !== null) await recordAttempt(ctx, record);
}

interface RecordedAttempt {
  status: 'delivered' | 'failed' | 'retrying';
  delay: number;
}

const recorderOf = groupCommitPerDatabase((ctx: ServiceContext) => ({
  commit: (records: AttemptRecord[]) => commitAttempts(ctx, records),
  keyOf: (r: AttemptRecord) => String(r.run.id),
  logger: ctx.logger,
  batchFailed: 'recording delivery attempts failed; recording them one by one',
  maxBatch: 200,
}));

/**
 * Record an attempt: the run's status and attempt log, its activity event once finished, the next
 * attempt's job when it is to be retried. Attempts finishing together are recorded together: one
 * statement each for the runs, the events and the retries, one commit (group commit per process).
 */
export async function recordAttempt(ctx: ServiceContext, record: AttemptRecord): Promise<RecordedAttempt> {
  const recorded = await recorderOf(ctx).submit(record);
  const { agent, run, attempt, outcome, body } = record;
  if (recorded.status === 'retrying') ctx.queue.announce(JOB);
  countDeliveryAttempt(agent.name, recorded.status, body === '' ? null : outcome.duration_ms / 1000);
  if (recorded.status === 'delivered' && run.trigger === 'auto') {
    const enrichedAt = record.enrichedAt === undefined ? await enrichedAtOf(ctx, run.alert_id) : record.enrichedAt;
    if (enrichedAt) observeAlertDelivered((Date.now() - enrichedAt.getTime()) / 1000);
  }
  ctx.logger.debug(
    { run_uuid: run.uuid, agent_uuid: agent.uuid, attempt, status: recorded.status, delay: recorded.delay },
    'agent delivery attempt',
  );
  return recorded;
}

async function commitAttempts(ctx: ServiceContext, records: AttemptRecord[]): Promise<RecordedAttempt[]> {
  const now = new Date();
  const decided = records.map((r) => {
    const maxAttempts = r.agent.retry_count + 1;
    const status: RecordedAttempt['status'] = r.outcome.ok
      ? 'delivered'
      : r.outcome.blocked || r.attempt >= maxAttempts
        ? 'failed'
        : 'retrying';
    const delay = status === 'retrying' ? retryDelaySeconds(r.attempt + 1, ctx.config.agentDispatch) : 0;
    return { status, delay };
  });
  const rows = records.map((r, i) => {
    const { status, delay } = decided[i] as RecordedAttempt;
    const attempt: AgentRunAttempt = {
      attempt: r.attempt,
      started_at: r.startedAt.toISOString(),
      status_code: r.outcome.status_code,
      error: r.outcome.error,
      duration_ms: r.outcome.duration_ms,
    };
    return {
      id: r.run.id,
      status,
      attempt,
      status_code: r.outcome.status_code,
      response_body: r.outcome.response_body,
      error: r.outcome.error,
      duration_ms: r.outcome.duration_ms,
      payload: r.body === '' ? null : r.body,
      payload_bytes: r.body === '' ? null : Buffer.byteLength(r.body),
      next_attempt_at: status === 'retrying' ? new Date(now.getTime() + delay * 1000).toISOString() : null,
      completed_at: status === 'retrying' ? null : now.toISOString(),
    };
  });
  // The runs by primary key (`= ANY`), whatever plan the batch's size suggests: a hash join on the
  // recordset's guessed 100 rows scanned the whole table.
  const ids = rows.map((r) => r.id);
  await ctx.db.transaction().execute(async (trx) => {
    // An attempt is the delivery's current one unless it outlived its lease and a newer one was
    // claimed since (sweepStalledDeliveries): then only its log entry is added, and the newer
    // attempt's state, retries and activity stay its own.
    const { rows: applied } = await sql<{ id: number }>`
      WITH u AS (
        SELECT * FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS u(
          id bigint, status text, attempt jsonb, status_code int, response_body jsonb, error text, duration_ms int,
          payload text, payload_bytes int, next_attempt_at timestamptz, completed_at timestamptz)
      ), late AS (
        UPDATE agent_runs AS r SET attempts = r.attempts || jsonb_build_array(u.attempt), updated_at = ${now}
        FROM u WHERE r.id = u.id AND r.id = ANY(${ids}::bigint[]) AND r.attempt_count <> (u.attempt->>'attempt')::int
      )
      UPDATE agent_runs AS r SET
        status = u.status,
        attempts = r.attempts || jsonb_build_array(u.attempt),
        response_status_code = u.status_code,
        response_body = u.response_body,
        error = u.error,
        duration_ms = u.duration_ms,
        request_payload = coalesce(u.payload::jsonb, r.request_payload),
        payload_bytes = coalesce(u.payload_bytes, r.payload_bytes),
        next_attempt_at = u.next_attempt_at,
        completed_at = u.completed_at,
        updated_at = ${now}
      FROM u
      WHERE r.id = u.id AND r.id = ANY(${ids}::bigint[]) AND r.attempt_count = (u.attempt->>'attempt')::int
      RETURNING r.id`.execute(trx);
    const current = new Set(applied.map((r) => Number(r.id)));
    const finished = records.flatMap((r, i) => {
      const { status } = decided[i] as RecordedAttempt;
      if (status === 'retrying' || !current.has(r.run.id)) return [];
      return [
        finishedActivity(ctx, r.agent, r.run, status, {
          status_code: r.outcome.status_code,
          attempt_count: r.attempt,
          error: r.outcome.error,
        }),
      ];
    });
    await insertActivityRows(trx, finished);
    const retries = records.flatMap((r, i) => {
      const { status, delay } = decided[i] as RecordedAttempt;
      if (status !== 'retrying' || !current.has(r.run.id)) return [];
      return [
        {
          alert_id: r.run.alert_id,
          agent_id: r.agent.id,
          run_id: r.run.id,
          attempt: r.attempt + 1,
          ...(delay > 0 ? { startAfterSeconds: delay } : {}),
        },
      ];
    });
    await ctx.queue.sendMany(JOB, retries, { db: trx });
  });
  return decided;
}

/**
 * Deliveries whose attempt outlived its lease (the agent's timeout + margin): the worker making it
 * died. The attempt is recorded as cut short and the next one queued (a `dispatch-agent` job), in
 * one transaction. The receiver may have got the cut attempt: the retry carries the same
 * idempotency key. The worker runs this every few seconds (docs/adr/0014).
 */
export async function sweepStalledDeliveries(ctx: ServiceContext, limit = 500): Promise<number> {
  const swept = await ctx.db.transaction().execute(async (trx) => {
    const { rows } = await sql<{ id: number; alert_id: number; agent_registration_id: number; attempt_count: number }>`
      UPDATE agent_runs AS r SET
        status = 'retrying',
        next_attempt_at = now(),
        updated_at = now(),
        attempts = r.attempts || jsonb_build_array(jsonb_build_object(
          'attempt', r.attempt_count,
          'started_at', to_char(r.updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
          'status_code', NULL,
          'error', 'The worker making this attempt stopped before it was recorded; retried with the same idempotency key.',
          'duration_ms', (extract(epoch FROM now() - r.updated_at) * 1000)::int))
      WHERE r.id IN (
        SELECT id FROM agent_runs WHERE status = 'delivering' AND next_attempt_at < now()
        ORDER BY next_attempt_at LIMIT ${limit} FOR UPDATE SKIP LOCKED)
      RETURNING r.id, r.alert_id, r.agent_registration_id, r.attempt_count`.execute(trx);
    await ctx.queue.sendMany(
      JOB,
      rows.map((r) => ({
        alert_id: r.alert_id,
        agent_id: r.agent_registration_id,
        run_id: r.id,
        attempt: r.attempt_count + 1,
      })),
      { db: trx },
    );
    return rows.length;
  });
  // Announced once committed: a worker woken before the commit finds nothing and waits for its next poll.
  if (swept > 0) {
    ctx.logger.warn({ deliveries: swept }, 'retrying deliveries whose worker stopped during an attempt');
    ctx.queue.announce(JOB);
  }
  return swept;
}

async function enrichedAtOf(ctx: ServiceContext, alertId: number): Promise<Date | null> {
  const alert = await ctx.db.selectFrom('alerts').select('enriched_at').where('id', '=', alertId).executeTakeFirst();
  return alert?.enriched_at ?? null;
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
