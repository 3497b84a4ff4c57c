import { z } from 'zod';
import { TimestampSchema } from './common.js';
import { IndicatorTypeSchema, MaliceLevelSchema } from './enums.js';

/**
 * Enrichment provider definitions as configured at runtime (a provider row, its field extractions
 * and malice rules) and what running one produces. The template language used by the string fields
 * of `http_config` is documented in `packages/enrichment-engine/README.md`; these schemas check
 * shape only, the engine's `checkProviderDefinition` checks the templates.
 */

/** Plain JSON data: what JSON.parse can return. */
function isJsonValue(value: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((v) => isJsonValue(v, depth + 1));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.values(value).every((v) => isJsonValue(v, depth + 1));
  }
  return false;
}

/**
 * Any JSON value. (Not `z.json()`: its recursive definition overflows the OpenAPI generator; this
 * documents as "any" and checks the same thing.)
 */
const JsonValueSchema = z
  .unknown()
  .refine((value) => value !== undefined && isJsonValue(value), 'must be a JSON value')
  .meta({ description: 'Any JSON value.' });

/** A template string: literal text with `{{ expr | filter }}` placeholders. */
const TemplateSchema = z.string().max(8000);

/** A dotted path into a JSON value: `data.attributes.stats.malicious`, `devices.0.os`, `groups.*.name`. */
export const JsonPathSchema = z
  .string()
  .trim()
  .min(1)
  .max(500)
  .regex(/^[^\s]+$/, 'a path is dot-separated keys without spaces');

const HttpStatusSchema = z.number().int().min(100).max(599);

/** Header names are RFC 9110 tokens. */
const HeaderNameSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, 'not a valid header name');

/** Step names are referenced as `{{steps.<name>.…}}`, so no dots or spaces. */
export const StepNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'a step name is letters, digits, _ and -, not starting with a digit');

export const HttpMethodSchema = z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD']);
export type HttpMethod = z.infer<typeof HttpMethodSchema>;

/** Scalar query/form values may be written as JSON numbers or booleans; strings are templates. */
const ScalarTemplateSchema = z.union([TemplateSchema, z.number(), z.boolean()]);

/** Per-indicator-type URL templates. */
const UrlByTypeSchema = z.partialRecord(IndicatorTypeSchema, TemplateSchema.min(1));

export const HttpStepSchema = z
  .object({
    /** Default `step_<index>`. Later templates read this step's body as `{{steps.<name>.<path>}}`. */
    name: StepNameSchema.optional(),
    method: HttpMethodSchema.default('GET'),
    /** URL template. Required unless `url_by_type` (or, for the first step, `url_templates_by_type`) covers the type. */
    url: TemplateSchema.min(1).optional(),
    /** Extension: per-type URL of this step; wins over `url`. */
    url_by_type: UrlByTypeSchema.optional(),
    headers: z.record(HeaderNameSchema, TemplateSchema).default({}),
    /** Appended to the URL, percent-encoded (RFC 3986). */
    query_params: z.record(z.string().min(1).max(200), ScalarTemplateSchema).default({}),
    /** Any JSON; every string inside is a template. A string that is exactly one placeholder keeps the value's JSON type. */
    json_body: JsonValueSchema.optional(),
    /** Sent as `application/x-www-form-urlencoded`. Exclusive with `json_body`. */
    form_body: z.record(z.string().min(1).max(200), ScalarTemplateSchema).optional(),
    /** Extension: per-step timeout in milliseconds; wins over `timeout_seconds`. */
    timeout_ms: z.number().int().min(1).max(300_000).optional(),
    /** Reference name; default 30 s when neither timeout is given. */
    timeout_seconds: z.number().positive().max(300).optional(),
    expected_status: z.array(HttpStatusSchema).min(1).default([200]),
    /** A status here means "the provider does not know this indicator": the run stops with `not_found`. */
    not_found_status: z.array(HttpStatusSchema).default([]),
    /** An optional step may fail (transport, status, body, template) without failing the provider. */
    optional: z.boolean().default(false),
    /**
     * Extension: whether this step's body is part of the stored/returned result. `false` for an
     * authentication step (token exchange): its body feeds later templates only and is never kept.
     * Unset: a step whose body a later step sends in a header, a query parameter or a body
     * (`Bearer {{steps.token.access_token}}`, `?session={{steps.login.session}}`) is an authentication
     * step; every other step (unread, or read only in a URL path: an id) is a result.
     */
    result: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'EnrichmentHttpStep' });
export type HttpStep = z.infer<typeof HttpStepSchema>;

