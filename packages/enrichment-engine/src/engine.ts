import {
  type EnrichmentProviderResult,
  type FailureReason,
  type IndicatorType,
  type MaliceLevel,
  type ProviderDefinition,
  type ProviderDefinitionInput,
  ProviderDefinitionSchema,
  type ProviderStepDebug,
  type SkipReason,
  type VerdictExplanation,
} from '@calseta/schema';
import { aggregateVerdict, isDeferred } from './aggregate.js';
import { requiredAuthKeys } from './check.js';
import { checkEnrichable } from './enrichable.js';
import { extractFields } from './extract.js';
import { evaluateMalice, notFoundVerdict } from './malice.js';
import { type EnginePorts, type HttpPort, type IndicatorRef, PortError } from './ports.js';
import { redactCredentials } from './redact.js';
import { type RateLimitHint, type RunStepsInput, runSteps } from './steps.js';

/** Whole-provider-call budget when neither the provider nor the caller sets one. */
export const DEFAULT_CALL_TIMEOUT_MS = 60_000;

/** Positive cache TTL by indicator type when the provider sets none (reference §4.13). */
export const DEFAULT_TTL_BY_TYPE: Readonly<Record<IndicatorType, number>> = {
  ip: 3600,
  domain: 21_600,
  hash_md5: 86_400,
  hash_sha1: 86_400,
  hash_sha256: 86_400,
  url: 1800,
  email: 3600,
  account: 900,
};

/** Upper bound of the default negative (`not_found`) TTL. */
export const DEFAULT_NEGATIVE_TTL_CAP_SECONDS = 600;

/** Resolved credentials of a provider (`auth.<key>` in templates). */
export type AuthResolver = (
  provider: ProviderDefinition,
) => Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>;

/** Parse (and default) a provider definition. Throws a ZodError on an invalid one: a config error, not provider behaviour. */
export function defineProvider(input: ProviderDefinitionInput): ProviderDefinition {
  return ProviderDefinitionSchema.parse(input);
}

export function cacheKey(provider: string, type: string, value: string): string {
  return `enrichment:${provider}:${type}:${value}`;
}

/**
 * Cache TTL of a result. Positive: `cache_ttl_by_type[type]` → `default_cache_ttl_seconds` → the
 * built-in per-type default (the reference never reached the provider default). Negative
 * (`not_found`): `negative_cache_ttl_seconds` → min(positive, 600). Failed and skipped: 0 (never cached).
 */
export function cacheTtlSeconds(
  provider: ProviderDefinition,
  type: IndicatorType,
  status: EnrichmentProviderResult['status'],
): number {
  if (status !== 'success' && status !== 'not_found') return 0;
  const positive = provider.cache_ttl_by_type[type] ?? provider.default_cache_ttl_seconds ?? DEFAULT_TTL_BY_TYPE[type];
  if (status === 'success') return positive;
  return provider.negative_cache_ttl_seconds ?? Math.min(positive, DEFAULT_NEGATIVE_TTL_CAP_SECONDS);
}

function blank(provider: ProviderDefinition, status: EnrichmentProviderResult['status']): EnrichmentProviderResult {
  return {
    provider_name: provider.provider_name,
    status,
    extracted: null,
    verdict: null,
    explanation: null,
    raw: null,
    fetched_at: null,
    error_message: null,
    duration_ms: 0,
    cache_hit: false,
    skip_reason: null,
    failure_reason: null,
    rate_limited: false,
    retry_after_ms: null,
  };
}

function skipped(
  provider: ProviderDefinition,
  reason: SkipReason,
  message: string,
  retryAfterMs: number | null = null,
): EnrichmentProviderResult {
  return {
    ...blank(provider, 'skipped'),
    skip_reason: reason,
    error_message: message,
    rate_limited: reason === 'rate_limited',
    retry_after_ms: retryAfterMs,
  };
}

