import { z } from 'zod';
import { approvalNotifierOf } from './infra/approval-config.js';
import type { CoreConfig } from './infra/context.js';
import { parseAllowedHosts, providerEnvFrom } from './infra/enrichment/runtime.js';
import { parsePluginList } from './plugins.js';

/**
 * The settings every process (api, worker, mcp) reads from its environment. Each app extends this
 * schema with its own and parses in its `env.ts` — the only place that reads `process.env`.
 */
export const ProcessEnvSchema = z.object({
  DATABASE_URL: z.string().min(1, 'DATABASE_URL is required (pnpm dev / pnpm start set it for you)'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  DB_POOL_SIZE: z.coerce.number().int().positive().default(20),
  /** `false` behind a pooler that cannot keep prepared statements (PgBouncer transaction mode < 1.21). */
  DB_PREPARED_STATEMENTS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  ALERT_DEDUP_WINDOW_HOURS: z.coerce.number().min(0).default(24),
  /** 32 bytes, base64 or hex: encrypts secrets at rest (pnpm dev generates one). */
  ENCRYPTION_KEY: z.string().optional(),
  /**
   * Hosts (or host:port) one kind of outbound call may reach although internal, e.g. an on-prem
   * intel API for providers. Metadata and link-local addresses stay blocked whatever is listed.
   */
  SSRF_ALLOWED_HOSTS_PROVIDERS: z.string().optional(),
  SSRF_ALLOWED_HOSTS_AGENTS: z.string().optional(),
  SSRF_ALLOWED_HOSTS_WORKFLOWS: z.string().optional(),
  SSRF_ALLOWED_HOSTS_NOTIFIERS: z.string().optional(),
  /** Deprecated: hosts EVERY kind of outbound call may reach; use the per-purpose lists above. */
  SSRF_ALLOWED_HOSTS: z.string().optional(),
  /** The API's URL as agents reach it: links in agent payloads. */
  CALSETA_API_BASE_URL: z.string().url().default('http://localhost:8000'),
  /** Enables `POST /v1/workflows/generate` (Anthropic Messages API). */
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: z.string().url().default('https://api.anthropic.com'),
  ANTHROPIC_MODEL: z.string().min(1).default('claude-sonnet-4-6'),
  /** Where approval requests go: none | slack | teams (case-insensitive; anything else is none). */
  APPROVAL_NOTIFIER: z.string().optional(),
  /** Slack incoming-webhook URL of approval messages (the only destination; `approval_channel` is a label). */
  SLACK_WEBHOOK_URL: z.string().url().optional(),
  /** Verifies Slack button callbacks; without it messages carry no buttons and the callback is off. */
  SLACK_SIGNING_SECRET: z.string().optional(),
  /** Teams incoming-webhook URL of approval cards (the only destination; `approval_channel` is a label). */
  TEAMS_WEBHOOK_URL: z.string().url().optional(),
  /** Plugin packages to load at startup (comma-separated names or paths): their sources and providers. */
  CALSETA_PLUGINS: z.string().optional().transform(parsePluginList),
  /**
   * Seconds after which a job still running in a process that died is given back to the queue
   * (every queue; default: each queue's own expiry, 2–16 min). Must exceed the longest legitimate
   * run; set it in every process (api and worker), since each writes the queue policy on start.
   */
  JOB_EXPIRE_SECONDS: z.coerce.number().int().min(1).optional(),
  /** Longest wait between two attempts of an agent delivery (default 300). */
  AGENT_RETRY_CAP_SECONDS: z.coerce.number().int().min(1).optional(),
  /** Worker threads running workflow code in this process (default min(2, CPU cores)). */
  WORKFLOW_SANDBOX_THREADS: z.coerce.number().int().min(1).max(64).optional(),
  /** Per-incident agents: seconds an update waits for more alerts to join before it is delivered (default 30). */
  INCIDENT_DEBOUNCE_SECONDS: z.coerce.number().int().min(0).max(3600).optional(),
});

/** Parse an app's environment, saying every problem at once; adds the provider credentials it may read. */
export function parseProcessEnv<S extends z.ZodType<z.infer<typeof ProcessEnvSchema>>>(
  schema: S,
  source: Readonly<Record<string, string | undefined>>,
  app: string,
): z.infer<S> & { providerEnv: Record<string, string> } {
  const parsed = schema.safeParse(source);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`).join('\n');
    throw new Error(`Invalid ${app} configuration:\n${problems}`);
  }
  return { ...parsed.data, providerEnv: providerEnvFrom(source) };
}

/** The core configuration every process shares, from its parsed environment. */
export function sharedCoreConfig(
  env: z.infer<typeof ProcessEnvSchema> & { providerEnv: Record<string, string> },
): Omit<CoreConfig, 'webhookSecrets'> {
  return {
    dedupWindowHours: env.ALERT_DEDUP_WINDOW_HOURS,
    apiBaseUrl: env.CALSETA_API_BASE_URL,
    encryptionKey: env.ENCRYPTION_KEY,
    outbound: {
      allowHosts: parseAllowedHosts(env.SSRF_ALLOWED_HOSTS),
      allowHostsFor: {
        providers: parseAllowedHosts(env.SSRF_ALLOWED_HOSTS_PROVIDERS),
        agents: parseAllowedHosts(env.SSRF_ALLOWED_HOSTS_AGENTS),
        workflows: parseAllowedHosts(env.SSRF_ALLOWED_HOSTS_WORKFLOWS),
        notifiers: parseAllowedHosts(env.SSRF_ALLOWED_HOSTS_NOTIFIERS),
      },
    },
    enrichment: { providerEnv: env.providerEnv },
    ...(env.WORKFLOW_SANDBOX_THREADS === undefined ? {} : { workflowThreads: env.WORKFLOW_SANDBOX_THREADS }),
    ...(env.AGENT_RETRY_CAP_SECONDS === undefined
      ? {}
      : { agentDispatch: { retryCapSeconds: env.AGENT_RETRY_CAP_SECONDS } }),
    ...(env.INCIDENT_DEBOUNCE_SECONDS === undefined
      ? {}
      : { incidents: { debounceSeconds: env.INCIDENT_DEBOUNCE_SECONDS } }),
    generation: {
      anthropicApiKey: env.ANTHROPIC_API_KEY || undefined,
      anthropicBaseUrl: env.ANTHROPIC_BASE_URL,
      model: env.ANTHROPIC_MODEL,
    },
    approvals: {
      notifier: approvalNotifierOf(env.APPROVAL_NOTIFIER),
      slackWebhookUrl: env.SLACK_WEBHOOK_URL || undefined,
      slackSigningSecret: env.SLACK_SIGNING_SECRET || undefined,
      teamsWebhookUrl: env.TEAMS_WEBHOOK_URL || undefined,
    },
  };
}
