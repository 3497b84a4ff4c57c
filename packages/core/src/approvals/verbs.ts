import type { Db, WorkflowRow } from '@calseta/db';
import type {
  ApprovalListQuery,
  ApprovalNotifier,
  ApprovalStatus,
  PageQuery,
  PendingApproval,
  WorkflowApproval,
} from '@calseta/schema';
import { authorize } from '../auth/permissions.js';
import { activityRow } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound, ServiceError } from '../infra/errors.js';
import { newUuid } from '../infra/ids.js';
import { csv, iso, paginate } from '../infra/serialize.js';
import { insertQueuedRun } from '../workflows/runs.js';
import { findWorkflow } from '../workflows/verbs.js';
import { decisionRefusal, type Principal, principalOf } from './identity.js';
import { decideToken, decideTokenMatches, hashDecideToken } from './token.js';

export type ApprovalMode = 'always' | 'agent_only' | 'never';
export type Decision = 'approve' | 'reject';

/** Whether an execution must be approved first: `always`; `agent_only` for agent keys; `never` runs. */
export function needsApproval(mode: string, trigger: string): boolean {
  if (mode === 'never') return false;
  if (mode === 'agent_only') return trigger === 'agent';
  return true; // `always`, and anything unknown fails closed
}

export interface ApprovalTriggerContext {
  indicator_type: string;
  indicator_value: string;
  alert_id: number | null;
  alert_uuid: string | null;
  /** The code version shown to the approver: the one that runs on approval. */
  code_version?: number;
  /** The requester's identity (`Principal.id`), so it can never decide its own request. */
  requested_by?: string;
}

type ApprovalJoin = {
  id: number;
  uuid: string;
  workflow_id: number;
  workflow_uuid: string;
  workflow_name: string;
  risk_level: string;
  status: string;
  trigger_type: string;
  trigger_agent_key_prefix: string;
  trigger_context: unknown;
  reason: string;
  confidence: number;
  notifier_type: string;
  notifier_channel: string | null;
  responder_id: string | null;
  responded_at: Date | null;
  expires_at: Date;
  run_uuid: string | null;
  execution_result: unknown;
  decide_token: string | null;
  created_at: Date;
  updated_at: Date;
};

/** The columns of an approval request with its workflow and run. */
const APPROVAL_COLUMNS = [
  'a.id',
  'a.uuid',
  'a.workflow_id',
  'w.uuid as workflow_uuid',
  'w.name as workflow_name',
  'w.risk_level',
  'a.status',
  'a.trigger_type',
  'a.trigger_agent_key_prefix',
  'a.trigger_context',
  'a.reason',
  'a.confidence',
  'a.notifier_type',
  'a.notifier_channel',
  'a.responder_id',
  'a.responded_at',
  'a.expires_at',
  'r.uuid as run_uuid',
  'a.execution_result',
  'a.decide_token',
  'a.created_at',
  'a.updated_at',
] as const;

/** Approval requests joined with their workflow and run. */
function approvalRows(db: Db) {
  return db
    .selectFrom('workflow_approval_requests as a')
    .innerJoin('workflows as w', 'w.id', 'a.workflow_id')
    .leftJoin('workflow_runs as r', 'r.id', 'a.workflow_run_id');
}

export function approvalQuery(db: Db) {
  return approvalRows(db).select(APPROVAL_COLUMNS);
}

export type ApprovalRecord = ApprovalJoin;