function failed(provider: ProviderDefinition, reason: FailureReason, message: string): EnrichmentProviderResult {
  return { ...blank(provider, 'failed'), failure_reason: reason, error_message: message };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

const PORT_FAILURES = { unavailable: 'port_unavailable', shared_call_lost: 'shared_call_lost' } as const;

/** Something thrown where nothing should be: a port's tagged failure, else an engine/port bug. */
function unexpected(provider: ProviderDefinition, error: unknown): EnrichmentProviderResult {
  const reason = error instanceof PortError ? PORT_FAILURES[error.code] : 'internal';
  return failed(provider, reason, `unexpected error: ${errorMessage(error)}`);
}

const elapsed = (started: number) => Math.round(performance.now() - started);

/** A provider run takes what its steps take, with the whole provider instead of its http_config. */
export interface RunProviderInput extends Omit<RunStepsInput, 'config'> {
  provider: ProviderDefinition;
}

export interface ProviderRun {
  result: EnrichmentProviderResult;
  /** Per-step debug records (empty unless `debug`). */
  steps: ProviderStepDebug[];
  /** A step answered 429: pause the provider for this long. */
  rateLimit: RateLimitHint | null;
}

/**
 * Run one provider live: type support and credentials, HTTP steps, field extraction, malice rules.
 * No cache, coalescing or rate governor (see `enrichIndicator`). Never throws.
 */
export async function runProvider(input: RunProviderInput): Promise<ProviderRun> {
  const { provider, indicator, auth } = input;
  const started = performance.now();
  const done = (
    result: EnrichmentProviderResult,
    steps: ProviderStepDebug[] = [],
    rateLimit: RateLimitHint | null = null,
  ) => ({
    result: { ...result, duration_ms: elapsed(started) },
    steps,
    rateLimit,
  });
  try {
    if (!provider.supported_indicator_types.includes(indicator.type)) {
      return done(
        skipped(provider, 'unsupported_type', `${provider.display_name} does not support '${indicator.type}'`),
      );
    }
    const missing = requiredAuthKeys(provider.http_config, indicator.type).filter((key) => !Object.hasOwn(auth, key));
    if (missing.length > 0) {
      const list = missing.map((key) => `auth.${key}`).join(', ');
      return done(skipped(provider, 'not_configured', `${provider.display_name} is not configured (missing ${list})`));
    }

    const outcome = await runSteps({
      config: provider.http_config,
      indicator,
      auth,
      http: input.http,
      clock: input.clock,
      ...(input.signal === undefined ? {} : { signal: input.signal }),
      debug: input.debug ?? false,
    });
    const fetchedAt = input.clock().toISOString();
    const context = { provider: provider.provider_name, fetchedAt };

    if (outcome.status === 'failed') {
      const result = failed(provider, outcome.reason, outcome.error);
      if (outcome.rateLimit !== null) {
        result.rate_limited = true;
        result.retry_after_ms = outcome.rateLimit.retryAfterMs;
      }
      return done(result, outcome.steps, outcome.rateLimit);
    }
    if (outcome.status === 'not_found') {
      const { verdict, explanation } = notFoundVerdict(provider.malice_rules, context);
      const result: EnrichmentProviderResult = {
        ...blank(provider, 'not_found'),
        extracted: { found: false },
        verdict,
        explanation,
        raw: outcome.raw,
        fetched_at: fetchedAt,
      };
      return done(result, outcome.steps, outcome.rateLimit);
    }
    const { verdict, explanation } = evaluateMalice(provider.malice_rules, outcome.raw, context);
    const result: EnrichmentProviderResult = {
      ...blank(provider, 'success'),
      extracted: extractFields(outcome.raw, provider.field_extractions, indicator.type),
      verdict,
      explanation,
      raw: outcome.raw,
      fetched_at: fetchedAt,
    };
    return done(result, outcome.steps, outcome.rateLimit);
  } catch (error) {
    return done(unexpected(provider, error));
  }
}

/**
 * Run `work` with an AbortSignal that fires after `ms`; on expiry resolve with `onTimeout()` at once
 * (not waiting for `work` to notice the abort).
 */
async function withCallTimeout<T>(
  ms: number,
  work: (signal: AbortSignal) => Promise<T>,
  onTimeout: () => T,
): Promise<T> {
  const controller = new AbortController();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<T>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error('provider call timed out'));
      resolve(onTimeout());
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
  }
}

export interface TestProviderInput {
  provider: ProviderDefinition;
  indicator: IndicatorRef;
  auth: Readonly<Record<string, string>>;
  http: HttpPort;
  clock: () => Date;
  callTimeoutMs?: number;
}

/** The provider test endpoint: a live run with masked step debug, no cache, no rate governor. */
export async function testProvider(input: TestProviderInput): Promise<ProviderRun> {
  const { provider } = input;
  const ms = provider.timeout_ms ?? input.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  return withCallTimeout(
    ms,
    (signal) => runProvider({ ...input, signal, debug: true }),
    () => ({ result: failed(provider, 'timeout', `timed out after ${ms} ms`), steps: [], rateLimit: null }),
  );
}

export interface EnrichOptions {
  /** Per-provider-call budget unless the provider sets `timeout_ms`. Default 60 s. */
  callTimeoutMs?: number;
  /** Skip the cache lookup (the fresh result is still cached). */
  bypassCache?: boolean;
  /** More internal DNS suffixes for the enrichability gate. */
  internalDomainSuffixes?: readonly string[];
  /**
   * Results without their raw responses (`raw: null`; the cache still stores them), for callers
   * that keep results slim: a raw response then lives no longer than its call, instead of until
   * every provider of the indicator has answered (tens of KB each, old garbage by then).
   */
  slim?: boolean;
}

export interface EnrichIndicatorInput {
  indicator: IndicatorRef;
  providers: readonly ProviderDefinition[];
  ports: EnginePorts;
  auth: AuthResolver;
  options?: EnrichOptions;
}