export const HttpConfigSchema = z
  .object({
    steps: z.array(HttpStepSchema).min(1, 'No steps defined in http_config').max(10),
    /** Reference field: per-type URL of the FIRST step (wins over that step's `url_by_type` and `url`). */
    url_templates_by_type: UrlByTypeSchema.optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.steps.forEach((step, index) => {
      const name = step.name ?? `step_${index}`;
      if (seen.has(name)) {
        ctx.addIssue({ code: 'custom', message: `duplicate step name '${name}'`, path: ['steps', index, 'name'] });
      }
      seen.add(name);
      const typed = index === 0 ? { ...step.url_by_type, ...config.url_templates_by_type } : (step.url_by_type ?? {});
      if (step.url === undefined && Object.keys(typed).length === 0) {
        ctx.addIssue({ code: 'custom', message: 'a step needs url or url_by_type', path: ['steps', index, 'url'] });
      }
      if (step.json_body !== undefined && step.form_body !== undefined) {
        ctx.addIssue({
          code: 'custom',
          message: 'json_body and form_body are exclusive',
          path: ['steps', index, 'form_body'],
        });
      }
      for (const code of step.not_found_status) {
        if (step.expected_status.includes(code)) {
          ctx.addIssue({
            code: 'custom',
            message: `status ${code} is both expected and not found`,
            path: ['steps', index, 'not_found_status'],
          });
        }
      }
    });
  })
  .meta({ id: 'EnrichmentHttpConfig' });
export type HttpConfig = z.infer<typeof HttpConfigSchema>;
export type HttpConfigInput = z.input<typeof HttpConfigSchema>;

export const MaliceOperatorSchema = z.enum(['>', '>=', '<', '<=', '==', '!=', 'contains', 'in']);
export type MaliceOperator = z.infer<typeof MaliceOperatorSchema>;

export const MaliceRuleSchema = z
  .object({
    /** Dot path into the provider's raw response (multi-step: prefixed with the step name). */
    field: JsonPathSchema,
    operator: MaliceOperatorSchema,
    value: JsonValueSchema,
    verdict: MaliceLevelSchema,
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.operator === 'in' && !Array.isArray(rule.value)) {
      ctx.addIssue({ code: 'custom', message: "operator 'in' needs a list value", path: ['value'] });
    }
  })
  .meta({ id: 'MaliceRule' });
export type MaliceRule = z.infer<typeof MaliceRuleSchema>;

export const MaliceRulesSchema = z
  .object({
    /** Evaluated in order; the first matching rule gives the verdict. */
    rules: z.array(MaliceRuleSchema).max(100).default([]),
    default_verdict: MaliceLevelSchema.default('Pending'),
    not_found_verdict: MaliceLevelSchema.default('Pending'),
  })
  .strict()
  .meta({ id: 'MaliceRules' });
export type MaliceRules = z.infer<typeof MaliceRulesSchema>;
export type MaliceRulesInput = z.input<typeof MaliceRulesSchema>;

export const ExtractionValueTypeSchema = z.enum(['string', 'int', 'float', 'number', 'bool', 'list', 'dict', 'any']);
export type ExtractionValueType = z.infer<typeof ExtractionValueTypeSchema>;

export const FieldExtractionSchema = z
  .object({
    /** Applied only when enriching an indicator of this type. */
    indicator_type: IndicatorTypeSchema,
    source_path: JsonPathSchema,
    target_key: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a target key is an identifier'),
    value_type: ExtractionValueTypeSchema.default('any'),
    is_active: z.boolean().default(true),
  })
  .meta({ id: 'FieldExtraction' });
export type FieldExtraction = z.infer<typeof FieldExtractionSchema>;
export type FieldExtractionInput = z.input<typeof FieldExtractionSchema>;

const TtlSecondsSchema = z.number().int().min(0).max(86_400);

/** Everything the engine needs to run one provider (core maps the provider row + its extractions to this). */
export const ProviderDefinitionSchema = z
  .object({
    provider_name: z
      .string()
      .min(1)
      .max(100)
      .regex(/^[a-z0-9_]+$/),
    display_name: z.string().min(1).max(200),
    supported_indicator_types: z.array(IndicatorTypeSchema).min(1),
    http_config: HttpConfigSchema,
    /** null: every verdict is Pending. */
    malice_rules: MaliceRulesSchema.nullable().default(null),
    field_extractions: z.array(FieldExtractionSchema).default([]),
    /** TTL by type wins; then this; then the built-in per-type default. 0 disables caching. */
    cache_ttl_by_type: z.partialRecord(IndicatorTypeSchema, TtlSecondsSchema).default({}),
    default_cache_ttl_seconds: TtlSecondsSchema.nullable().default(null),
    /** TTL of `not_found` results; default min(positive TTL, 600). */
    negative_cache_ttl_seconds: TtlSecondsSchema.nullable().default(null),
    /** Budget of one whole provider call (all steps); default the engine's `callTimeoutMs`. */
    timeout_ms: z.number().int().min(1).max(600_000).nullable().default(null),
  })
  .meta({ id: 'EnrichmentProviderDefinition' });
