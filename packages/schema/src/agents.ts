/** Agents, deliveries (agent runs) and dispatch: request and response schemas. */
import { z } from 'zod';
import { TimestampSchema, UuidSchema } from './common.js';
import { TargetingRulesSchema } from './targeting.js';

/** An HTTP header name (RFC 9110 token). */
const HeaderNameSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'a header name is an RFC 9110 token');
/** No CR/LF: a header value must not smuggle other headers. */
const HeaderValueSchema = z
  .string()
  .min(1)
  .max(8_000)
  .regex(/^[^\r\n\0]*$/, 'a header value has no line breaks');

/** Serialized size cap of a trigger filter (reference: SMALL JSON field, 64 KB). */
const TRIGGER_FILTER_MAX_BYTES = 64 * 1024;
const TimeoutSecondsSchema = z.number().int().min(1).max(300);
const RetryCountSchema = z.number().int().min(0).max(10);
const TokenBudgetSchema = z.number().int().min(300).max(100_000);
const NameListSchema = z.array(z.string().min(1).max(200)).max(100);
/**
 * `alert` (default): one delivery per alert. `incident`: one delivery when an incident opens, then
 * debounced updates as alerts join it (what changed since the last one); no per-alert deliveries.
 */
export const AgentDeliveryModeSchema = z.enum(['alert', 'incident']).meta({ id: 'AgentDeliveryMode' });
export type AgentDeliveryMode = z.infer<typeof AgentDeliveryModeSchema>;

/** Wire fields shared by create and patch. */
const agentFields = {
  name: z.string().trim().min(1).max(200),
  description: z.string().max(5_000).nullable(),
  endpoint_url: z.string().min(1).max(2_000),
  auth_header_name: HeaderNameSchema.nullable(),
  auth_header_value: HeaderValueSchema.nullable(),
  trigger_on_sources: NameListSchema,
  trigger_on_severities: NameListSchema,
  trigger_filter: TargetingRulesSchema.refine(
    (rules) => new TextEncoder().encode(JSON.stringify(rules)).byteLength <= TRIGGER_FILTER_MAX_BYTES,
    { message: 'trigger_filter exceeds maximum size of 64 KB serialized' },
  ).nullable(),
  timeout_seconds: TimeoutSecondsSchema,
  retry_count: RetryCountSchema,
  token_budget: TokenBudgetSchema.nullable(),
  is_active: z.boolean(),
  documentation: z.string().max(100_000).nullable(),
  delivery_mode: AgentDeliveryModeSchema,
};

export const AgentCreateSchema = z
  .object({
    name: agentFields.name,
    description: agentFields.description.default(null),
    endpoint_url: agentFields.endpoint_url,
    /** Header sent with every delivery, e.g. `Authorization`; its value is stored encrypted and never returned. */
    auth_header_name: agentFields.auth_header_name.default(null),
    auth_header_value: agentFields.auth_header_value.default(null),
    /** Empty: every source. Exact, case-sensitive names. */
    trigger_on_sources: agentFields.trigger_on_sources.default([]),
    /** Empty: every severity. Exact, case-sensitive. */
    trigger_on_severities: agentFields.trigger_on_severities.default([]),
    /** Targeting rules an alert must also satisfy (null: no filter). */
    trigger_filter: agentFields.trigger_filter.default(null),
    timeout_seconds: agentFields.timeout_seconds.default(30),
    retry_count: agentFields.retry_count.default(3),
    /** o200k token budget of the payload (null: the default). */
    token_budget: agentFields.token_budget.default(null),
    is_active: agentFields.is_active.default(true),
    documentation: agentFields.documentation.default(null),
    /** Per alert (default) or per incident. */
    delivery_mode: agentFields.delivery_mode.default('alert'),
  })
  .strict()
  .refine((a) => (a.auth_header_name === null) === (a.auth_header_value === null), {
    message: 'auth_header_name and auth_header_value are given together',
    path: ['auth_header_value'],
  })
  .meta({ id: 'AgentCreate' });
export type AgentCreate = z.infer<typeof AgentCreateSchema>;
export type AgentCreateInput = z.input<typeof AgentCreateSchema>;

/**
 * Omitted fields are unchanged; `null` clears a nullable field. The auth header is set with both
 * name and value, and cleared with `auth_header_name: null` (the value may be omitted then).
 */