export interface EnrichIndicatorOutcome {
  indicator: IndicatorRef;
  enrichable: boolean;
  /** Why the gate refused the indicator (null when enrichable). */
  reason: string | null;
  /** One result per provider, in the order given. */
  results: EnrichmentProviderResult[];
  /** Worst verdict of the results (no analyst override: the caller applies it with `aggregateVerdict`). */
  verdict: MaliceLevel;
  explanation: VerdictExplanation | null;
}

async function enrichWithProvider(
  provider: ProviderDefinition,
  indicator: IndicatorRef,
  ports: EnginePorts,
  authResolver: AuthResolver,
  options: EnrichOptions,
): Promise<EnrichmentProviderResult> {
  const started = performance.now();
  if (!provider.supported_indicator_types.includes(indicator.type)) {
    return skipped(provider, 'unsupported_type', `${provider.display_name} does not support '${indicator.type}'`);
  }
  let auth: Readonly<Record<string, string>>;
  try {
    auth = await authResolver(provider);
  } catch (error) {
    return failed(provider, 'credentials', `could not resolve credentials: ${errorMessage(error)}`);
  }

  const key = cacheKey(provider.provider_name, indicator.type, indicator.value);
  if (options.bypassCache !== true) {
    const cached = await ports.cache.get(key).catch(() => undefined);
    // Redacted again: an entry written by an older version may still hold credential material.
    if (cached !== undefined) {
      return {
        ...cached,
        raw: redactCredentials(cached.raw),
        extracted: redactCredentials(cached.extracted) as EnrichmentProviderResult['extracted'],
        failure_reason: null, // only answers are cached; entries from before the field lack it
        cache_hit: true,
        duration_ms: elapsed(started),
      };
    }
  }

  const ms = provider.timeout_ms ?? options.callTimeoutMs ?? DEFAULT_CALL_TIMEOUT_MS;
  const live = (signal: AbortSignal) =>
    ports.coalesce.run(key, async (): Promise<EnrichmentProviderResult> => {
      const decision = await ports.rate.acquire(provider.provider_name).catch(() => ({ ok: true }) as const);
      if (!decision.ok) {
        return skipped(
          provider,
          'rate_limited',
          `${provider.display_name} is rate limited; retry in ${decision.retryAfterMs} ms`,
          decision.retryAfterMs,
        );
      }
      const run = await runProvider({ provider, indicator, auth, http: ports.http, clock: ports.clock, signal });
      if (run.rateLimit !== null) {
        await ports.rate.pause(provider.provider_name, run.rateLimit.retryAfterMs).catch(() => {});
      }
      const ttl = cacheTtlSeconds(provider, indicator.type, run.result.status);
      // Stored without waiting: the answer is the caller's now. The write has begun when `fn`
      // returns; a coalescer across processes announces the call's end only once it has committed.
      if (ttl > 0) void ports.cache.set(key, run.result, ttl).catch(() => {});
      return run.result;
    });

  const result = await withCallTimeout(
    ms,
    (signal) => live(signal).catch((error: unknown) => unexpected(provider, error)),
    () => failed(provider, 'timeout', `timed out after ${ms} ms`),
  );
  // Coalesced callers share one object: hand each its own copy (a waiter elsewhere reads the
  // cached answer, which may predate `failure_reason`).
  return {
    ...result,
    ...(options.slim ? { raw: null } : {}),
    failure_reason: result.failure_reason ?? null,
    duration_ms: elapsed(started),
  };
}

/**
 * Enrich one indicator with every given provider, in parallel and isolated from each other: the
 * enrichability gate, then per provider type support, credentials, cache, coalescing, rate governor,
 * the HTTP steps and a per-call timeout. Never throws for provider behaviour; every provider yields
 * exactly one truthful result.
 */
export async function enrichIndicator(input: EnrichIndicatorInput): Promise<EnrichIndicatorOutcome> {
  const { indicator, providers, ports, auth } = input;
  const options = input.options ?? {};
  const gate = checkEnrichable(
    indicator.type,
    indicator.value,
    options.internalDomainSuffixes === undefined ? {} : { internalDomainSuffixes: options.internalDomainSuffixes },
  );
  let results: EnrichmentProviderResult[];
  if (!gate.enrichable) {
    const reason = gate.reason ?? 'not enrichable';
    results = providers.map((provider) =>
      provider.supported_indicator_types.includes(indicator.type)
        ? skipped(provider, 'not_enrichable', `Enrichment skipped: ${reason}`)
        : skipped(provider, 'unsupported_type', `${provider.display_name} does not support '${indicator.type}'`),
    );
  } else {
    results = await Promise.all(
      providers.map((provider) =>
        enrichWithProvider(provider, indicator, ports, auth, options).catch((error: unknown) =>
          unexpected(provider, error),
        ),
      ),
    );
  }
  const { verdict, explanation } = aggregateVerdict(results, null, { settled: !results.some(isDeferred) });
  return {
    indicator,
    enrichable: gate.enrichable,
    reason: gate.enrichable ? null : (gate.reason ?? 'not enrichable'),
    results,
    verdict,
    explanation,
  };
}