/** The wire shape; pending rows past their expiry read as expired even before the sweeper ran. */
export function toApproval(row: ApprovalJoin, now = new Date()): WorkflowApproval {
  const ctx = row.trigger_context as ApprovalTriggerContext | null;
  const result = row.execution_result as { success: boolean; message: string; data: unknown } | null;
  const expired = row.status === 'pending' && row.expires_at.getTime() <= now.getTime();
  return {
    uuid: row.uuid,
    workflow_uuid: row.workflow_uuid,
    workflow_name: row.workflow_name,
    risk_level: row.risk_level,
    status: (expired ? 'expired' : row.status) as ApprovalStatus,
    trigger_type: row.trigger_type,
    trigger_agent_key_prefix: row.trigger_agent_key_prefix,
    trigger_context: ctx
      ? {
          indicator_type: ctx.indicator_type,
          indicator_value: ctx.indicator_value,
          alert_id: ctx.alert_id ?? null,
          alert_uuid: ctx.alert_uuid ?? null,
        }
      : null,
    reason: row.reason,
    confidence: row.confidence,
    notifier_type: row.notifier_type as ApprovalNotifier,
    notifier_channel: row.notifier_channel,
    responder_id: row.responder_id,
    responded_at: iso(row.responded_at),
    expires_at: iso(row.expires_at) as string,
    run_uuid: row.run_uuid,
    execution_result: result ? { success: result.success, message: result.message, data: result.data } : null,
    created_at: iso(row.created_at) as string,
    updated_at: iso(row.updated_at) as string,
  };
}

function approvalActivity(
  ctx: Pick<ServiceContext, 'actor' | 'requestId'>,
  type: 'workflow_approval_requested' | 'workflow_approval_responded',
  workflow: { id: number; uuid: string; name: string },
  alertId: number | null,
  references: Record<string, unknown>,
) {
  return {
    ...activityRow(ctx, {
      type,
      alertId,
      references: { workflow_uuid: workflow.uuid, workflow_name: workflow.name, ...references },
    }),
    workflow_id: workflow.id,
  };
}

function notifierOf(ctx: Pick<ServiceContext, 'config'>): ApprovalNotifier {
  return ctx.config.approvals?.notifier ?? 'none';
}

/**
 * Gate of an execution (inside the execute transaction): a pending request instead of a run. The
 * row keeps the decide token's SHA-256 only; the notification job carries the request's id, and the
 * notifier derives the token again for its link (token.ts). The requester's identity is recorded.
 */
export async function requestApproval(
  ctx: ServiceContext,
  trx: Db,
  workflow: WorkflowRow,
  input: {
    trigger: string;
    context: ApprovalTriggerContext;
    reason: string | undefined;
    confidence: number | undefined;
  },
): Promise<PendingApproval> {
  const uuid = newUuid();
  const token = decideToken(ctx.config.encryptionKey, uuid);
  const notifier = notifierOf(ctx);
  const prefix = ctx.actor.type === 'system' ? 'system' : ctx.actor.key.prefix;
  const timeout = workflow.approval_timeout_seconds > 0 ? workflow.approval_timeout_seconds : 3600;
  const inserted = await trx
    .insertInto('workflow_approval_requests')
    .values({
      uuid,
      workflow_id: workflow.id,
      trigger_type: input.trigger,
      trigger_agent_key_prefix: prefix,
      trigger_context: JSON.stringify({
        ...input.context,
        code_version: workflow.code_version,
        requested_by: principalOf(ctx.actor).id,
      }),
      reason: input.reason ?? '',
      confidence: input.confidence ?? 0,
      notifier_type: notifier,
      notifier_channel: workflow.approval_channel,
      status: 'pending',
      expires_at: new Date(Date.now() + timeout * 1000),
      decide_token: token === null ? null : hashDecideToken(token),
    })
    .returning(['id', 'uuid'])
    .executeTakeFirstOrThrow();
  const row = await approvalQuery(trx).where('a.id', '=', inserted.id).executeTakeFirstOrThrow();
  const approval = toApproval(row);
  await trx
    .insertInto('activity_events')
    .values(
      approvalActivity(ctx, 'workflow_approval_requested', workflow, input.context.alert_id, {
        approval_uuid: approval.uuid,
        trigger_source: input.trigger,
        reason: approval.reason,
        confidence: approval.confidence,
        indicator_type: input.context.indicator_type,
        indicator_value: input.context.indicator_value,
        expires_at: approval.expires_at,
      }),
    )
    .execute();
  if (notifier !== 'none') {
    await ctx.queue.send('notify-approval', { approval_id: inserted.id, event: 'requested' }, { db: trx });
  }
  return {
    status: 'pending_approval',
    approval_request_uuid: approval.uuid,
    expires_at: approval.expires_at,
    approval,
  };
}

