import {
  GateEnvSchema,
  gateOptionsFrom,
  OidcClient,
  OPS_DEFAULT_PORTS,
  opsEnvShape,
  ProcessEnvSchema,
  parseProcessEnv,
  parseRoleMap,
  TracingEnvSchema,
} from '@calseta/core';
import { z } from 'zod';
import type { SecurityOptions } from './types.js';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
/** A duration: seconds, or a number with s/m/h/d (`8h`, `7d`, `90m`). */
const duration = z
  .string()
  .regex(/^\d{1,9}[smhd]?$/, 'a duration such as 3600, 90m, 8h or 7d')
  .transform((v) => Number.parseInt(v, 10) * (UNIT_SECONDS[v.at(-1) ?? 's'] ?? 1))
  .refine((v) => v >= 60, 'at least 60 seconds');
/** Unset when empty (`.env` files list the sign-in variables with no value). */
const optional = <T extends z.ZodType>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema.optional());
const csv = (v: string) =>
  v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

/** The API's configuration: the only place that reads process.env. */
const EnvSchema = ProcessEnvSchema.extend({
  API_HOST: z.string().default('0.0.0.0'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  APP_VERSION: z.string().default('0.1.0'),
  MAX_INGEST_PAYLOAD_SIZE_MB: z.coerce.number().positive().default(5),
  MAX_REQUEST_BODY_SIZE_MB: z.coerce.number().positive().default(10),
  SENTINEL_WEBHOOK_SECRET: z.string().default(''),
  ELASTIC_WEBHOOK_SECRET: z.string().default(''),
  SPLUNK_WEBHOOK_SECRET: z.string().default(''),
  GENERIC_WEBHOOK_SECRET: z.string().default(''),
  LOG_REQUESTS: bool.default(true),
  // OPS_HOST, OPS_PORT: /metrics, /health/live and /health/ready on a port of their own (docs/operations.md).
  ...opsEnvShape(OPS_DEFAULT_PORTS.api),
  // RATE_LIMIT_* and TRUSTED_PROXIES: core's gate, shared with the MCP server (one budget per key).
  ...GateEnvSchema.shape,
  // OTEL_*: traces, off unless an OTLP endpoint is set (core's infra/telemetry/tracing.ts).
  ...TracingEnvSchema.shape,
  /** Comma-separated browser origins allowed by CORS (`*` for any); empty (default) = CORS off. */
  CORS_ALLOWED_ORIGINS: z.string().default(''),
  /** Send Strict-Transport-Security (only behind HTTPS). */
  HTTPS_ENABLED: bool.default(false),
  // Sign-in (issue 21, docs/guides/single-sign-on.md). Without OIDC_ISSUER only the API-key sign-in.
  /** The URL people open (the web UI, served by this API): may write with the cookie; https → Secure cookie. */
  PUBLIC_URL: optional(z.url()),
  /** More browser origins that may write with the cookie (comma-separated), e.g. the Vite dev server. */
  WEB_ORIGINS: z.string().default(''),
  SESSION_IDLE_TIMEOUT: duration.default(8 * 3600),
  SESSION_ABSOLUTE_TIMEOUT: duration.default(7 * 86_400),
  OIDC_ISSUER: optional(z.url()),
  OIDC_CLIENT_ID: optional(z.string()),
  /** A secret: never logged, never returned. */
  OIDC_CLIENT_SECRET: optional(z.string()),
  /** Default `{PUBLIC_URL}/v1/auth/oidc/callback`. */
  OIDC_REDIRECT_URL: optional(z.url()),
  OIDC_DISPLAY_NAME: z.string().min(1).max(100).default('SSO'),
  OIDC_SCOPES: z.string().default('openid email profile'),
  /** The claim (dotted path) holding groups or roles. */
  OIDC_ROLE_CLAIM: z.string().min(1).default('groups'),
  /** `role:group` pairs, e.g. `admin:soc-admins,approver:soc-leads,analyst:soc,viewer:*`. */
  OIDC_ROLE_MAP: z.string().default(''),
  /** Emails granted admin at sign-in (comma-separated): the first admin. */
  OIDC_ADMIN_EMAILS: z.string().default(''),
  OIDC_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
});
export type Env = ReturnType<typeof loadEnv>;

export function loadEnv(source: NodeJS.ProcessEnv = process.env) {
  return parseProcessEnv(EnvSchema, source, 'API');
}

/** Webhook secrets by source name; empty ones are left out (no check for that source). */
export function webhookSecrets(env: Env): Record<string, string> {
  const entries = Object.entries({
    sentinel: env.SENTINEL_WEBHOOK_SECRET,
    elastic: env.ELASTIC_WEBHOOK_SECRET,
    splunk: env.SPLUNK_WEBHOOK_SECRET,
    generic: env.GENERIC_WEBHOOK_SECRET,
  });
  return Object.fromEntries(entries.filter(([, secret]) => secret !== ''));
}

/** The OIDC relying party from the environment, or undefined when OIDC_ISSUER is not set. */
export function oidcClientFrom(env: Env): OidcClient | undefined {
  if (!env.OIDC_ISSUER) return undefined;
  const missing = [
    ...(env.OIDC_CLIENT_ID ? [] : ['OIDC_CLIENT_ID']),
    ...(env.OIDC_CLIENT_SECRET ? [] : ['OIDC_CLIENT_SECRET']),
    ...(env.PUBLIC_URL || env.OIDC_REDIRECT_URL ? [] : ['PUBLIC_URL (or OIDC_REDIRECT_URL)']),
  ];
  if (missing.length > 0)
    throw new Error(`Invalid API configuration:\n  OIDC_ISSUER is set but not ${missing.join(', ')}`);
  const publicUrl = env.PUBLIC_URL ?? new URL(env.OIDC_REDIRECT_URL as string).origin;
  return new OidcClient({
    issuer: env.OIDC_ISSUER,
    clientId: env.OIDC_CLIENT_ID as string,
    clientSecret: env.OIDC_CLIENT_SECRET as string,
    redirectUrl: env.OIDC_REDIRECT_URL ?? new URL('/v1/auth/oidc/callback', publicUrl).href,
    postLogoutRedirectUrl: new URL('/', publicUrl).href,
    displayName: env.OIDC_DISPLAY_NAME,
    scopes: env.OIDC_SCOPES,
    roleClaim: env.OIDC_ROLE_CLAIM,
    roleRules: parseRoleMap(env.OIDC_ROLE_MAP),
    adminEmails: csv(env.OIDC_ADMIN_EMAILS).map((e) => e.toLowerCase()),
    clockToleranceSeconds: env.OIDC_CLOCK_TOLERANCE_SECONDS,
  });
}

/** The API's hardening options (`AppOptions.security`) from its environment. */
export function securityOptions(env: Env): SecurityOptions {
  const oidc = oidcClientFrom(env);
  return {
    ...gateOptionsFrom(env),
    corsOrigins: csv(env.CORS_ALLOWED_ORIGINS),
    hsts: env.HTTPS_ENABLED,
    sessions: { idleSeconds: env.SESSION_IDLE_TIMEOUT, absoluteSeconds: env.SESSION_ABSOLUTE_TIMEOUT },
    signIn: {
      ...(oidc && { oidc }),
      ...(env.PUBLIC_URL && { publicUrl: env.PUBLIC_URL }),
      webOrigins: csv(env.WEB_ORIGINS),
    },
  };
}
