import { z } from 'zod';
import { TimestampSchema, UuidSchema } from './common.js';
import {
  EnrichmentProviderResultSchema,
  ExtractionValueTypeSchema,
  FieldExtractionSchema,
  HttpConfigSchema,
  MaliceRulesSchema,
  ProviderStepDebugSchema,
} from './enrichment.js';
import { IndicatorTypeSchema } from './enums.js';

/** Request and response schemas of the enrichment provider and field extraction admin API. */

/** `"true"` / `"false"` in a query string. */
const QueryBoolSchema = z
  .enum(['true', 'false'])
  .transform((v) => v === 'true')
  .optional();

export const ProviderNameSchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[a-z0-9_]+$/, 'a provider name is lowercase letters, digits and _');

/** `auth.<key>` names as templates reference them. */
const AuthKeySchema = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an auth key is an identifier');

/** Credentials, write-only: stored encrypted, never returned. */
export const ProviderAuthConfigSchema = z.record(AuthKeySchema, z.string().max(10_000)).meta({
  id: 'EnrichmentProviderAuthConfig',
  description: 'Write-only credentials, e.g. `{"api_key": "..."}`; templates read them as `{{auth.api_key}}`.',
});

/** `{auth_key: ENV_VAR}`. Core allows only `CALSETA_PROVIDER_*` variables for custom providers. */
export const EnvVarMappingSchema = z.record(
  AuthKeySchema,
  z
    .string()
    .min(1)
    .max(200)
    .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name is upper-case letters, digits and _'),
);

const TtlSecondsSchema = z.number().int().min(0).max(86_400);
const CacheTtlByTypeSchema = z.partialRecord(IndicatorTypeSchema, TtlSecondsSchema);
const RateLimitSchema = z.number().int().min(1).max(10_000_000);
const TimeoutMsSchema = z.number().int().min(1).max(600_000);
/** Free text in the reference; only `no_auth` means something (no credentials expected). */
const AuthTypeSchema = z.string().min(1).max(50);

/** Serialized size cap of `http_config`, `auth_config` and `malice_rules` (reference: MEDIUM JSON fields, 256 KB). */
export const PROVIDER_JSON_MAX_BYTES = 256 * 1024;
const medium = <T extends z.ZodType>(schema: T, field: string) =>
  schema.refine((value) => new TextEncoder().encode(JSON.stringify(value)).byteLength <= PROVIDER_JSON_MAX_BYTES, {
    message: `${field} exceeds maximum size of 256 KB serialized`,
  });
const HttpConfigInputSchema = medium(HttpConfigSchema, 'http_config');
const AuthConfigInputSchema = medium(ProviderAuthConfigSchema, 'auth_config');
const MaliceRulesInputSchema = medium(MaliceRulesSchema, 'malice_rules');

export const ProviderCreateSchema = z
  .object({
    provider_name: ProviderNameSchema,
    display_name: z.string().trim().min(1).max(200),
    description: z.string().max(2000).nullable().default(null),
    supported_indicator_types: z.array(IndicatorTypeSchema).min(1).max(20),
    http_config: HttpConfigInputSchema,
    auth_type: AuthTypeSchema.default('no_auth'),
    auth_config: AuthConfigInputSchema.nullable().default(null),
    env_var_mapping: EnvVarMappingSchema.nullable().default(null),
    default_cache_ttl_seconds: TtlSecondsSchema.default(3600),
    cache_ttl_by_type: CacheTtlByTypeSchema.nullable().default(null),
    negative_cache_ttl_seconds: TtlSecondsSchema.nullable().default(null),
    malice_rules: MaliceRulesInputSchema.nullable().default(null),
    rate_limit_per_minute: RateLimitSchema.nullable().default(null),
    rate_limit_per_day: RateLimitSchema.nullable().default(null),
    timeout_ms: TimeoutMsSchema.default(10_000),
  })
  .strict()
  .meta({ id: 'EnrichmentProviderCreate' });
export type ProviderCreate = z.infer<typeof ProviderCreateSchema>;
export type ProviderCreateInput = z.input<typeof ProviderCreateSchema>;

