/** Workflows, code versions and runs: request and response schemas. */
import { z } from 'zod';
import { SortOrderSchema, TimestampSchema, UuidSchema } from './common.js';
import { IndicatorTypeSchema } from './enums.js';

export const WorkflowStateSchema = z.enum(['draft', 'active', 'inactive']).meta({ id: 'WorkflowState' });
export type WorkflowState = z.infer<typeof WorkflowStateSchema>;
export const WorkflowTypeSchema = z.enum(['indicator', 'alert']).meta({ id: 'WorkflowType' });
/** `sandboxed`: JavaScript run in QuickJS; `http`: the run's context POSTed to an external endpoint. */
export const WorkflowKindSchema = z.enum(['sandboxed', 'http']).meta({ id: 'WorkflowKind' });
export const WorkflowRiskLevelSchema = z.enum(['low', 'medium', 'high', 'critical']).meta({ id: 'WorkflowRiskLevel' });
export const WorkflowApprovalModeSchema = z
  .enum(['always', 'agent_only', 'never'])
  .meta({ id: 'WorkflowApprovalMode' });
export const WorkflowRunStatusSchema = z
  .enum(['queued', 'running', 'succeeded', 'failed', 'timed_out'])
  .meta({ id: 'WorkflowRunStatus' });
export type WorkflowRunStatus = z.infer<typeof WorkflowRunStatusSchema>;

/** A declared secret's name: what `ctx.secrets.get(name)` asks for. */
export const WorkflowSecretNameSchema = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'a secret name is a letter or _ followed by letters, digits or _');

/** Longest run; the worker's job expiry is above it. */
export const MAX_WORKFLOW_TIMEOUT_SECONDS = 900;

const fields = {
  name: z.string().trim().min(1).max(255),
  workflow_type: WorkflowTypeSchema.nullable(),
  indicator_types: z.array(IndicatorTypeSchema).max(20),
  code: z.string().min(1).max(262_144),
  workflow_kind: WorkflowKindSchema,
  http_endpoint_url: z.string().url().max(2048).nullable(),
  state: WorkflowStateSchema,
  timeout_seconds: z.number().int().min(1).max(MAX_WORKFLOW_TIMEOUT_SECONDS),
  retry_count: z.number().int().min(0).max(10),
  tags: z.array(z.string().min(1).max(100)).max(50),
  secrets: z.array(WorkflowSecretNameSchema).max(50),
  time_saved_minutes: z.number().int().min(0).max(100_000).nullable(),
  approval_mode: WorkflowApprovalModeSchema,
  approval_channel: z.string().max(200).nullable(),
  approval_timeout_seconds: z.number().int().min(60).max(604_800),
  risk_level: WorkflowRiskLevelSchema,
  documentation: z.string().max(100_000).nullable(),
};

export const WorkflowCreateSchema = z
  .object({
    name: fields.name,
    workflow_type: fields.workflow_type.default('indicator'),
    indicator_types: fields.indicator_types.default([]),
    /** JavaScript module exporting `async function run(ctx)`; validated on save. Sandboxed workflows only. */
    code: fields.code.optional(),
    workflow_kind: fields.workflow_kind.default('sandboxed'),
    /** Where an `http` workflow POSTs the run's context (checked against the outbound policy). */
    http_endpoint_url: fields.http_endpoint_url.default(null),
    /** Only `active` workflows execute. */
    state: fields.state.default('draft'),
    timeout_seconds: fields.timeout_seconds.default(30),
    /** Stored, unused (reference quirk 13). */
    retry_count: fields.retry_count.default(0),
    tags: fields.tags.default([]),
    /** Names of the secrets the workflow may read; values are set with PUT …/secrets/{name}. */
    secrets: fields.secrets.default([]),
    time_saved_minutes: fields.time_saved_minutes.default(null),
    approval_mode: fields.approval_mode.default('always'),
    approval_channel: fields.approval_channel.default(null),
    approval_timeout_seconds: fields.approval_timeout_seconds.default(3600),
    risk_level: fields.risk_level.default('medium'),
    documentation: fields.documentation.default(null),
  })
  .strict()
  .superRefine((w, ctx) => {
    if (w.workflow_kind === 'sandboxed' && w.code === undefined) {
      ctx.addIssue({ code: 'custom', path: ['code'], message: 'a sandboxed workflow needs code' });
    }
    if (w.workflow_kind === 'http' && w.http_endpoint_url === null) {
      ctx.addIssue({
        code: 'custom',
        path: ['http_endpoint_url'],
        message: 'an http workflow needs http_endpoint_url',
      });
    }
  })
  .meta({ id: 'WorkflowCreate' });
