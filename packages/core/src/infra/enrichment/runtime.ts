import type { Db } from '@calseta/db';
import {
  type CachePort,
  type CoalescePort,
  type EnginePorts,
  type EnrichIndicatorOutcome,
  enrichIndicator,
  type HttpPort,
  type IndicatorRef,
  type ProviderRun,
  testProvider,
} from '@calseta/enrichment-engine';
import { createSafeFetch, type OutboundPolicy, type SafeFetch } from '../http/index.js';
import type { Logger } from '../logger.js';
import type { Notifications } from '../notifications.js';
import type { SecretBox } from '../secrets/box.js';
import { withSpan } from '../telemetry/tracing.js';
import type { BuiltinProvider } from './builtin-auth.js';
import { countedCache, observedPorts } from './observed-ports.js';
import { PgEnrichmentCache } from './pg-cache.js';
import { PgCoalescer } from './pg-coalesce.js';
import { PgRateGovernor, type ProviderQuota } from './pg-rate.js';
import { type LoadedProvider, MOCK_ENV_VAR, ProviderRegistry } from './registry.js';

export interface EnrichmentConfig {
  /** Environment variables the builtin providers' `env_var_mapping`s read. */
  providerEnv: Readonly<Record<string, string | undefined>>;
  /** Budget of one provider call unless the provider sets `timeout_ms`. */
  callTimeoutMs?: number;
  /** More DNS suffixes treated as internal (never sent to providers). */
  internalDomainSuffixes?: readonly string[];
}

/** Prefix of environment variables custom providers may read through `env_var_mapping`. */
export const PROVIDER_ENV_PREFIX = 'CALSETA_PROVIDER_';

/**
 * The environment variables providers may read: the builtins' own (`VIRUSTOTAL_API_KEY`…, named by the
 * `builtins` the composition root hands core) and `CALSETA_PROVIDER_*`. Never the rest, so a provider
 * mapping cannot send `DATABASE_URL` out. Without `builtins` (an app parsing its environment before it
 * has its integrations) every non-empty variable is kept as a candidate: `createCore` narrows the
 * configured `providerEnv` with its integrations' builtins before anything reads it.
 */
export function providerEnvFrom(
  env: Readonly<Record<string, string | undefined>>,
  builtins?: readonly BuiltinProvider[],
): Record<string, string> {
  const names = new Set(builtins?.flatMap((p) => Object.keys(p.auth.env_var_mapping)));
  return Object.fromEntries(
    Object.entries(env).filter(
      (entry): entry is [string, string] =>
        entry[1] !== undefined &&
        entry[1] !== '' &&
        (builtins === undefined ||
          names.has(entry[0]) ||
          entry[0].startsWith(PROVIDER_ENV_PREFIX) ||
          entry[0] === MOCK_ENV_VAR),
    ),
  );
}

/** `SSRF_ALLOWED_HOSTS`: comma-separated hosts or host:port that providers, workflows and webhooks may reach although internal. */
export function parseAllowedHosts(text: string | undefined): string[] {
  return (text ?? '')
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '');
}

/**
 * Mocked providers' answers are cached like real ones (one outbound call per (provider, value) holds
 * in dev, tests and benchmarks) but marked `mock`, and an answer is served only to the same kind of
 * provider: once a provider has a real credential it never gets a mock answer from the cache, nor the
 * mock a real one. The key stays the engine's, which the cross-process coalescer reads too.
 */
function mockAwareCache(cache: CachePort, mocked: ReadonlySet<string>): CachePort {
  // Keys are `enrichment:<provider>:<type>:<value>` (the engine's cacheKey).
  const isMock = (key: string) => mocked.has(key.split(':', 2)[1] ?? '');
  return {
    get: async (key) => {
      const value = await cache.get(key);
      return value === undefined || (value.mock === true) === isMock(key) ? value : undefined;
    },
    set: (key, value, ttl) => cache.set(key, isMock(key) ? { ...value, mock: true } : value, ttl),
  };
}

/** Results (and the verdict's explanation) of mocked providers say so: stored with the indicator. */
function markMock(outcome: EnrichIndicatorOutcome, mocked: ReadonlySet<string>): EnrichIndicatorOutcome {
  const flag = <T extends { mock?: boolean | undefined }>(value: T): T => ({ ...value, mock: true });
  const isMock = (provider: string | null | undefined) => provider != null && mocked.has(provider);
  return {
    ...outcome,
    results: outcome.results.map((r) =>
      isMock(r.provider_name) ? { ...flag(r), explanation: r.explanation === null ? null : flag(r.explanation) } : r,
    ),
    explanation:
      outcome.explanation !== null && isMock(outcome.explanation.provider)
        ? flag(outcome.explanation)
        : outcome.explanation,
  };
}

/**
 * A span per live provider call (the coalesced `fn` this process runs: governor, HTTP steps, cache
 * write), its HTTP spans inside; cache answers and calls coalesced onto another's make none.
 */