export const AgentUpdateSchema = z
  .object(
    Object.fromEntries(Object.entries(agentFields).map(([k, v]) => [k, v.optional()])) as {
      [K in keyof typeof agentFields]: z.ZodOptional<(typeof agentFields)[K]>;
    },
  )
  .strict()
  .superRefine((p, ctx) => {
    const name = p.auth_header_name;
    const value = p.auth_header_value;
    if (name !== undefined && name !== null && (value === undefined || value === null)) {
      ctx.addIssue({
        code: 'custom',
        message: 'auth_header_value is required with auth_header_name',
        path: ['auth_header_value'],
      });
    }
    if (value !== undefined && value !== null && (name === undefined || name === null)) {
      ctx.addIssue({
        code: 'custom',
        message: 'auth_header_name is required with auth_header_value',
        path: ['auth_header_name'],
      });
    }
    if (name === null && value !== undefined && value !== null) {
      ctx.addIssue({ code: 'custom', message: 'clear the header with both set to null', path: ['auth_header_value'] });
    }
  })
  .meta({ id: 'AgentUpdate' });
export type AgentUpdate = z.infer<typeof AgentUpdateSchema>;
export type AgentUpdateInput = z.input<typeof AgentUpdateSchema>;

export const AgentSchema = z
  .object({
    uuid: UuidSchema,
    name: z.string(),
    description: z.string().nullable(),
    endpoint_url: z.string(),
    auth_header_name: z.string().nullable(),
    /** The value itself is write-only. */
    has_auth_header: z.boolean(),
    trigger_on_sources: z.array(z.string()),
    trigger_on_severities: z.array(z.string()),
    trigger_filter: TargetingRulesSchema.nullable(),
    timeout_seconds: z.number().int(),
    retry_count: z.number().int(),
    token_budget: z.number().int().nullable(),
    is_active: z.boolean(),
    documentation: z.string().nullable(),
    delivery_mode: AgentDeliveryModeSchema,
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: 'Agent' });
export type Agent = z.infer<typeof AgentSchema>;

/** Ours: how the agent's deliveries are going, on the agents list. */
export const AgentDeliveryHealthSchema = z
  .object({
    /** Creation time and status of its latest delivery; null when it never had one. */
    last_delivery_at: TimestampSchema.nullable(),
    last_status: z.string().nullable(),
    /** Deliveries created in the last 24 hours that were delivered, and that failed for good. */
    delivered_24h: z.number().int(),
    failed_24h: z.number().int(),
  })
  .meta({ id: 'AgentDeliveryHealth' });
export type AgentDeliveryHealth = z.infer<typeof AgentDeliveryHealthSchema>;

export const AgentListItemSchema = AgentSchema.extend({ delivery_health: AgentDeliveryHealthSchema }).meta({
  id: 'AgentListItem',
});
export type AgentListItem = z.infer<typeof AgentListItemSchema>;

/** Create / rotate response: the signing secret is shown this once. */
export const AgentWithSecretSchema = AgentSchema.extend({
  /** HMAC-SHA256 key of `X-Calseta-Signature` (hex). Returned only by create and rotate. */
  signing_secret: z.string(),
}).meta({ id: 'AgentWithSecret' });
export type AgentWithSecret = z.infer<typeof AgentWithSecretSchema>;

export const AgentRunStatusSchema = z
  .enum(['waiting', 'pending', 'delivering', 'retrying', 'delivered', 'failed', 'cancelled'])
  .meta({
    id: 'AgentRunStatus',
    description:
      '`waiting`: enrichment still waits on rate-limited providers; `pending`: queued; `delivering`: an attempt is in flight; ' +
      '`retrying`: the next attempt is scheduled (`next_attempt_at`); `delivered`: a 2xx was received; ' +
      '`failed`: every attempt failed (terminal); `cancelled`: the agent was deactivated or deleted before delivery.',
  });
export type AgentRunStatus = z.infer<typeof AgentRunStatusSchema>;

export const AgentRunTriggerSchema = z.enum(['auto', 'redispatch', 'manual', 'single', 'redeliver']).meta({
  id: 'AgentRunTrigger',
});
export type AgentRunTrigger = z.infer<typeof AgentRunTriggerSchema>;