export type WorkflowCreateInput = z.input<typeof WorkflowCreateSchema>;

export const WorkflowPatchSchema = z
  .object({
    name: fields.name.optional(),
    workflow_type: fields.workflow_type.optional(),
    indicator_types: fields.indicator_types.optional(),
    code: fields.code.optional(),
    http_endpoint_url: fields.http_endpoint_url.optional(),
    state: fields.state.optional(),
    timeout_seconds: fields.timeout_seconds.optional(),
    retry_count: fields.retry_count.optional(),
    tags: fields.tags.optional(),
    secrets: fields.secrets.optional(),
    time_saved_minutes: fields.time_saved_minutes.optional(),
    approval_mode: fields.approval_mode.optional(),
    approval_channel: fields.approval_channel.optional(),
    approval_timeout_seconds: fields.approval_timeout_seconds.optional(),
    risk_level: fields.risk_level.optional(),
    documentation: fields.documentation.optional(),
  })
  .strict()
  .meta({ id: 'WorkflowPatch' });
export type WorkflowPatch = z.input<typeof WorkflowPatchSchema>;

export const WorkflowSecretStatusSchema = z.object({ name: z.string(), is_set: z.boolean() });

export const WorkflowSummarySchema = z
  .object({
    uuid: UuidSchema,
    name: z.string(),
    workflow_type: z.string().nullable(),
    workflow_kind: WorkflowKindSchema,
    http_endpoint_url: z.string().nullable(),
    indicator_types: z.array(z.string()),
    state: WorkflowStateSchema,
    code_version: z.number().int(),
    /** Mirrors `state === 'active'`. */
    is_active: z.boolean(),
    is_system: z.boolean(),
    tags: z.array(z.string()),
    time_saved_minutes: z.number().int().nullable(),
    approval_mode: z.string(),
    risk_level: z.string(),
    documentation: z.string().nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: 'WorkflowSummary' });
export type WorkflowSummary = z.infer<typeof WorkflowSummarySchema>;

export const WorkflowSchema = WorkflowSummarySchema.extend({
  code: z.string(),
  timeout_seconds: z.number().int(),
  retry_count: z.number().int(),
  approval_channel: z.string().nullable(),
  approval_timeout_seconds: z.number().int(),
  /** Declared secrets: names and whether a value is set (values are never returned). */
  secrets: z.array(WorkflowSecretStatusSchema),
}).meta({ id: 'Workflow' });
export type Workflow = z.infer<typeof WorkflowSchema>;

const boolParam = z
  .enum(['true', 'false'])
  .transform((v) => v === 'true')
  .optional();

export const WorkflowListQuerySchema = z.object({
  /** Comma-separated states. */
  state: z.string().max(200).optional(),
  workflow_type: z.string().max(50).optional(),
  /** Comma-separated risk levels. */
  risk_level: z.string().max(200).optional(),
  is_system: boolParam,
  sort_by: z.enum(['name', 'state', 'risk_level', 'updated_at', 'created_at']).optional(),
  sort_order: SortOrderSchema.optional(),
});
export type WorkflowListQuery = z.infer<typeof WorkflowListQuerySchema>;

export const WorkflowCodeVersionSchema = z
  .object({
    version: z.number().int(),
    /** First 120 characters. */
    code_preview: z.string(),
    code: z.string(),
    saved_at: TimestampSchema,
    saved_by: z.string().nullable(),
  })
  .meta({ id: 'WorkflowCodeVersion' });
export type WorkflowCodeVersion = z.infer<typeof WorkflowCodeVersionSchema>;

export const WorkflowSecretSetSchema = z.object({ value: z.string().min(1).max(16_384) }).strict();

export const WorkflowExecuteSchema = z
  .object({
    indicator_type: IndicatorTypeSchema,
    indicator_value: z.string().min(1).max(2_048),
    alert_uuid: UuidSchema.optional(),
    /** Required for agent keys. */
    reason: z.string().min(1).max(10_000).optional(),
    /** Required for agent keys, 0..1. */
    confidence: z.number().min(0).max(1).optional(),
  })
  .strict()
  .meta({ id: 'WorkflowExecute' });