/**
 * Mark pending requests past `expires_at` expired (all, or those of `ids`) and queue their expiry
 * notifications; returns how many. Used by the sweeper and lazily by every read and decision.
 */
export async function expireStaleApprovals(ctx: Pick<ServiceContext, 'db' | 'queue'>, ids?: number[]) {
  if (ids !== undefined && ids.length === 0) return 0;
  const expired = await ctx.db.transaction().execute(async (trx) => {
    let query = trx
      .updateTable('workflow_approval_requests')
      .set({ status: 'expired', updated_at: new Date() })
      .where('status', '=', 'pending')
      .where('expires_at', '<=', new Date());
    if (ids !== undefined) query = query.where('id', 'in', ids);
    const rows = await query.returning(['id', 'notifier_type']).execute();
    const notify = rows.filter((r) => r.notifier_type !== 'none');
    if (notify.length > 0) {
      await ctx.queue.sendMany(
        'notify-approval',
        notify.map((r) => ({ approval_id: r.id, event: 'expired' as const })),
        { db: trx },
      );
    }
    return { count: rows.length, notified: notify.length };
  });
  if (expired.notified > 0) ctx.queue.announce('notify-approval');
  return expired.count;
}

/** Worker (`sweep-approvals`): expire every stale pending request. */
export async function sweepApprovals(ctx: ServiceContext): Promise<number> {
  const count = await expireStaleApprovals(ctx);
  if (count > 0) ctx.logger.info({ expired: count }, 'approval requests expired');
  return count;
}

const isStale = (row: ApprovalJoin) => row.status === 'pending' && row.expires_at.getTime() <= Date.now();

export async function listApprovals(ctx: ServiceContext, query: ApprovalListQuery & PageQuery) {
  authorize(ctx, 'approvals:write');
  let base = approvalRows(ctx.db);
  if (query.workflow_uuid !== undefined) {
    const workflow = await findWorkflow(ctx.db, query.workflow_uuid);
    base = base.where('a.workflow_id', '=', workflow.id);
  }
  await expireStaleApprovals(ctx);
  const statuses = csv(query.status);
  if (statuses) base = base.where('a.status', 'in', statuses);
  return paginate(
    base,
    query,
    (q) => q.select(APPROVAL_COLUMNS).orderBy('a.created_at', 'desc').orderBy('a.id', 'desc'),
    (row) => toApproval(row),
  );
}

async function findApproval(ctx: Pick<ServiceContext, 'db' | 'queue'>, uuid: string): Promise<ApprovalJoin> {
  let row = await approvalQuery(ctx.db).where('a.uuid', '=', uuid).executeTakeFirst();
  if (!row) throw notFound('Approval request');
  if (isStale(row)) {
    await expireStaleApprovals(ctx, [row.id]);
    row = await approvalQuery(ctx.db).where('a.uuid', '=', uuid).executeTakeFirstOrThrow();
  }
  return row;
}