/** Omitted fields are unchanged; `null` clears a nullable field (`auth_config: null` removes the stored credentials). */
export const ProviderUpdateSchema = z
  .object({
    display_name: z.string().trim().min(1).max(200).optional(),
    description: z.string().max(2000).nullable().optional(),
    is_active: z.boolean().optional(),
    supported_indicator_types: z.array(IndicatorTypeSchema).min(1).max(20).optional(),
    http_config: HttpConfigInputSchema.optional(),
    auth_type: AuthTypeSchema.optional(),
    auth_config: AuthConfigInputSchema.nullable().optional(),
    env_var_mapping: EnvVarMappingSchema.nullable().optional(),
    default_cache_ttl_seconds: TtlSecondsSchema.optional(),
    cache_ttl_by_type: CacheTtlByTypeSchema.nullable().optional(),
    negative_cache_ttl_seconds: TtlSecondsSchema.nullable().optional(),
    malice_rules: MaliceRulesInputSchema.nullable().optional(),
    rate_limit_per_minute: RateLimitSchema.nullable().optional(),
    rate_limit_per_day: RateLimitSchema.nullable().optional(),
    timeout_ms: TimeoutMsSchema.optional(),
  })
  .strict()
  .meta({ id: 'EnrichmentProviderUpdate' });
export type ProviderUpdate = z.infer<typeof ProviderUpdateSchema>;
export type ProviderUpdateInput = z.input<typeof ProviderUpdateSchema>;

/** Fields a builtin provider's PATCH may carry (the rest define what the builtin is). */
export const BUILTIN_PATCHABLE_FIELDS = [
  'is_active',
  'auth_config',
  'description',
  'malice_rules',
  'default_cache_ttl_seconds',
  'cache_ttl_by_type',
  'negative_cache_ttl_seconds',
  'rate_limit_per_minute',
  'rate_limit_per_day',
  'timeout_ms',
] as const satisfies ReadonlyArray<keyof ProviderUpdate>;

export const ProviderQuotaSchema = z
  .object({
    /** Calls left in the current minute; null: no per-minute limit. */
    minute_remaining: z.number().int().nullable(),
    /** Calls left today (UTC); null: no daily limit. */
    day_remaining: z.number().int().nullable(),
    /** Set while the provider is paused after answering 429. */
    paused_until: TimestampSchema.nullable(),
  })
  .meta({ id: 'EnrichmentProviderQuota' });
export type ProviderQuotaView = z.infer<typeof ProviderQuotaSchema>;

/** `mock`: no real credential, so the provider answers from Calseta's built-in mock (demo data). */
export const CredentialSourceSchema = z.enum(['stored', 'env', 'mock', 'none', 'not_needed']);
export type CredentialSource = z.infer<typeof CredentialSourceSchema>;

/** A provider as the API shows it: never its credentials, only whether and where it has them. */
export const ProviderSchema = z
  .object({
    uuid: UuidSchema,
    provider_name: z.string(),
    display_name: z.string(),
    description: z.string().nullable(),
    is_builtin: z.boolean(),
    is_active: z.boolean(),
    supported_indicator_types: z.array(IndicatorTypeSchema),
    http_config: HttpConfigSchema,
    auth_type: z.string(),
    env_var_mapping: z.record(z.string(), z.string()).nullable(),
    default_cache_ttl_seconds: z.number().int(),
    cache_ttl_by_type: CacheTtlByTypeSchema.nullable(),
    negative_cache_ttl_seconds: z.number().int().nullable(),
    malice_rules: MaliceRulesSchema.nullable(),
    rate_limit_per_minute: z.number().int().nullable(),
    rate_limit_per_day: z.number().int().nullable(),
    timeout_ms: z.number().int(),
    /** Every `auth.*` key its templates need resolves (stored credentials, environment or builtin default). */
    has_credentials: z.boolean(),
    credential_source: CredentialSourceSchema,
    /** Active and has credentials: the provider runs. */
    is_configured: z.boolean(),
    quota: ProviderQuotaSchema,
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: 'EnrichmentProvider' });
export type Provider = z.infer<typeof ProviderSchema>;

export const ProviderListQuerySchema = z.object({
  is_active: QueryBoolSchema,
  is_builtin: QueryBoolSchema,
});

