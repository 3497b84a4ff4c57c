import { z } from 'zod';
import { TimestampSchema, UuidSchema } from './common.js';
import { WorkflowResultSchema } from './workflows.js';

/** Lifecycle of an approval request (`cancelled` is reserved; never set). */
export const ApprovalStatusSchema = z
  .enum(['pending', 'approved', 'rejected', 'expired', 'cancelled'])
  .meta({ id: 'ApprovalStatus' });
export type ApprovalStatus = z.infer<typeof ApprovalStatusSchema>;

/** Where approval requests are announced (`APPROVAL_NOTIFIER`). */
export const ApprovalNotifierSchema = z.enum(['none', 'slack', 'teams']).meta({ id: 'ApprovalNotifier' });
export type ApprovalNotifier = z.infer<typeof ApprovalNotifierSchema>;

export const ApprovalTriggerContextSchema = z.object({
  indicator_type: z.string(),
  indicator_value: z.string(),
  alert_id: z.number().int().nullable(),
  alert_uuid: z.string().nullable(),
});

export const WorkflowApprovalSchema = z
  .object({
    uuid: UuidSchema,
    workflow_uuid: UuidSchema,
    workflow_name: z.string(),
    risk_level: z.string(),
    status: ApprovalStatusSchema,
    trigger_type: z.string(),
    trigger_agent_key_prefix: z.string(),
    trigger_context: ApprovalTriggerContextSchema.nullable(),
    reason: z.string(),
    confidence: z.number(),
    notifier_type: ApprovalNotifierSchema,
    notifier_channel: z.string().nullable(),
    responder_id: z.string().nullable(),
    responded_at: TimestampSchema.nullable(),
    expires_at: TimestampSchema,
    /** The run created on approval. */
    run_uuid: UuidSchema.nullable(),
    /** `{success, message, data}` of the approved run once it finished. */
    execution_result: WorkflowResultSchema.nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: 'WorkflowApproval' });
export type WorkflowApproval = z.infer<typeof WorkflowApprovalSchema>;

/** The answer of a gated execute (202): no run yet, an approval request instead. */
export const PendingApprovalSchema = z
  .object({
    status: z.literal('pending_approval'),
    approval_request_uuid: UuidSchema,
    expires_at: TimestampSchema,
    approval: WorkflowApprovalSchema,
  })
  .meta({ id: 'PendingApproval' });
export type PendingApproval = z.infer<typeof PendingApprovalSchema>;

export const ApprovalListQuerySchema = z.object({
  /** Comma-separated statuses. */
  status: z.string().max(200).optional(),
  workflow_uuid: UuidSchema.optional(),
});
export type ApprovalListQuery = z.infer<typeof ApprovalListQuerySchema>;

export const ApprovalDecisionSchema = z
  .object({
    /** Accepted (reference wire compatibility) and ignored: the responder is the authenticated caller. */
    responder_id: z.string().trim().min(1).max(200).optional(),
    /** Accepted and ignored (wire compatibility). */
    reason: z.string().max(10_000).optional(),
  })
  .strict()
  .meta({ id: 'ApprovalDecision' });
export type ApprovalDecisionInput = z.infer<typeof ApprovalDecisionSchema>;
