import { z } from 'zod';
import { TimestampSchema, UuidSchema } from './common.js';
import { ScopeSchema } from './enums.js';

/** Roles people hold (issue 21); each is a set of scopes (core's users/roles.ts). */
export const RoleSchema = z.enum(['admin', 'analyst', 'approver', 'viewer']);
export type Role = z.infer<typeof RoleSchema>;
export const ROLES = RoleSchema.options;

/** The person behind an action (audit events, findings, approvals), when a person acted. */
export const ActorUserSchema = z.object({ uuid: UuidSchema, email: z.string() }).meta({ id: 'ActorUser' });
export type ActorUser = z.infer<typeof ActorUserSchema>;

export const UserSchema = z
  .object({
    uuid: UuidSchema,
    email: z.string(),
    name: z.string().nullable(),
    /** What the user holds: the union of `idp_roles` and `granted_roles`. */
    roles: z.array(RoleSchema),
    /** Mapped from the identity provider's claims at the last sign-in. */
    idp_roles: z.array(RoleSchema),
    /** Granted here (by an admin, `OIDC_ADMIN_EMAILS` or `calseta users grant-admin`). */
    granted_roles: z.array(RoleSchema),
    scopes: z.array(ScopeSchema),
    disabled: z.boolean(),
    /** False while pre-provisioned by email and never signed in. */
    signed_in: z.boolean(),
    last_sign_in_at: TimestampSchema.nullable(),
    created_at: TimestampSchema,
  })
  .meta({ id: 'User' });
export type User = z.infer<typeof UserSchema>;

export const UserPatchSchema = z
  .object({
    /** Replaces the granted roles (roles from the identity provider are refreshed at each sign-in). */
    roles: z.array(RoleSchema).max(4).optional(),
    /** A disabled user cannot sign in; their sessions and personal keys stop working at once. */
    disabled: z.boolean().optional(),
  })
  .strict()
  .meta({ id: 'UserPatch' });
export type UserPatch = z.infer<typeof UserPatchSchema>;

export const AuthConfigSchema = z
  .object({
    oidc: z.object({ enabled: z.boolean(), display_name: z.string().nullable() }),
    api_key_sign_in: z.boolean(),
  })
  .meta({ id: 'AuthConfig' });
export type AuthConfig = z.infer<typeof AuthConfigSchema>;

export const SessionInfoSchema = z
  .object({
    kind: z.enum(['oidc', 'api_key']),
    user: z
      .object({ uuid: UuidSchema, email: z.string(), name: z.string().nullable(), roles: z.array(RoleSchema) })
      .nullable(),
    scopes: z.array(ScopeSchema),
    /** Send as `X-CSRF-Token` on every POST/PUT/PATCH/DELETE authenticated by the cookie. */
    csrf_token: z.string(),
    expires_at: TimestampSchema,
    idle_expires_at: TimestampSchema,
  })
  .meta({ id: 'SessionInfo' });
export type SessionInfo = z.infer<typeof SessionInfoSchema>;

export const ApiKeySignInSchema = z
  .object({ api_key: z.string().min(1).max(200) })
  .strict()
  .meta({ id: 'ApiKeySignIn' });