export const ProviderTestRequestSchema = z
  .object({
    indicator_type: IndicatorTypeSchema,
    indicator_value: z.string().trim().min(1).max(2048),
  })
  .strict()
  .meta({ id: 'EnrichmentProviderTestRequest' });
export type ProviderTestRequest = z.infer<typeof ProviderTestRequestSchema>;

export const ProviderTestResultSchema = z
  .object({
    provider_name: z.string(),
    indicator_type: IndicatorTypeSchema,
    indicator_value: z.string(),
    /** The provider answered as configured (`success` or `not_found`). */
    success: z.boolean(),
    result: EnrichmentProviderResultSchema,
    /** Each HTTP step as sent and answered, credentials masked. */
    steps: z.array(ProviderStepDebugSchema),
  })
  .meta({ id: 'EnrichmentProviderTestResult' });
export type ProviderTestResult = z.infer<typeof ProviderTestResultSchema>;

// ---------------------------------------------------------------- field extractions

const ExtractionFields = {
  provider_name: ProviderNameSchema,
  indicator_type: FieldExtractionSchema.shape.indicator_type,
  source_path: FieldExtractionSchema.shape.source_path,
  target_key: FieldExtractionSchema.shape.target_key,
  /** The reference default (the column default too). */
  value_type: ExtractionValueTypeSchema.default('string'),
  is_active: z.boolean().default(true),
  description: z.string().max(2000).nullable().default(null),
};

export const ExtractionCreateSchema = z
  .object(ExtractionFields)
  .strict()
  .meta({ id: 'EnrichmentFieldExtractionCreate' });
export type ExtractionCreate = z.infer<typeof ExtractionCreateSchema>;
export type ExtractionCreateInput = z.input<typeof ExtractionCreateSchema>;

export const ExtractionBulkCreateSchema = z
  .object({ extractions: z.array(ExtractionCreateSchema).min(1).max(100) })
  .strict()
  .meta({ id: 'EnrichmentFieldExtractionBulkCreate' });
export type ExtractionBulkCreate = z.infer<typeof ExtractionBulkCreateSchema>;

/** System extractions accept only `is_active`. */
export const ExtractionUpdateSchema = z
  .object({
    indicator_type: ExtractionFields.indicator_type.optional(),
    source_path: ExtractionFields.source_path.optional(),
    target_key: ExtractionFields.target_key.optional(),
    value_type: ExtractionValueTypeSchema.optional(),
    is_active: z.boolean().optional(),
    description: z.string().max(2000).nullable().optional(),
  })
  .strict()
  .meta({ id: 'EnrichmentFieldExtractionUpdate' });
export type ExtractionUpdate = z.infer<typeof ExtractionUpdateSchema>;

export const ExtractionSchema = z
  .object({
    uuid: UuidSchema,
    provider_name: z.string(),
    indicator_type: IndicatorTypeSchema,
    source_path: z.string(),
    target_key: z.string(),
    value_type: ExtractionValueTypeSchema,
    is_system: z.boolean(),
    is_active: z.boolean(),
    description: z.string().nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: 'EnrichmentFieldExtraction' });
export type Extraction = z.infer<typeof ExtractionSchema>;

export const ExtractionListQuerySchema = z.object({
  provider_name: z.string().max(100).optional(),
  indicator_type: IndicatorTypeSchema.optional(),
  is_system: QueryBoolSchema,
  is_active: QueryBoolSchema,
});

// ---------------------------------------------------------------- community import

/** A community provider file: the provider and its extractions (whose `provider_name` is implied). */
export const ProviderImportSchema = z
  .object({
    provider: ProviderCreateSchema,
    field_extractions: z
      .array(
        ExtractionCreateSchema.extend({
          provider_name: ProviderNameSchema.optional(),
        }),
      )
      .max(500)
      .default([]),
  })
  .strict()
  .meta({ id: 'EnrichmentProviderImport' });
export type ProviderImport = z.infer<typeof ProviderImportSchema>;
export type ProviderImportInput = z.input<typeof ProviderImportSchema>;

export const ProviderImportResultSchema = z
  .object({ provider: ProviderSchema, field_extractions: z.array(ExtractionSchema) })
  .meta({ id: 'EnrichmentProviderImportResult' });
export type ProviderImportResult = z.infer<typeof ProviderImportResultSchema>;