export const AgentRunAttemptSchema = z
  .object({
    attempt: z.number().int(),
    started_at: TimestampSchema,
    status_code: z.number().int().nullable(),
    error: z.string().nullable(),
    duration_ms: z.number().int(),
  })
  .meta({ id: 'AgentRunAttempt' });
export type AgentRunAttempt = z.infer<typeof AgentRunAttemptSchema>;

export const AgentRunSchema = z
  .object({
    uuid: UuidSchema,
    agent_uuid: UuidSchema,
    agent_name: z.string(),
    alert_uuid: UuidSchema,
    trigger: AgentRunTriggerSchema,
    /** Sent as `Idempotency-Key`; the same for every attempt and for redeliveries of this delivery. */
    idempotency_key: z.string(),
    status: AgentRunStatusSchema,
    attempt_count: z.number().int(),
    /** Attempts allowed in all (agent retry_count + 1 when the delivery was made). */
    max_attempts: z.number().int(),
    next_attempt_at: TimestampSchema.nullable(),
    response_status_code: z.number().int().nullable(),
    error: z.string().nullable(),
    duration_ms: z.number().int().nullable(),
    payload_bytes: z.number().int().nullable(),
    started_at: TimestampSchema.nullable(),
    completed_at: TimestampSchema.nullable(),
    redelivery_of: UuidSchema.nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: 'AgentRun' });
export type AgentRun = z.infer<typeof AgentRunSchema>;

/** One delivery with every attempt and the last payload sent. */
export const AgentRunDetailSchema = AgentRunSchema.extend({
  attempts: z.array(AgentRunAttemptSchema),
  /** Response body of the last attempt (JSON, or `{raw}` with at most 2,000 characters). */
  response_body: z.unknown().nullable(),
  /** The payload of the last attempt, as sent. */
  request_payload: z.unknown().nullable(),
}).meta({ id: 'AgentRunDetail' });
export type AgentRunDetail = z.infer<typeof AgentRunDetailSchema>;

/** One revision of an incident delivered to a per-incident agent, with every attempt. */
export const IncidentDeliverySchema = z
  .object({
    uuid: UuidSchema,
    incident_uuid: UuidSchema,
    agent_uuid: UuidSchema,
    agent_name: z.string(),
    /** 1 when the incident opened, then one per debounced update. */
    revision: z.number().int(),
    event: z.enum(['incident.opened', 'incident.updated']),
    /** Sent as `Idempotency-Key`: the same for every attempt of the revision. */
    idempotency_key: z.string(),
    status: AgentRunStatusSchema,
    attempt_count: z.number().int(),
    max_attempts: z.number().int(),
    /** Members the revision covers, and how many joined since the previous one. */
    alert_count: z.number().int(),
    added_alert_count: z.number().int(),
    next_attempt_at: TimestampSchema.nullable(),
    response_status_code: z.number().int().nullable(),
    error: z.string().nullable(),
    duration_ms: z.number().int().nullable(),
    payload_bytes: z.number().int().nullable(),
    /** o200k tokens of the payload sent. */
    token_count: z.number().int().nullable(),
    attempts: z.array(AgentRunAttemptSchema),
    started_at: TimestampSchema.nullable(),
    completed_at: TimestampSchema.nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: 'IncidentDelivery' });
export type IncidentDelivery = z.infer<typeof IncidentDeliverySchema>;

export const AgentTestResultSchema = z
  .object({
    delivered: z.boolean(),
    status_code: z.number().int().nullable(),
    duration_ms: z.number().int(),
    error: z.string().nullable(),
  })
  .meta({ id: 'AgentTestResult' });
export type AgentTestResult = z.infer<typeof AgentTestResultSchema>;

export const TriggerAgentsResultSchema = z
  .object({
    queued_agent_count: z.number().int(),
    agent_names: z.array(z.string()),
    /** The deliveries queued, in agent order. */
    run_uuids: z.array(UuidSchema),
  })
  .meta({ id: 'TriggerAgentsResult' });
export type TriggerAgentsResult = z.infer<typeof TriggerAgentsResultSchema>;

export const DispatchAgentResultSchema = z
  .object({
    agent_uuid: UuidSchema,
    agent_name: z.string(),
    alert_uuid: UuidSchema,
    run_uuid: UuidSchema,
  })
  .meta({ id: 'DispatchAgentResult' });
export type DispatchAgentResult = z.infer<typeof DispatchAgentResultSchema>;
