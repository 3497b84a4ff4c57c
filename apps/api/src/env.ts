import { ProcessEnvSchema, parseProcessEnv, parseTrustedProxies } from '@calseta/core';
import { z } from 'zod';
import type { SecurityOptions } from './types.js';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

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
  /** Requests per minute per API key (or client IP on unauthenticated routes); 0 switches a class off. */
  RATE_LIMIT_AUTHED_PER_MINUTE: z.coerce.number().int().min(0).default(600),
  RATE_LIMIT_INGEST_PER_MINUTE: z.coerce.number().int().min(0).default(100),
  RATE_LIMIT_ENRICHMENT_PER_MINUTE: z.coerce.number().int().min(0).default(60),
  RATE_LIMIT_WORKFLOW_EXECUTE_PER_MINUTE: z.coerce.number().int().min(0).default(30),
  /** Failed authentications per client IP per minute before 429 (and the audit-row cap per IP). */
  RATE_LIMIT_UNAUTHED_PER_MINUTE: z.coerce.number().int().min(0).default(30),
  /** Comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed; empty trusts none. */
  TRUSTED_PROXIES: z.string().default(''),
  /** Comma-separated browser origins allowed by CORS (`*` for any); empty (default) = CORS off. */
  CORS_ALLOWED_ORIGINS: z.string().default(''),
  /** Send Strict-Transport-Security (only behind HTTPS). */
  HTTPS_ENABLED: bool.default(false),
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

/** The API's hardening options (`AppOptions.security`) from its environment. */
export function securityOptions(env: Env): SecurityOptions {
  return {
    rateLimits: {
      limits: {
        authenticated: env.RATE_LIMIT_AUTHED_PER_MINUTE,
        ingest: env.RATE_LIMIT_INGEST_PER_MINUTE,
        enrichment: env.RATE_LIMIT_ENRICHMENT_PER_MINUTE,
        workflow_execute: env.RATE_LIMIT_WORKFLOW_EXECUTE_PER_MINUTE,
        unauthenticated: env.RATE_LIMIT_UNAUTHED_PER_MINUTE,
      },
    },
    trustedProxies: parseTrustedProxies(env.TRUSTED_PROXIES),
    corsOrigins: env.CORS_ALLOWED_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    hsts: env.HTTPS_ENABLED,
  };
}
