import { type CoreConfig, parseAllowedHosts, providerEnvFrom } from '@calseta/core';
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** The API's configuration: the only place that reads process.env. */
const EnvSchema = z.object({
  DATABASE_URL: z.string().min(1, 'DATABASE_URL is required (pnpm dev / pnpm start set it for you)'),
  API_HOST: z.string().default('0.0.0.0'),
  API_PORT: z.coerce.number().int().min(0).max(65535).default(8000),
  APP_VERSION: z.string().default('0.1.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ALERT_DEDUP_WINDOW_HOURS: z.coerce.number().min(0).default(24),
  MAX_INGEST_PAYLOAD_SIZE_MB: z.coerce.number().positive().default(5),
  MAX_REQUEST_BODY_SIZE_MB: z.coerce.number().positive().default(10),
  DB_POOL_SIZE: z.coerce.number().int().positive().default(20),
  /** 32 bytes, base64 or hex: encrypts provider credentials at rest (pnpm dev generates one). */
  ENCRYPTION_KEY: z.string().optional(),
  /** Hosts (or host:port) outbound calls may reach although internal, e.g. an on-prem intel API. */
  SSRF_ALLOWED_HOSTS: z.string().optional(),
  /** The API's URL as agents reach it: links in agent payloads. */
  CALSETA_API_BASE_URL: z.string().url().default('http://localhost:8000'),
  SENTINEL_WEBHOOK_SECRET: z.string().default(''),
  ELASTIC_WEBHOOK_SECRET: z.string().default(''),
  SPLUNK_WEBHOOK_SECRET: z.string().default(''),
  GENERIC_WEBHOOK_SECRET: z.string().default(''),
  LOG_REQUESTS: bool.default(true),
});
export type Env = z.infer<typeof EnvSchema> & { providerEnv: Record<string, string> };

export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid API configuration:\n${problems}`);
  }
  return { ...parsed.data, providerEnv: providerEnvFrom(source) };
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

/** Secrets, outbound policy and provider settings shared by every process. */
export function sharedConfig(env: Env): Pick<CoreConfig, 'encryptionKey' | 'enrichment' | 'outbound' | 'apiBaseUrl'> {
  return {
    apiBaseUrl: env.CALSETA_API_BASE_URL,
    encryptionKey: env.ENCRYPTION_KEY,
    outbound: { allowHosts: parseAllowedHosts(env.SSRF_ALLOWED_HOSTS) },
    enrichment: { providerEnv: env.providerEnv },
  };
}