export async function getApproval(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<WorkflowApproval> {
  authorize(ctx, 'approvals:write');
  return toApproval(await findApproval(ctx, uuid));
}

export interface DecideOptions {
  /** Who decides, authenticated by the transport: a key, a verified Slack user, the link's holder. */
  decider: Principal;
  /** Through what: REST (key), the browser page (token), or a verified Slack button. */
  via: 'rest' | 'browser' | 'slack';
}

const REFUSALS = {
  agent: 'Agent keys cannot decide approval requests: a person must.',
  requester: 'The requester of an approval cannot decide it: another person must.',
} as const;

const refused = (reason: keyof typeof REFUSALS) => new ServiceError('FORBIDDEN', REFUSALS[reason], { reason });

/**
 * Approve or reject a pending request. Approval creates the run and its job in the same
 * transaction (the code version shown to the approver runs). The decider is checked against the
 * locked row (agents and the requester are refused, 403). Decided → 409
 * `APPROVAL_ALREADY_DECIDED`; past expiry → marked expired, 409 `APPROVAL_EXPIRED`.
 */
export async function decideApproval(
  ctx: ServiceContext,
  uuid: string,
  decision: Decision,
  options: DecideOptions,
): Promise<WorkflowApproval> {
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const row = await trx
      .selectFrom('workflow_approval_requests')
      .selectAll()
      .where('uuid', '=', uuid)
      .forUpdate()
      .executeTakeFirst();
    if (!row) throw notFound('Approval request');
    const trigger = (row.trigger_context ?? {}) as unknown as ApprovalTriggerContext;
    const refusal = decisionRefusal(
      { requested_by: trigger.requested_by, trigger_agent_key_prefix: row.trigger_agent_key_prefix },
      options.decider,
    );
    if (refusal !== null) throw refused(refusal);
    if (row.status === 'expired') return 'expired' as const;
    if (row.status !== 'pending') {
      throw new ServiceError('APPROVAL_ALREADY_DECIDED', `This approval request is already ${row.status}.`, {
        status: row.status,
      });
    }
    if (row.expires_at.getTime() <= Date.now()) return 'expired' as const;
    const workflow = await trx
      .selectFrom('workflows')
      .selectAll()
      .where('id', '=', row.workflow_id)
      .executeTakeFirstOrThrow();
    const responderId = options.decider.id;
    let runId: number | null = null;
    if (decision === 'approve') {
      runId = await insertQueuedRun(ctx, trx, workflow, {
        trigger: row.trigger_type,
        codeVersion: trigger.code_version ?? workflow.code_version,
        context: {
          indicator_type: trigger.indicator_type,
          indicator_value: trigger.indicator_value,
          alert_id: trigger.alert_id ?? null,
          alert_uuid: trigger.alert_uuid ?? null,
          reason: row.reason,
          confidence: row.confidence,
          requested_by: row.trigger_agent_key_prefix,
          approval_uuid: row.uuid,
          approved_by: responderId,
        },
      });
    }
    await trx
      .updateTable('workflow_approval_requests')
      .set({
        status: decision === 'approve' ? 'approved' : 'rejected',
        responder_id: responderId,
        responded_at: new Date(),
        workflow_run_id: runId,
        updated_at: new Date(),
      })
      .where('id', '=', row.id)
      .execute();
    await trx
      .insertInto('activity_events')
      .values(
        approvalActivity(ctx, 'workflow_approval_responded', workflow, trigger.alert_id ?? null, {
          approval_uuid: row.uuid,
          decision: decision === 'approve' ? 'approved' : 'rejected',
          responder_id: responderId,
          via: options.via,
          indicator_type: trigger.indicator_type,
          indicator_value: trigger.indicator_value,
          actor_key_prefix: ctx.actor.type === 'system' ? null : ctx.actor.key.prefix,
          actor_key_name: ctx.actor.type === 'system' ? null : ctx.actor.key.name,
        }),
      )
      .execute();
    if (row.notifier_type !== 'none') {
      await ctx.queue.send('notify-approval', { approval_id: row.id, event: 'decided' }, { db: trx });
    }
    // Read in the transaction: once committed, a worker may already have run it (execution_result).
    return approvalQuery(trx).where('a.id', '=', row.id).executeTakeFirstOrThrow();
  });
  if (outcome === 'expired') {
    const row = await findApproval(ctx, uuid);
    throw new ServiceError('APPROVAL_EXPIRED', 'This approval request has expired; request the execution again.', {
      expires_at: iso(row.expires_at),
    });
  }
  ctx.queue.announce('execute-workflow');
  ctx.queue.announce('notify-approval');
  return toApproval(outcome);
}

/**
 * REST approve / reject (`approvals:write`, a person's key): the responder is the authenticated key.
 * The reference's body `responder_id` is accepted for wire compatibility and ignored — a caller
 * could otherwise record anyone as the approver (docs/api/differences.md).
 */
export async function respondToApproval(
  ctx: ServiceContext,
  { uuid, decision }: { uuid: string; decision: Decision; input?: { responder_id?: string | undefined } },
): Promise<WorkflowApproval> {
  authorize(ctx, 'approvals:write');
  const decider = principalOf(ctx.actor);
  if (decider.kind === 'agent') throw refused('agent'); // before revealing whether the request exists
  return decideApproval(ctx, uuid, decision, { decider, via: 'rest' });
}

