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

/** Single-flight: concurrent `run`s with the same key share one execution of `fn`. */
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
