import type { Db } from '@calseta/db';
import type { ApiKeyType, DetectionRuleRef, IngestAccepted, NormalizedAlert, Scope } from '@calseta/schema';
import type { ApprovalConfig } from './approval-config.js';
import type { EnrichmentConfig, EnrichmentRuntime } from './enrichment/runtime.js';
import type { GroupCommit } from './group-commit.js';
import type { OutboundConfig } from './http/policy.js';
import type { SafeFetch } from './http/safe-fetch.js';
import type { Integrations } from './integrations.js';
import type { JobQueue } from './jobs/queue.js';
import type { ApiKeyCache } from './key-cache.js';
import type { Logger } from './logger.js';
import type { MappingRuleCache } from './mapping-rules.js';
import type { Notifications } from './notifications.js';
import type { SecretBox } from './secrets/box.js';
import type { SourceRegistry } from './source-registry.js';
import type { SourceRowCache } from './source-row-cache.js';

/** A person acting (issue 21): recorded beside the credential on everything they do. */
export interface ActingUser {
  id: number;
  uuid: string;
  email: string;
}

/**
 * The credential that passed authentication: an API key (bearer, a personal key, or the key behind an
 * API-key sign-in session), or a person's OIDC session (`id` null: no key; `name` is the user's email,
 * `prefix` "session"). `scopes` are what it may do — for a person, within their roles.
 */
export interface AuthenticatedKey {
  /** The api_keys row; null for an OIDC session. */
  id: number | null;
  uuid: string;
  name: string;
  prefix: string;
  scopes: readonly Scope[];
  keyType: ApiKeyType;
  allowedSources: readonly string[] | null;
  /** The person behind it: a signed-in user, or a personal key's owner. */
  user?: ActingUser | undefined;
}

/** Who is acting: a key through a transport, or the system itself (worker, seeders). */
export type Actor = { type: 'api' | 'mcp'; key: AuthenticatedKey } | { type: 'system' };

export const SYSTEM: Actor = { type: 'system' };

export interface CoreConfig {
  /** Duplicates of an alert within this window are counted on it instead of stored; 0 disables. */
  dedupWindowHours: number;
  /** Secrets for webhook signature checks per source, when configured (else not checked). */
  webhookSecrets: Readonly<Record<string, string>>;
  /** `ENCRYPTION_KEY` for secrets at rest; without it secrets cannot be stored (ENCRYPTION_NOT_CONFIGURED). */
  encryptionKey?: string | undefined;
  /** Default: no provider environment. */
  enrichment?: EnrichmentConfig;
  /**
   * Policy of every outbound call to a user-supplied URL (providers, agent webhooks, workflows,
   * notifiers): `allowHostsFor` per purpose from `SSRF_ALLOWED_HOSTS_<PURPOSE>`, `allowHosts` from the
   * deprecated shared `SSRF_ALLOWED_HOSTS`. Default: public addresses only.
   */
  outbound?: OutboundConfig;
  /** How agents reach this API (links in agent payloads). Default http://localhost:8000. */
  apiBaseUrl?: string;
  /** Agent webhook retries: full-jitter backoff from `retryBaseSeconds` (default 2), capped (default 300). */
  agentDispatch?: { retryBaseSeconds?: number; retryCapSeconds?: number };
  /** Per-incident agent deliveries: an update waits `debounceSeconds` (default 30) for more alerts to join. */
  incidents?: { debounceSeconds?: number };
  /**
   * Workflow generation (`ANTHROPIC_*`): without `anthropicApiKey` it answers GENERATION_NOT_CONFIGURED.
   * Defaults: base URL https://api.anthropic.com, model claude-sonnet-4-6.
   */
  generation?: { anthropicApiKey?: string | undefined; anthropicBaseUrl?: string; model?: string };
  /** Workflow approvals (`APPROVAL_*`, `SLACK_*`, `TEAMS_*`); default: notifier `none`. */
  approvals?: ApprovalConfig;
  /** Worker threads of the workflow sandbox (`WORKFLOW_SANDBOX_THREADS`); default min(2, cores). */
  workflowThreads?: number;
}

/** An alert ready to be stored: everything computed before touching the database. */
export interface PreparedAlert {
  ctx: ServiceContext;
  uuid: string;
  fingerprint: string;
  sourceName: string;
  normalized: NormalizedAlert;
  raw: Record<string, unknown>;
  ruleRef: DetectionRuleRef | null;
  ingestedAt: Date;
  /** The ingest request's trace context (W3C), carried into the alert's enrich job; absent when tracing is off. */
  traceparent?: string;
}

/** Group commit of ingested alerts: the statement is ingest/batcher.ts's, the batching infra's. */
export type IngestBatcher = GroupCommit<PreparedAlert, IngestAccepted>;

/** Everything a verb needs, built once per process by its composition root. */
export interface CoreDeps {
  db: Db;
  queue: JobQueue;
  sources: SourceRegistry;
  config: CoreConfig;
  logger: Logger;
  mappingRules: MappingRuleCache;
  apiKeys: ApiKeyCache;
  /** Source integration rows ingest checks on every webhook, dropped on NOTIFY. */
  sourceRows: SourceRowCache;
  /** Group commit of ingested alerts in this process. */
  ingest: IngestBatcher;
  /** This process's LISTEN connection (shared with the queue). */
  notifications: Notifications;
  /** Encrypts secrets at rest; null when no ENCRYPTION_KEY is configured. */
  secrets: SecretBox | null;
  /** Providers, the engine's Postgres ports and the SSRF-guarded client. */
  enrichment: EnrichmentRuntime;
  /** The SSRF-guarded client of agent webhooks (one pool per process; close on shutdown). */
  agentFetch: SafeFetch;
  /** The SSRF-guarded client of workflow code (`ctx.http`; one pool per process; close on shutdown). */
  workflowFetch: SafeFetch;
  /** The SSRF-guarded client of approval notifications (Slack / Teams webhooks; close on shutdown). */
  approvalFetch: SafeFetch;
  /** Plugins and vendor clients behind ports, as the composition root handed them (`createCore`). */
  integrations: Integrations;
}

/** One call's context: the process's dependencies plus who is acting and the request id. */
export interface ServiceContext extends CoreDeps {
  actor: Actor;
  requestId?: string;
}