export interface ApprovalPreview {
  approval: WorkflowApproval;
  /** The code that runs on approval (the version recorded at request time). */
  code: string;
  code_version: number;
  timeout_seconds: number;
  alert: { uuid: string; title: string; severity: string; source_name: string } | null;
}

/** Token check for the browser page: 404 unknown request, 403 wrong token (constant-time compare). */
export async function checkDecideToken(
  ctx: Pick<ServiceContext, 'db' | 'queue'>,
  { uuid, token }: { uuid: string; token: string | undefined },
): Promise<ApprovalJoin> {
  const row = await findApproval(ctx, uuid);
  if (!decideTokenMatches(row.decide_token, token)) {
    throw new ServiceError('FORBIDDEN', 'The approval link is invalid.');
  }
  return row;
}

/** What the browser page shows: the request, and exactly what will run. Lazily expires. */
export async function approvalPreview(
  ctx: Pick<ServiceContext, 'db' | 'queue'>,
  { uuid, token }: { uuid: string; token: string | undefined },
): Promise<ApprovalPreview> {
  const row = await checkDecideToken(ctx, { uuid, token });
  const workflow = await ctx.db
    .selectFrom('workflows')
    .selectAll()
    .where('id', '=', row.workflow_id)
    .executeTakeFirstOrThrow();
  const trigger = (row.trigger_context ?? {}) as unknown as ApprovalTriggerContext;
  const version = trigger.code_version ?? workflow.code_version;
  let code = workflow.code;
  if (version !== workflow.code_version) {
    const saved = await ctx.db
      .selectFrom('workflow_code_versions')
      .select('code')
      .where('workflow_id', '=', workflow.id)
      .where('version', '=', version)
      .orderBy('id', 'desc')
      .executeTakeFirst();
    code = saved?.code ?? workflow.code;
  }
  const alert =
    trigger.alert_id == null
      ? null
      : ((await ctx.db
          .selectFrom('alerts')
          .select(['uuid', 'title', 'severity', 'source_name'])
          .where('id', '=', trigger.alert_id)
          .executeTakeFirst()) ?? null);
  return {
    approval: toApproval(row),
    code,
    code_version: version,
    timeout_seconds: workflow.timeout_seconds,
    alert: alert ? { ...alert, severity: String(alert.severity) } : null,
  };
}

/** Browser decision: token checked (constant time), responder `browser`. */
export async function decideWithToken(
  ctx: ServiceContext,
  { uuid, token, decision }: { uuid: string; token: string | undefined; decision: Decision },
): Promise<WorkflowApproval> {
  await checkDecideToken(ctx, { uuid, token });
  return decideApproval(ctx, uuid, decision, { decider: { id: 'browser', kind: 'person' }, via: 'browser' });
}

/**
 * After an `execute-workflow` job: when the run came from an approval, copy its result into the
 * request and queue the result notification.
 */
export async function recordApprovedRunResult(ctx: ServiceContext, runId: number): Promise<void> {
  const approval = await ctx.db
    .selectFrom('workflow_approval_requests as a')
    .innerJoin('workflow_runs as r', 'r.id', 'a.workflow_run_id')
    .select(['a.id', 'a.notifier_type', 'r.result', 'r.status'])
    .where('a.workflow_run_id', '=', runId)
    .executeTakeFirst();
  if (!approval) return;
  const stored = (approval.result ?? null) as { success?: boolean; message?: string; data?: unknown } | null;
  const result = {
    success: stored?.success ?? false,
    message: stored?.message ?? `Run ended: ${approval.status}`,
    data: stored?.data ?? {},
  };
  await ctx.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('workflow_approval_requests')
      .set({ execution_result: JSON.stringify(result), updated_at: new Date() })
      .where('id', '=', approval.id)
      .execute();
    if (approval.notifier_type !== 'none') {
      await ctx.queue.send('notify-approval', { approval_id: approval.id, event: 'executed' }, { db: trx });
    }
  });
  if (approval.notifier_type !== 'none') ctx.queue.announce('notify-approval');
}
