import type { PendingApproval, WorkflowExecuteInput, WorkflowRun } from '@calseta/schema';
import { WorkflowExecuteSchema } from '@calseta/schema';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound, ServiceError } from '../infra/errors.js';
import { insertQueuedRun, runsQuery, toRun } from '../workflows/runs.js';
import { findWorkflow } from '../workflows/verbs.js';
import { needsApproval, requestApproval } from './verbs.js';

// Execution lives above workflows: a run starts here or waits behind an approval request, and
// workflows/ stays unaware of approvals (approvals import workflows, never the reverse).

/**
 * Execute an active workflow (`202`). The trigger type is the caller key's type; agent keys must
 * give `reason` and `confidence`. When `approval_mode` asks for it (`always`; `agent_only` for agent
 * keys) an approval request is created instead of a run (`pending_approval`); otherwise the run row
 * and its job commit together.
 */
export async function executeWorkflow(
  ctx: ServiceContext,
  { uuid, input }: { uuid: string; input: WorkflowExecuteInput },
): Promise<WorkflowRun | PendingApproval> {
  authorize(ctx, 'workflows:execute');
  const data = WorkflowExecuteSchema.parse(input);
  const trigger = ctx.actor.type === 'system' ? 'system' : ctx.actor.key.keyType;
  if (trigger === 'agent') {
    const errors = [
      ...(data.reason === undefined ? [{ path: 'reason', message: 'agent keys must give a reason' }] : []),
      ...(data.confidence === undefined
        ? [{ path: 'confidence', message: 'agent keys must give a confidence between 0 and 1' }]
        : []),
    ];
    if (errors.length > 0) {
      throw new ServiceError('VALIDATION_ERROR', 'Agent keys must give reason and confidence.', { errors });
    }
  }
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const workflow = await findWorkflow(trx, uuid);
    if (workflow.state !== 'active') {
      throw new ServiceError(
        'CONFLICT',
        `Workflow is not executable: its state is '${workflow.state}' (only 'active' runs).`,
        {
          state: workflow.state,
        },
      );
    }
    let alertId: number | null = null;
    if (data.alert_uuid !== undefined) {
      const alert = await trx.selectFrom('alerts').select('id').where('uuid', '=', data.alert_uuid).executeTakeFirst();
      if (!alert) throw notFound('Alert');
      alertId = alert.id;
    }
    const context = {
      indicator_type: data.indicator_type,
      indicator_value: data.indicator_value,
      alert_id: alertId,
      alert_uuid: data.alert_uuid ?? null,
    };
    if (needsApproval(workflow.approval_mode, trigger)) {
      return requestApproval(ctx, trx, workflow, {
        trigger,
        context,
        reason: data.reason,
        confidence: data.confidence,
      });
    }
    const runId = await insertQueuedRun(ctx, trx, workflow, {
      trigger,
      context: {
        ...context,
        reason: data.reason ?? null,
        confidence: data.confidence ?? null,
        requested_by: ctx.actor.type === 'system' ? 'system' : ctx.actor.key.prefix,
      },
    });
    // Read in the transaction: once announced, a worker may already be running it.
    return { run: toRun(await runsQuery(trx).where('r.id', '=', runId).executeTakeFirstOrThrow()) };
  });
  if (!('run' in outcome)) {
    ctx.queue.announce('notify-approval');
    return outcome;
  }
  ctx.queue.announce('execute-workflow');
  return outcome.run;
}