function tracedCoalesce(coalesce: CoalescePort): CoalescePort {
  return {
    run: (key, fn) => {
      // `enrichment:<provider>:<type>:<value>` (the engine's cacheKey); the value stays out of the span.
      const [, provider = '', type = ''] = key.split(':', 3);
      const attributes = { 'calseta.provider': provider, 'calseta.indicator.type': type };
      return coalesce.run(key, () =>
        withSpan('enrichment provider call', attributes, async (span) => {
          const result = await fn();
          const { status, failure_reason } = result as { status?: string; failure_reason?: string | null };
          span.setAttributes({
            'calseta.provider.status': status,
            'calseta.provider.failure_reason': failure_reason ?? undefined,
          });
          return result;
        }),
      );
    },
  };
}

/** The engine's SSRF-guarded HTTP port. */
export function safeHttpPort(fetch: SafeFetch): HttpPort {
  return async (request) => {
    const started = performance.now();
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
      signal: request.signal,
      timeoutMs: request.timeoutMs,
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name.toLowerCase()] = value;
    });
    return {
      status: response.status,
      headers,
      body: await response.text(),
      durationMs: Math.round(performance.now() - started),
    };
  };
}

/**
 * One process's enrichment machinery: the provider registry and the engine's ports on Postgres
 * (cache, cross-process coalescing, rate governor) and the SSRF-guarded HTTP client.
 */
export class EnrichmentRuntime {
  readonly registry: ProviderRegistry;
  readonly cache: PgEnrichmentCache;
  readonly coalescer: PgCoalescer;
  readonly rate: PgRateGovernor;
  readonly ports: EnginePorts;
  private readonly fetch: SafeFetch;

  constructor(
    private readonly options: {
      db: Db;
      notifications: Notifications;
      secrets: SecretBox | null;
      logger: Logger;
      config: EnrichmentConfig;
      /** Outbound policy for provider calls (allow-listed internal hosts, timeouts, sizes). */
      outbound: Partial<OutboundPolicy>;
      /** The builtin providers the composition root handed core (their auth defaults). */
      builtins: readonly BuiltinProvider[];
    },
  ) {
    const { db, notifications, secrets, logger, config, outbound, builtins } = options;
    this.cache = new PgEnrichmentCache(db);
    this.registry = new ProviderRegistry({
      db,
      secrets,
      env: config.providerEnv,
      builtins,
      logger,
      onInvalidate: () => this.cache.clearMemory(),
    });
    this.coalescer = new PgCoalescer({ db, notifications, cache: this.cache, logger });
    this.rate = new PgRateGovernor(db, this.registry.limits);
    this.fetch = createSafeFetch(outbound);
    // Counted for /metrics at the ports (the engine stays pure): see observed-ports.ts.
    this.ports = observedPorts({
      http: safeHttpPort(this.fetch),
      cache: this.cache,
      coalesce: tracedCoalesce(this.coalescer),
      rate: this.rate,
      clock: () => new Date(),
    });
  }

  /** Start following provider changes made by other processes. */
  async attach(): Promise<void> {
    await this.registry.attach(this.options.notifications);
    await this.rate.attach(this.options.notifications);
  }

  /** Enrich one indicator with every active provider (the engine's gate, cache, coalescing, governor). */
  async enrich(
    indicator: IndicatorRef,
    options: { bypassCache?: boolean; providers?: readonly LoadedProvider[]; slim?: boolean } = {},
  ): Promise<EnrichIndicatorOutcome> {
    const providers = options.providers ?? (await this.registry.active());
    const byName = new Map(providers.map((p) => [p.definition.provider_name, p]));
    const mocked = new Set(providers.filter((p) => p.auth.source === 'mock').map((p) => p.definition.provider_name));
    const { callTimeoutMs, internalDomainSuffixes } = this.options.config;
    const outcome = await enrichIndicator({
      indicator,
      providers: providers.map((p) => p.definition),
      ports: { ...this.ports, cache: countedCache(mockAwareCache(this.cache, mocked)) },
      auth: (definition) => byName.get(definition.provider_name)?.auth.auth ?? {},
      options: {
        ...(options.bypassCache === undefined ? {} : { bypassCache: options.bypassCache }),
        ...(options.slim === undefined ? {} : { slim: options.slim }),
        ...(callTimeoutMs === undefined ? {} : { callTimeoutMs }),
        ...(internalDomainSuffixes === undefined ? {} : { internalDomainSuffixes }),
      },
    });
    return mocked.size === 0 ? outcome : markMock(outcome, mocked);
  }

  /** A live debug run of one provider (no cache, no governor), for the provider test endpoint. */
  test(provider: LoadedProvider, indicator: IndicatorRef): Promise<ProviderRun> {
    const { callTimeoutMs } = this.options.config;
    return testProvider({
      provider: provider.definition,
      indicator,
      auth: provider.auth.auth,
      http: this.ports.http,
      clock: this.ports.clock,
      ...(callTimeoutMs === undefined ? {} : { callTimeoutMs }),
    });
  }

  quota(provider: string): Promise<ProviderQuota> {
    return this.rate.remaining(provider);
  }

  async close(): Promise<void> {
    await this.coalescer.released(); // claims of finished calls, before the database goes
    await this.fetch.close();
  }
}
