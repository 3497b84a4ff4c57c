import type { Db } from '@calseta/db';
import type {
  AgentRun,
  AgentRunAttempt,
  AgentRunDetail,
  AgentRunStatus,
  AgentRunTrigger,
  PageQuery,
} from '@calseta/schema';
import { alertIdByUuid } from '../alerts/read.js';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound } from '../infra/errors.js';
import { iso, pageOf } from '../infra/serialize.js';
import { findAgent } from './registry.js';

function runQuery(db: Db) {
  return db
    .selectFrom('agent_runs as r')
    .innerJoin('agent_registrations as a', 'a.id', 'r.agent_registration_id')
    .innerJoin('alerts as al', 'al.id', 'r.alert_id')
    .leftJoin('agent_runs as o', 'o.id', 'r.redelivery_of_id')
    .select([
      'r.id',
      'r.uuid',
      'a.uuid as agent_uuid',
      'a.name as agent_name',
      'a.retry_count',
      'al.uuid as alert_uuid',
      'r.trigger',
      'r.idempotency_key',
      'r.status',
      'r.attempt_count',
      'r.next_attempt_at',
      'r.response_status_code',
      'r.error',
      'r.duration_ms',
      'r.payload_bytes',
      'r.started_at',
      'r.completed_at',
      'o.uuid as redelivery_of',
      'r.created_at',
      'r.updated_at',
    ]);
}

type RunRow = Awaited<ReturnType<ReturnType<typeof runQuery>['executeTakeFirstOrThrow']>>;

function toAgentRun(row: RunRow): AgentRun {
  return {
    uuid: row.uuid,
    agent_uuid: row.agent_uuid,
    agent_name: row.agent_name,
    alert_uuid: row.alert_uuid,
    trigger: row.trigger as AgentRunTrigger,
    idempotency_key: row.idempotency_key,
    status: row.status as AgentRunStatus,
    attempt_count: row.attempt_count,
    max_attempts: row.retry_count + 1,
    next_attempt_at: iso(row.next_attempt_at),
    response_status_code: row.response_status_code,
    error: row.error,
    duration_ms: row.duration_ms,
    payload_bytes: row.payload_bytes,
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
    redelivery_of: row.redelivery_of ?? null,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

async function page(ctx: ServiceContext, where: { agentId?: number; alertId?: number }, query: PageQuery) {
  let base = runQuery(ctx.db);
  let count = ctx.db.selectFrom('agent_runs as r').select((eb) => eb.fn.countAll<string>().as('n'));
  if (where.agentId !== undefined) {
    base = base.where('r.agent_registration_id', '=', where.agentId);
    count = count.where('r.agent_registration_id', '=', where.agentId);
  }
  if (where.alertId !== undefined) {
    base = base.where('r.alert_id', '=', where.alertId);
    count = count.where('r.alert_id', '=', where.alertId);
  }
  const [rows, total] = await Promise.all([
    base
      .orderBy('r.created_at', 'desc')
      .orderBy('r.id', 'desc')
      .limit(query.page_size)
      .offset((query.page - 1) * query.page_size)
      .execute(),
    count.executeTakeFirstOrThrow(),
  ]);
  return pageOf(rows.map(toAgentRun), Number(total.n), query);
}

/** `GET /v1/agents/{uuid}/runs`: the agent's deliveries, newest first. */
export async function listAgentRuns(
  ctx: ServiceContext,
  { uuid: agentUuid, query }: { uuid: string; query: PageQuery },
) {
  authorize(ctx, 'agents:read');
  const agent = await findAgent(ctx.db, agentUuid);
  return page(ctx, { agentId: agent.id }, query);
}

/** `GET /v1/alerts/{uuid}/agent-runs`: deliveries of one alert to any agent, newest first. */
export async function listAlertAgentRuns(
  ctx: ServiceContext,
  { uuid: alertUuid, query }: { uuid: string; query: PageQuery },
) {
  authorize(ctx, 'agents:read');
  return page(ctx, { alertId: await alertIdByUuid(ctx.db, alertUuid) }, query);
}

/** Internal: one delivery as returned by the API. */
export async function agentRunById(db: Db, id: number): Promise<AgentRun> {
  const row = await runQuery(db).where('r.id', '=', id).executeTakeFirst();
  if (!row) throw notFound('Agent run');
  return toAgentRun(row);
}

/** `GET /v1/agent-runs/{uuid}`: one delivery with every attempt. */
export async function getAgentRun(ctx: ServiceContext, { uuid: runUuid }: { uuid: string }): Promise<AgentRunDetail> {
  authorize(ctx, 'agents:read');
  const row = await runQuery(ctx.db)
    .select(['r.attempts', 'r.response_body', 'r.request_payload'])
    .where('r.uuid', '=', runUuid)
    .executeTakeFirst();
  if (!row) throw notFound('Agent run');
  return {
    ...toAgentRun(row),
    attempts: row.attempts as unknown as AgentRunAttempt[],
    response_body: row.response_body ?? null,
    request_payload: row.request_payload ?? null,
  };
}
