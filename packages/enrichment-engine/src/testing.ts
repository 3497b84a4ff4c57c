import type { EnrichmentProviderResult } from '@calseta/schema';
import type {
  CachePort,
  CoalescePort,
  EnginePorts,
  HttpPort,
  HttpRequest,
  HttpResponse,
  RateDecision,
  RatePort,
} from './ports.js';

/**
 * In-memory implementations of the engine's ports, for unit tests (here and in core). Exported as
 * `@calseta/enrichment-engine/testing`. Single process, no persistence.
 */

/** A clock that only moves when told to. */
export interface ManualClock {
  now: () => Date;
  advance(ms: number): void;
  set(iso: string): void;
}

export function manualClock(start = '2026-03-01T12:00:00.000Z'): ManualClock {
  let ms = Date.parse(start);
  return {
    now: () => new Date(ms),
    advance: (delta) => {
      ms += delta;
    },
    set: (iso) => {
      ms = Date.parse(iso);
    },
  };
}

/** Cache with expiry by the injected clock; values are cloned in and out. */
export class MemoryCache implements CachePort {
  readonly store = new Map<string, { value: EnrichmentProviderResult; expiresAt: number }>();
  readonly sets: Array<{ key: string; ttlSeconds: number; status: EnrichmentProviderResult['status'] }> = [];
  gets = 0;
  hits = 0;

  constructor(private readonly clock: () => Date = () => new Date()) {}

  async get(key: string): Promise<EnrichmentProviderResult | undefined> {
    this.gets++;
    const entry = this.store.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.clock().getTime()) {
      this.store.delete(key);
      return undefined;
    }
    this.hits++;
    return structuredClone(entry.value);
  }

  async set(key: string, value: EnrichmentProviderResult, ttlSeconds: number): Promise<void> {
    this.sets.push({ key, ttlSeconds, status: value.status });
    this.store.set(key, { value: structuredClone(value), expiresAt: this.clock().getTime() + ttlSeconds * 1000 });
  }
}

/** Single-flight by key within this process. */
export class MemoryCoalescer implements CoalescePort {
  private readonly inflight = new Map<string, Promise<unknown>>();
  /** How many times a `fn` actually ran. */
  executions = 0;
  /** How many `run` calls joined an execution already in flight. */
  joined = 0;

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.inflight.get(key);
    if (existing !== undefined) {
      this.joined++;
      return existing as Promise<T>;
    }
    this.executions++;
    const promise = Promise.resolve()
      .then(fn)
      .finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    return promise;
  }
}

export interface RateLimit {
  /** Calls allowed per window. */
  limit: number;
  windowMs: number;
}

/** Fixed-window governor per provider, plus pauses (429 back-off). Providers without a limit are unlimited. */
export class MemoryRateGovernor implements RatePort {
  readonly pauses: Array<{ provider: string; ms: number }> = [];
  private readonly pausedUntil = new Map<string, number>();
  private readonly windows = new Map<string, { start: number; count: number }>();

  constructor(
    private readonly limits: Readonly<Record<string, RateLimit>> = {},
    private readonly clock: () => Date = () => new Date(),
  ) {}

  async acquire(provider: string): Promise<RateDecision> {
    const now = this.clock().getTime();
    const paused = this.pausedUntil.get(provider);
    if (paused !== undefined && paused > now) return { ok: false, retryAfterMs: paused - now };
    const limit = this.limits[provider];
    if (limit === undefined) return { ok: true };
    let window = this.windows.get(provider);
    if (window === undefined || now >= window.start + limit.windowMs) {
      window = { start: now, count: 0 };
      this.windows.set(provider, window);
    }
    if (window.count >= limit.limit) return { ok: false, retryAfterMs: window.start + limit.windowMs - now };
    window.count++;
    return { ok: true };
  }

  async pause(provider: string, ms: number): Promise<void> {
    this.pauses.push({ provider, ms });
    const until = this.clock().getTime() + ms;
    this.pausedUntil.set(provider, Math.max(this.pausedUntil.get(provider) ?? 0, until));
  }
}

export interface FakeResponse {
  status?: number;
  headers?: Record<string, string>;
  /** Text (parsed by the engine) or an already-parsed value. */
  body?: unknown;
  durationMs?: number;
}

export type FakeHandler = (request: HttpRequest) => FakeResponse | Promise<FakeResponse>;

export interface FakeHttp {
  port: HttpPort;
  /** Every request the engine sent, in order. */
  calls: HttpRequest[];
}

/** A scripted HttpPort: `handler` answers each request; requests are recorded. */
export function fakeHttp(handler: FakeHandler): FakeHttp {
  const calls: HttpRequest[] = [];
  const port: HttpPort = async (request) => {
    calls.push(request);
    const response = await handler(request);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers ?? {})) headers[name.toLowerCase()] = value;
    const result: HttpResponse = {
      status: response.status ?? 200,
      headers,
      body: response.body ?? '',
      durationMs: response.durationMs ?? 1,
    };
    return result;
  };
  return { port, calls };
}

/** A JSON response as a real server sends it: serialized text with a JSON content-type. */
export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): FakeResponse {
  return { status, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) };
}

/** A promise that rejects (with an AbortError) when `signal` aborts, and never settles otherwise. */
export function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    const abort = () => reject(new DOMException('The operation was aborted.', 'AbortError'));
    if (signal.aborted) abort();
    else signal.addEventListener('abort', abort, { once: true });
  });
}

/** Handler of a server that never answers (until the request is aborted). */
export const hangingHandler: FakeHandler = (request) => untilAborted(request.signal);

export interface MemoryPorts extends EnginePorts {
  cache: MemoryCache;
  coalesce: MemoryCoalescer;
  rate: MemoryRateGovernor;
}

/** All ports in memory around an HttpPort. */
export function memoryPorts(
  http: HttpPort,
  options: { clock?: () => Date; limits?: Readonly<Record<string, RateLimit>> } = {},
): MemoryPorts {
  const clock = options.clock ?? (() => new Date());
  return {
    http,
    clock,
    cache: new MemoryCache(clock),
    coalesce: new MemoryCoalescer(),
    rate: new MemoryRateGovernor(options.limits ?? {}, clock),
  };
}
