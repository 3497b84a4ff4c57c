import { type Db, poolOf } from '@calseta/db';
import { createAgentFetch } from './agents/deliver.js';
import { createApprovalFetch } from './approvals/notify.js';
import type { CoreConfig, CoreDeps } from './infra/context.js';
import { EnrichmentRuntime, providerEnvFrom } from './infra/enrichment/runtime.js';
import { policyFor } from './infra/http/policy.js';
import type { Integrations } from './infra/integrations.js';
import type { JobQueue } from './infra/jobs/queue.js';
import { ApiKeyCache } from './infra/key-cache.js';
import type { Logger } from './infra/logger.js';
import { MappingRuleCache } from './infra/mapping-rules.js';
import { SecretBox } from './infra/secrets/box.js';
import { SourceRegistry } from './infra/source-registry.js';
import { SourceRowCache } from './infra/source-row-cache.js';
import { observeDbPool, observePendingApprovals } from './infra/telemetry/metrics.js';
import { createIngestBatcher } from './ingest/batcher.js';
import type { LoadedPlugins } from './plugins.js';
import { createWorkflowFetch } from './workflows/http.js';

export interface CreateCoreOptions {
  db: Db;
  queue: JobQueue;
  config: CoreConfig;
  logger: Logger;
  /**
   * The plugins and vendor clients core reaches only through its ports: `firstParty` from
   * `@calseta/integrations` in the apps (`NO_INTEGRATIONS` for core alone). Core never imports them.
   */
  integrations: Integrations;
  /** Plugins loaded from `CALSETA_PLUGINS` (`loadPlugins`): their sources are registered after the integrations' plugins'. */
  plugins?: Pick<LoadedPlugins, 'sources'>;
}

/** A process's core: its dependencies, and `close()` for the clients and listeners core made. */
export interface Core extends CoreDeps {
  /**
   * Close what createCore opened: the enrichment runtime and the outbound clients (agents, workflows,
   * notifiers). The caller's queue and database stay open: stop the queue first, destroy the pool last.
   */
  close(): Promise<void>;
}

/** Build a process's core dependencies. Called once, by each app's composition root. */
export function createCore(options: CreateCoreOptions): Core {
  const { integrations } = options;
  // First-party providers are builtinProviders (seeded is_builtin, env defaults); an integrations plugin
  // contributes sources only, and one that brought providers would otherwise be dropped silently.
  const withProviders = integrations.plugins.filter((plugin) => plugin.providers.length > 0).map((p) => p.name);
  if (withProviders.length > 0) {
    throw new Error(
      `integrations plugins contribute sources only; move their providers to builtinProviders: ${withProviders.join(', ')}`,
    );
  }
  // Providers read only the builtins' own variables and CALSETA_PROVIDER_*, whatever the app collected.
  const enrichmentConfig = options.config.enrichment ?? { providerEnv: {} };
  const config: CoreConfig = {
    ...options.config,
    enrichment: {
      ...enrichmentConfig,
      providerEnv: providerEnvFrom(enrichmentConfig.providerEnv, integrations.builtinProviders),
    },
  };
  const apiKeys = new ApiKeyCache();
  const notifications = options.queue.notifications;
  // Caching switches on once the invalidation listener is confirmed; until then keys are read.
  apiKeys
    .attach(notifications)
    .catch((error: unknown) => options.logger.warn({ err: error }, 'API key cache disabled: no notification listener'));
  const sourceRows = new SourceRowCache();
  sourceRows
    .attach(notifications)
    .catch((error: unknown) =>
      options.logger.warn({ err: error }, 'source integration cache disabled: no notification listener'),
    );
  const mappingRules = new MappingRuleCache();
  mappingRules
    .attach(notifications)
    .catch((error: unknown) =>
      options.logger.warn({ err: error }, 'mapping changes from other processes arrive by TTL only'),
    );
  const secrets = config.encryptionKey ? new SecretBox(config.encryptionKey) : null;
  const enrichment = new EnrichmentRuntime({
    db: options.db,
    notifications,
    secrets,
    logger: options.logger,
    config: config.enrichment ?? { providerEnv: {} },
    outbound: policyFor(config.outbound ?? {}, 'providers'),
    builtins: integrations.builtinProviders,
  });
  enrichment
    .attach()
    .catch((error: unknown) =>
      options.logger.warn({ err: error }, 'provider changes from other processes arrive by TTL only'),
    );
  const base = { db: options.db, queue: options.queue, config, logger: options.logger };
  const agentFetch = createAgentFetch(policyFor(config.outbound ?? {}, 'agents'));
  const workflowFetch = createWorkflowFetch(policyFor(config.outbound ?? {}, 'workflows'));
  const approvalFetch = createApprovalFetch(policyFor(config.outbound ?? {}, 'notifiers'));
  const pool = poolOf(options.db);
  const unobservePool = pool ? observeDbPool(pool) : () => {};
  const unobserveApprovals = observePendingApprovals(async () => {
    const row = await options.db
      .selectFrom('workflow_approval_requests')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('status', '=', 'pending')
      .executeTakeFirst();
    return Number(row?.n ?? 0);
  });
  return {
    ...base,
    secrets,
    enrichment,
    agentFetch,
    workflowFetch,
    approvalFetch,
    apiKeys,
    sourceRows,
    notifications,
    ingest: createIngestBatcher(base),
    // First-party and community sources alike: plugins, in the order the composition root gave them.
    sources: new SourceRegistry([
      ...integrations.plugins.flatMap((plugin) => plugin.sources),
      ...(options.plugins?.sources ?? []),
    ]),
    mappingRules,
    integrations,
    async close() {
      unobserveApprovals();
      unobservePool();
      await enrichment.close();
      await agentFetch.close();
      await workflowFetch.close();
      await approvalFetch.close();
    },
  };
}
