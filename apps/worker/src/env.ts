import { type CoreConfig, parseAllowedHosts, providerEnvFrom } from '@calseta/core';
import { z } from 'zod';

/** The worker's configuration: the only place that reads process.env. */
const EnvSchema = z.object({
  DATABASE_URL: z.string().min(1, 'DATABASE_URL is required (pnpm dev / pnpm start set it for you)'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(16),
  DB_POOL_SIZE: z.coerce.number().int().positive().default(20),
  /** 32 bytes, base64 or hex: encrypts provider credentials at rest (pnpm dev generates one). */
  ENCRYPTION_KEY: z.string().optional(),
  /** Hosts (or host:port) outbound calls may reach although internal, e.g. an on-prem intel API. */
  SSRF_ALLOWED_HOSTS: z.string().optional(),
  /** The API's URL as agents reach it: links in agent payloads. */
  CALSETA_API_BASE_URL: z.string().url().default('http://localhost:8000'),
  ALERT_DEDUP_WINDOW_HOURS: z.coerce.number().min(0).default(24),
});
export type Env = z.infer<typeof EnvSchema> & { providerEnv: Record<string, string> };

export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const parsed = EnvSchema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid worker configuration:\n${problems}`);
  }
  return { ...parsed.data, providerEnv: providerEnvFrom(source) };
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