export type ProviderDefinition = z.infer<typeof ProviderDefinitionSchema>;
export type ProviderDefinitionInput = z.input<typeof ProviderDefinitionSchema>;

export const VerdictReasonSchema = z.enum(['rule', 'default', 'not_found', 'analyst']);
export type VerdictReason = z.infer<typeof VerdictReasonSchema>;

/** Why an indicator (or one provider's result) has its verdict. */
export const VerdictExplanationSchema = z
  .object({
    /** The provider whose result gave the verdict; null for an analyst override. */
    provider: z.string().nullable(),
    rule_index: z.number().int().nullable(),
    field: z.string().nullable(),
    operator: MaliceOperatorSchema.nullable(),
    expected: z.unknown().nullable(),
    actual: z.unknown().nullable(),
    verdict: MaliceLevelSchema,
    reason: VerdictReasonSchema,
    /** When the data behind the verdict was fetched (or the analyst set it). */
    fetched_at: TimestampSchema.nullable(),
    /** The provider answered from Calseta's built-in mock (demo data), not the real service. */
    mock: z.boolean().optional(),
  })
  .meta({ id: 'VerdictExplanation' });
export type VerdictExplanation = z.infer<typeof VerdictExplanationSchema>;

export const ProviderRunStatusSchema = z.enum(['success', 'failed', 'skipped', 'not_found']);
export type ProviderRunStatus = z.infer<typeof ProviderRunStatusSchema>;

export const SkipReasonSchema = z.enum(['not_enrichable', 'unsupported_type', 'not_configured', 'rate_limited']);
export type SkipReason = z.infer<typeof SkipReasonSchema>;

/**
 * Why a provider result is `failed` (null otherwise), as data: callers switch on it, never on
 * `error_message` text. `provider_http`: the provider answered a status the step does not expect
 * (429 too, with `rate_limited`); `malformed_response`: a body that is not the JSON it claims to be;
 * `transport`: no answer (network error, refused by the outbound policy); `timeout`: a step or the
 * whole call ran out of time; `template`: a step's request could not be built (a template value
 * missing, e.g. from an earlier step's answer); `credentials`: the provider's credentials could not
 * be resolved; `port_unavailable`: a port's backing store (Calseta's database) was unavailable;
 * `shared_call_lost`: the shared call this one waited on (another process) ended without an answer,
 * twice; `internal`: anything else (a bug).
 */
export const FailureReasonSchema = z.enum([
  'provider_http',
  'malformed_response',
  'transport',
  'timeout',
  'template',
  'credentials',
  'port_unavailable',
  'shared_call_lost',
  'internal',
]);
export type FailureReason = z.infer<typeof FailureReasonSchema>;

/** One provider's result for one indicator, as the engine produces it and indicators store it. */
export const EnrichmentProviderResultSchema = z
  .object({
    provider_name: z.string(),
    status: ProviderRunStatusSchema,
    /** Extracted fields (success), `{ found: false }` (not_found), null otherwise. */
    extracted: z.record(z.string(), z.unknown()).nullable(),
    /** null when failed or skipped. */
    verdict: MaliceLevelSchema.nullable(),
    explanation: VerdictExplanationSchema.nullable(),
    /** The response: one step's body, or `{ <step name>: body }` for several steps. */
    raw: z.unknown().nullable(),
    fetched_at: TimestampSchema.nullable(),
    error_message: z.string().nullable(),
    duration_ms: z.number(),
    cache_hit: z.boolean(),
    skip_reason: SkipReasonSchema.nullable(),
    /** Why it failed (`failed` only; the engine always sets it, results stored before it existed lack it). */
    failure_reason: FailureReasonSchema.nullable().optional(),
    /** The provider answered 429 (failed) or the local rate governor refused the call (skipped). */
    rate_limited: z.boolean(),
    /** When to try again (rate limited). */
    retry_after_ms: z.number().int().nullable(),
    /** Answered by Calseta's built-in mock provider (demo data), not the real service. */
    mock: z.boolean().optional(),
  })
  .meta({ id: 'EnrichmentProviderResult' });
export type EnrichmentProviderResult = z.infer<typeof EnrichmentProviderResultSchema>;

/** One HTTP step as run by the provider test endpoint. Secrets are masked as `***`. */
export const ProviderStepDebugSchema = z
  .object({
    step_name: z.string(),
    step_index: z.number().int(),
    method: HttpMethodSchema,
    url: z.string().nullable(),
    request_headers: z.record(z.string(), z.string()),
    request_body: z.unknown().nullable(),
    status: z.number().int().nullable(),
    response_headers: z.record(z.string(), z.string()),
    response_body: z.unknown().nullable(),
    duration_ms: z.number(),
    outcome: z.enum(['ok', 'not_found', 'failed', 'skipped']),
    error: z.string().nullable(),
  })
  .meta({ id: 'ProviderStepDebug' });