export type WorkflowExecuteInput = z.infer<typeof WorkflowExecuteSchema>;

export const WorkflowLogEntrySchema = z.object({
  level: z.string(),
  message: z.string(),
  at: z.string(),
  extra: z.unknown().optional(),
});

export const WorkflowResultSchema = z.object({ success: z.boolean(), message: z.string(), data: z.unknown() });

export const WorkflowRunSchema = z
  .object({
    uuid: UuidSchema,
    workflow_uuid: UuidSchema,
    workflow_name: z.string(),
    trigger_type: z.string(),
    trigger_context: z.unknown(),
    code_version_executed: z.number().int(),
    status: WorkflowRunStatusSchema,
    attempt_count: z.number().int(),
    logs: z.array(WorkflowLogEntrySchema),
    result: WorkflowResultSchema.nullable(),
    /** Why the sandbox ended the run (exception, limit, timeout); null when the workflow returned a result. */
    error: z.string().nullable(),
    duration_ms: z.number().int().nullable(),
    started_at: TimestampSchema.nullable(),
    completed_at: TimestampSchema.nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: 'WorkflowRun' });
export type WorkflowRun = z.infer<typeof WorkflowRunSchema>;

export const WorkflowRunListQuerySchema = z.object({
  /** Comma-separated statuses. */
  status: z.string().max(200).optional(),
  workflow_uuid: UuidSchema.optional(),
});
export type WorkflowRunListQuery = z.infer<typeof WorkflowRunListQuerySchema>;

export const MockHttpResponseSchema = z
  .object({
    /** Any method when absent. */
    method: z.string().min(1).max(10).optional(),
    /** Matches when the request URL starts with it, or equals it; `*` matches any run of characters. */
    url_pattern: z.string().min(1).max(2_000),
    status: z.number().int().min(100).max(599).default(200),
    json: z.unknown().optional(),
    body: z.string().max(262_144).optional(),
    headers: z.record(z.string(), z.string()).optional(),
  })
  .strict();
export type MockHttpResponse = z.infer<typeof MockHttpResponseSchema>;

export const WorkflowTestSchema = z
  .object({
    indicator_type: IndicatorTypeSchema.default('ip'),
    indicator_value: z.string().min(1).max(2_048).default('1.2.3.4'),
    /** Answers of `ctx.http`, first match wins; an unmatched request throws in the workflow. */
    mock_http: z.array(MockHttpResponseSchema).max(100).default([]),
  })
  .strict()
  .meta({ id: 'WorkflowTest' });
export type WorkflowTestInput = z.input<typeof WorkflowTestSchema>;

export const WorkflowTestResultSchema = z
  .object({
    status: z.enum(['succeeded', 'failed', 'timed_out']),
    success: z.boolean(),
    message: z.string(),
    result: WorkflowResultSchema.nullable(),
    error: z.string().nullable(),
    logs: z.array(WorkflowLogEntrySchema),
    duration_ms: z.number().int(),
    http_calls: z.array(z.object({ method: z.string(), url: z.string(), status: z.number().int().nullable() })),
  })
  .meta({ id: 'WorkflowTestResult' });
export type WorkflowTestResult = z.infer<typeof WorkflowTestResultSchema>;

export const WorkflowGenerateSchema = z
  .object({
    /** What the workflow should do, in plain language. */
    description: z.string().min(1).max(10_000),
    indicator_types: z.array(IndicatorTypeSchema).max(20).optional(),
    /** A name to suggest to the model (nothing is saved). */
    name: z.string().min(1).max(200).optional(),
  })
  .strict()
  .meta({ id: 'WorkflowGenerate' });
export type WorkflowGenerateInput = z.infer<typeof WorkflowGenerateSchema>;

export const WorkflowGenerateResultSchema = z
  .object({
    /** The generated workflow code (not saved). */
    code: z.string(),
    /** `validateWorkflowCode` of `code` (after at most one corrective retry). */
    validation: z.object({
      ok: z.boolean(),
      errors: z.array(z.object({ message: z.string(), line: z.number().int(), column: z.number().int() })),
    }),
    model: z.string(),
  })
  .meta({ id: 'WorkflowGenerateResult' });
export type WorkflowGenerateResult = z.infer<typeof WorkflowGenerateResultSchema>;
