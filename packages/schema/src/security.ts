/** Source integrations, settings and the audit log (activity API): request and response schemas. */
import { z } from 'zod';
import { TimestampSchema, UuidSchema } from './common.js';
import { ActorTypeSchema } from './enums.js';
import { ActorUserSchema } from './users.js';

/** Serialized size cap of a source's `auth_config` (reference: MEDIUM, 256 KB). */
export const AUTH_CONFIG_MAX_BYTES = 256 * 1024;

/**
 * Credentials of a source, stored encrypted and never returned. `webhook_secret` is the one the
 * ingest route uses: the HMAC key (Sentinel, Elastic, generic) or the shared token (Splunk).
 */
export const SourceAuthConfigSchema = z
  .object({ webhook_secret: z.string().min(16).max(1_000).optional() })
  .catchall(z.unknown())
  .refine((value) => new TextEncoder().encode(JSON.stringify(value)).byteLength <= AUTH_CONFIG_MAX_BYTES, {
    message: `auth_config exceeds maximum size of ${AUTH_CONFIG_MAX_BYTES / 1024} KB`,
  })
  .meta({ id: 'SourceAuthConfig' });
export type SourceAuthConfig = z.infer<typeof SourceAuthConfigSchema>;

const sourceFields = {
  display_name: z.string().trim().min(1).max(255),
  is_active: z.boolean(),
  auth_type: z.string().trim().min(1).max(50).nullable(),
  auth_config: SourceAuthConfigSchema.nullable(),
  documentation: z.string().max(100_000).nullable(),
};

export const SourceIntegrationCreateSchema = z
  .object({
    /** A registered source plugin (`sentinel`, `elastic`, `splunk`, `generic`, or a community plugin). */
    source_name: z.string().trim().min(1).max(100),
    display_name: sourceFields.display_name,
    is_active: sourceFields.is_active.default(true),
    auth_type: sourceFields.auth_type.default(null),
    auth_config: sourceFields.auth_config.default(null),
    documentation: sourceFields.documentation.default(null),
  })
  .strict()
  .meta({ id: 'SourceIntegrationCreate' });
export type SourceIntegrationCreate = z.input<typeof SourceIntegrationCreateSchema>;

/** Omitted fields are unchanged; `auth_config: null` removes the stored credentials. */
export const SourceIntegrationUpdateSchema = z
  .object({
    display_name: sourceFields.display_name.optional(),
    is_active: sourceFields.is_active.optional(),
    auth_type: sourceFields.auth_type.optional(),
    auth_config: sourceFields.auth_config.optional(),
    documentation: sourceFields.documentation.optional(),
  })
  .strict()
  .meta({ id: 'SourceIntegrationUpdate' });
export type SourceIntegrationUpdate = z.infer<typeof SourceIntegrationUpdateSchema>;

export const SourceIntegrationSchema = z
  .object({
    uuid: UuidSchema,
    source_name: z.string(),
    display_name: z.string(),
    is_active: z.boolean(),
    auth_type: z.string().nullable(),
    /** Credentials are stored (encrypted); they are never returned. */
    has_auth_config: z.boolean(),
    /** True when ingest from this source must carry a valid signature / shared-secret header. */
    has_webhook_secret: z.boolean(),
    /** The names of the stored credential fields, values masked. */
    auth_config_fields: z.array(z.string()),
    documentation: z.string().nullable(),
    /** Where the source posts its alerts. */
    webhook_path: z.string(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: 'SourceIntegration' });
export type SourceIntegration = z.infer<typeof SourceIntegrationSchema>;

export const ApprovalDefaultsSchema = z
  .object({
    notifier: z.enum(['none', 'slack', 'teams']),
    default_channel: z.string().nullable(),
    default_timeout_seconds: z.number().int(),
    slack_configured: z.boolean(),
    teams_configured: z.boolean(),
  })
  .meta({ id: 'ApprovalDefaults' });
export type ApprovalDefaults = z.infer<typeof ApprovalDefaultsSchema>;

const csv = z
  .string()
  .max(2_000)
  .transform((v) =>
    v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

export const ActivityListQuerySchema = z.object({
  page: z.coerce.number().int().min(1).default(1),
  page_size: z.coerce.number().int().min(1).max(500).default(50),
  /** Comma-separated event types, e.g. `auth_failed,api_write`. */
  event_type: csv.optional(),
  actor_type: ActorTypeSchema.optional(),
  actor_key_prefix: z.string().min(1).max(20).optional(),
  request_id: z.string().min(1).max(128).optional(),
  /** Inclusive lower bound of `created_at`. */
  from: z.iso.datetime({ offset: true }).optional(),
  /** Exclusive upper bound of `created_at`. */
  to: z.iso.datetime({ offset: true }).optional(),
});
export type ActivityListQuery = z.infer<typeof ActivityListQuerySchema>;

export const AuditEventSchema = z
  .object({
    uuid: UuidSchema,
    event_type: z.string(),
    actor_type: ActorTypeSchema,
    actor_key_prefix: z.string().nullable(),
    actor_key_name: z.string().nullable(),
    /** The person acting (a signed-in user or a personal key's owner); null for agents' keys and the system. */
    actor_user: ActorUserSchema.nullable(),
    request_id: z.string().nullable(),
    references: z.record(z.string(), z.unknown()),
    created_at: TimestampSchema,
  })
  .meta({ id: 'AuditEvent' });
export type AuditEvent = z.infer<typeof AuditEventSchema>;
