import { executeWorkflow, listWorkflows } from '@calseta/core';
import {
  IndicatorTypeSchema,
  PendingApprovalSchema,
  WorkflowListQuerySchema,
  WorkflowRunSchema,
  WorkflowSummarySchema,
} from '@calseta/schema';
import { z } from 'zod';
import { defineTool, listInput, page, paged, UUID } from '../define.js';

export const listWorkflowsTool = defineTool({
  name: 'list_workflows',
  description: 'List workflows (no code). state and risk_level are comma lists.',
  // REST's GET /v1/workflows query.
  inputSchema: listInput(WorkflowListQuerySchema, { is_system: z.boolean().optional() }),
  outputSchema: { workflows: z.array(WorkflowSummarySchema), ...paged },
  annotations: { readOnlyHint: true },
  permissions: ['workflows:read'],
  run: async (ctx, query) => page('workflows', await listWorkflows(ctx, query)),
});

const ExecuteOutputSchema = z.object({
  /** `run`: the workflow ran (see `run`); `pending_approval`: a human must approve first (see `approval`). */
  outcome: z.enum(['run', 'pending_approval']),
  run: WorkflowRunSchema.nullable(),
  approval: PendingApprovalSchema.nullable(),
});

export const executeWorkflowTool = defineTool({
  name: 'execute_workflow',
  description:
    'Run an active workflow against an indicator (may create an approval request instead). Agent keys must give reason and confidence (0..1).',
  inputSchema: {
    workflow_uuid: UUID,
    indicator_type: IndicatorTypeSchema,
    indicator_value: z.string(),
    alert_uuid: z.string().optional(),
    reason: z.string().optional(),
    confidence: z.number().min(0).max(1).optional(),
  },
  outputSchema: ExecuteOutputSchema.shape,
  annotations: { destructiveHint: true },
  permissions: ['workflows:execute'],
  restTwin: () => ['POST', '/v1/workflows/:workflow_uuid/execute'],
  writes: ({ workflow_uuid }) => workflow_uuid,
  run: async (ctx, { workflow_uuid, ...input }) => {
    const result = await executeWorkflow(ctx, { uuid: workflow_uuid, input });
    return 'approval_request_uuid' in result
      ? { outcome: 'pending_approval' as const, run: null, approval: result }
      : { outcome: 'run' as const, run: result, approval: null };
  },
});
