import type { IncomingHttpHeaders } from 'node:http';
import type { Directory } from './users.js';

export type MockProviderName = 'virustotal' | 'abuseipdb' | 'okta' | 'entra';
export const PROVIDER_NAMES: readonly MockProviderName[] = ['virustotal', 'abuseipdb', 'okta', 'entra'];

export interface FaultOptions {
  /** Delay before answering: a fixed number of ms, or a deterministic sequence within [min, max]. */
  latencyMs?: number | { min: number; max: number };
  /** 0..1: that share of requests (evenly spread: rate 0.25 → every 4th) answers 500. */
  errorRate?: number;
  rateLimit?: {
    /** More than this many requests to one provider within 60 s → 429. */
    perMinute?: number;
    /** Every Nth request to a provider → 429. */
    every?: number;
    /** Retry-After value; default 1 for `every`, time until the window frees for `perMinute`. */
    retryAfterSeconds?: number;
  };
  /** 0..1: that share of 200 responses (evenly spread) has a truncated, unparseable JSON body. */
  malformedRate?: number;
}

export interface ApiKeys {
  virustotal?: string;
  abuseipdb?: string;
  okta?: string;
  entraClientSecret?: string;
}

export interface MockProvidersOptions extends FaultOptions {
  /** 0 (default) = a random free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Expected credentials; unset = any non-empty credential is accepted. */
  apiKeys?: ApiKeys;
  /** Fault options for one provider, overriding the top-level ones field by field. */
  providers?: Partial<Record<MockProviderName, FaultOptions>>;
}

export interface MockRequest {
  method: string;
  /** Path with the mock prefix (e.g. `/virustotal`) removed; still percent-encoded. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
  /** Origin plus prefix the request came in on, e.g. `http://127.0.0.1:8090/virustotal`. */
  base: string;
}

export interface MockResponse {
  status: number;
  /** An object (serialised as JSON) or an already serialised string. */
  body: unknown;
  headers?: Record<string, string>;
  /** JSON indentation (VirusTotal answers pretty-printed). */
  indent?: number;
}

export interface HandlerContext {
  apiKeys: ApiKeys;
  directory: Directory;
  /** Requests so far to this provider (including this one) since the last reset. */
  providerCount: number;
  /** Signs and verifies the mock's Graph access tokens. */
  tokens: TokenIssuer;
  /** Deterministic bodies are memoised: same key → same body. */
  memo<T>(key: string, make: () => T): T;
}

export interface TokenIssuer {
  issue(tenant: string, clientId: string, scope: string): { token: string; expiresIn: number };
  verify(token: string): 'ok' | 'expired' | 'invalid';
}

export interface RouteMatch {
  /** Templated endpoint, e.g. `GET /api/v3/ip_addresses/{ip}` (stats key). */
  endpoint: string;
  /** The looked-up value, when there is one (stats `byValue`). */
  value?: string;
  handle(req: MockRequest, ctx: HandlerContext): MockResponse;
}

export interface ProviderModule {
  name: MockProviderName;
  /** Path prefixes this provider is served under (besides the root). */
  prefixes: readonly string[];
  match(method: string, path: string, query: URLSearchParams): RouteMatch | null;
  /** Provider-shaped bodies for injected faults and unmatched paths. */
  rateLimited(match: RouteMatch | null, retryAfterSeconds: number, ctx: { providerCount: number }): MockResponse;
  serverError(match: RouteMatch | null): MockResponse;
  notFoundPath(path: string): MockResponse;
}

/** Credential check shared by the API-key providers. */
export function credentialOk(given: string | undefined, expected: string | undefined): boolean {
  if (!given || given.trim() === '') return false;
  return expected === undefined || expected === '' || given === expected;
}

export function header(req: MockRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