export type ProviderStepDebug = z.infer<typeof ProviderStepDebugSchema>;

/** A provider result as lists and agent payloads show it: without the raw provider response. */
export const ProviderResultSummarySchema = EnrichmentProviderResultSchema.omit({ raw: true }).meta({
  id: 'ProviderResultSummary',
});
export type ProviderResultSummary = z.infer<typeof ProviderResultSummarySchema>;

/** How one provider fared across an alert's indicators. */
export const ProviderTallySchema = z
  .object({
    succeeded: z.number().int(),
    not_found: z.number().int(),
    failed: z.number().int(),
    /** Did not apply: unsupported type, not enrichable (private IP, internal domain) or not configured. */
    skipped: z.number().int(),
    /** Rate limited: retried once the provider's pause is over. */
    deferred: z.number().int(),
  })
  .meta({ id: 'ProviderTally' });
export type ProviderTally = z.infer<typeof ProviderTallySchema>;

/** What the enrichment step did for one alert (stored on the alert, shown in its detail). */
export const EnrichmentSummarySchema = z
  .object({
    status: z.enum(['Pending', 'Enriched', 'Partial', 'Failed', 'Skipped']),
    indicator_count: z.number().int(),
    enrichable_count: z.number().int(),
    providers: z.record(z.string(), ProviderTallySchema),
    providers_succeeded: z.array(z.string()),
    providers_failed: z.array(z.string()),
    providers_skipped: z.array(z.string()),
    providers_deferred: z.array(z.string()),
    /** When the deferred providers are tried again; null when nothing is deferred. */
    retry_at: TimestampSchema.nullable(),
    attempt: z.number().int(),
    malice_counts: z.record(MaliceLevelSchema, z.number().int()),
    cache_hits: z.number().int(),
    completed_at: TimestampSchema,
  })
  .meta({ id: 'EnrichmentSummary' });
export type EnrichmentSummary = z.infer<typeof EnrichmentSummarySchema>;

/** `POST /v1/enrichments`: enrich one value now (v1 aliases `indicator_type` / `indicator_value` accepted). */
export const EnrichmentRequestSchema = z
  .preprocess(
    (input) => {
      if (typeof input !== 'object' || input === null) return input;
      const { indicator_type, indicator_value, ...rest } = input as Record<string, unknown>;
      return { type: indicator_type, value: indicator_value, ...rest };
    },
    z
      .object({
        type: IndicatorTypeSchema,
        value: z.string().trim().min(1).max(2048),
        /** Ask the providers again even when a cached answer exists (the fresh one is cached). */
        bypass_cache: z.boolean().default(false),
      })
      .strict(),
  )
  .meta({ id: 'EnrichmentRequest' });
export type EnrichmentRequest = z.infer<typeof EnrichmentRequestSchema>;

export const OnDemandEnrichmentSchema = z
  .object({
    type: IndicatorTypeSchema,
    value: z.string(),
    enrichable: z.boolean(),
    /** Why the value was not sent to any provider (private IP, internal domain…). */
    reason: z.string().nullable(),
    verdict: MaliceLevelSchema,
    explanation: VerdictExplanationSchema.nullable(),
    /** One result per active provider that supports the type. */
    results: z.record(z.string(), ProviderResultSummarySchema),
    cache_hits: z.number().int(),
    enriched_at: TimestampSchema,
  })
  .meta({ id: 'OnDemandEnrichment' });
export type OnDemandEnrichment = z.infer<typeof OnDemandEnrichmentSchema>;

/** An active provider as the enrichment registry sees it (what agents can expect to be enriched). */
export const ProviderStatusSchema = z
  .object({
    provider_name: z.string(),
    display_name: z.string(),
    supported_types: z.array(IndicatorTypeSchema),
    is_configured: z.boolean(),
    /** Answers from Calseta's built-in mock (demo data): no real credential is configured. */
    is_mock: z.boolean(),
    cache_ttl_seconds: z.number().int().nullable(),
    rate_limit_per_minute: z.number().int().nullable(),
    rate_limit_per_day: z.number().int().nullable(),
    /** Calls left in the current minute / UTC day (null: no such limit), and a 429 pause in force. */
    quota: z.object({
      minute_remaining: z.number().int().nullable(),
      day_remaining: z.number().int().nullable(),
      paused_until: TimestampSchema.nullable(),
    }),
  })
  .meta({ id: 'ProviderStatus' });
export type ProviderStatus = z.infer<typeof ProviderStatusSchema>;
