import { z } from 'zod';
import { TimestampSchema, UuidSchema } from './common.js';
import { ApiKeyTypeSchema, ScopeSchema } from './enums.js';

const SourceNamesSchema = z.array(z.string().min(1).max(100)).max(100);

export const ApiKeyCreateSchema = z
  .object({
    name: z.string().trim().min(1).max(255),
    scopes: z.array(ScopeSchema).min(1).max(10),
    key_type: ApiKeyTypeSchema.default('human'),
    expires_at: z.iso.datetime({ offset: true }).nullable().optional(),
    allowed_sources: SourceNamesSchema.nullable().optional(),
  })
  .strict()
  .meta({ id: 'ApiKeyCreate' });
export type ApiKeyCreate = z.input<typeof ApiKeyCreateSchema>;

export const ApiKeyUpdateSchema = z
  .object({
    name: z.string().trim().min(1).max(255).optional(),
    scopes: z.array(ScopeSchema).min(1).max(10).optional(),
    expires_at: z.iso.datetime({ offset: true }).nullable().optional(),
    /** Explicit null clears the restriction; omitted leaves it. */
    allowed_sources: SourceNamesSchema.nullable().optional(),
    is_active: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'ApiKeyUpdate' });
export type ApiKeyUpdate = z.infer<typeof ApiKeyUpdateSchema>;

export const ApiKeySchema = z
  .object({
    uuid: UuidSchema,
    name: z.string(),
    key_prefix: z.string(),
    scopes: z.array(ScopeSchema),
    key_type: ApiKeyTypeSchema,
    is_active: z.boolean(),
    created_at: TimestampSchema,
    expires_at: TimestampSchema.nullable(),
    last_used_at: TimestampSchema.nullable(),
    revoked_at: TimestampSchema.nullable(),
    allowed_sources: z.array(z.string()).nullable(),
  })
  .meta({ id: 'ApiKey' });
export type ApiKey = z.infer<typeof ApiKeySchema>;

export const ApiKeyCreatedSchema = ApiKeySchema.extend({
  /** The plaintext key. Returned once, never stored. */
  key: z.string(),
}).meta({ id: 'ApiKeyCreated' });
export type ApiKeyCreated = z.infer<typeof ApiKeyCreatedSchema>;
