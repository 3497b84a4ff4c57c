import type { EnrichmentProviderResult, HttpMethod, IndicatorType } from '@calseta/schema';

/**
 * Everything the engine needs from the outside world. The engine has no network, database, queue
 * or timers of its own beyond per-call timeouts: core wires real implementations, tests use the
 * in-memory ones from `@calseta/enrichment-engine/testing`.
 */

export interface HttpRequest {
  method: HttpMethod;
  url: string;
  /** Header names as written in the provider config. */
  headers: Record<string, string>;
  /** Already serialized (JSON text or form-urlencoded); the matching content-type header is set. */
  body?: string;
  /** The step's timeout; the engine also aborts `signal` when it expires. */
  timeoutMs: number;
  signal: AbortSignal;
}

export interface HttpResponse {
  status: number;
  /** Header names lower-cased. */
  headers: Record<string, string>;
  /**
   * The body: preferably the response text (the engine parses JSON and reports malformed JSON), or an
   * already-parsed JSON value. A string is parsed when the content-type says JSON or the text starts
   * with `{`/`[`; other text becomes `{ _raw_text: <first 2000 chars> }`.
   */
  body: unknown;
  durationMs: number;
}

/**
 * Sends one request. Rejecting (network error, SSRF refusal, abort) is a transport error of the step.
 * Implementations should honour `signal`; the engine stops waiting when it aborts either way.
 */
export type HttpPort = (request: HttpRequest) => Promise<HttpResponse>;

/** A cached provider result (only `success` and `not_found` are ever stored). */
export interface CachePort {
  get(key: string): Promise<EnrichmentProviderResult | undefined>;
  set(key: string, value: EnrichmentProviderResult, ttlSeconds: number): Promise<void>;
}

/**
 * Single-flight: concurrent `run`s with the same key share one execution of `fn`. The engine's `fn`
 * begins storing a cacheable answer (`CachePort.set`) before it returns, without waiting for the
 * write: a coalescer whose other callers read that answer from the cache lets them go only once the
 * write has ended.
 */
export interface CoalescePort {
  run<T>(key: string, fn: () => Promise<T>): Promise<T>;
}

export type RateDecision = { ok: true } | { ok: false; retryAfterMs: number };

/** Per-provider outbound rate governor. */
export interface RatePort {
  /** May this process call `provider` now? Denied → the result is `skipped` / `rate_limited`. */
  acquire(provider: string): Promise<RateDecision>;
  /** The provider said 429: stop calling it for `ms`. */
  pause(provider: string, ms: number): Promise<void>;
}

export interface EnginePorts {
  http: HttpPort;
  cache: CachePort;
  coalesce: CoalescePort;
  rate: RatePort;
  clock: () => Date;
}

export interface IndicatorRef {
  type: IndicatorType;
  value: string;
}

/**
 * What a port adapter says about its own failure: `unavailable` — its backing store (a database) is
 * away, so the call can be retried later and no provider is to blame; `shared_call_lost` — a
 * coalescer's shared call (in another process) ended without an answer, even after one retry.
 */
export type PortErrorCode = 'unavailable' | 'shared_call_lost';

/**
 * The error a port adapter throws to tag its failure with a code; the engine maps the code to the
 * result's `failure_reason` (`port_unavailable`, `shared_call_lost`). Anything else a port throws
 * is an `internal` failure of the provider's result.
 */
export class PortError extends Error {
  constructor(
    readonly code: PortErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = 'PortError';
  }
}
