import {
  GateEnvSchema,
  gateOptionsFrom,
  OPS_DEFAULT_PORTS,
  opsEnvShape,
  ProcessEnvSchema,
  parseProcessEnv,
  TracingEnvSchema,
} from '@calseta/core';
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
    ...gateOptionsFrom(env),
    corsOrigins: env.CORS_ALLOWED_ORIGINS.split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    hsts: env.HTTPS_ENABLED,
  };
}
