import type { ErrorEnvelope, PageMeta } from '@calseta/schema';

/** `{ data, meta }` — every single-object response. */
export interface One<T> {
  data: T;
  meta: Record<string, unknown>;
}
/** `{ data: [...], meta: {total, page, …} }` — every paginated list. */
export interface Page<T> {
  data: T[];
  meta: PageMeta;
}
/** `{ data: [...], meta: {} }` — the unpaginated lists. */
export interface List<T> {
  data: T[];
  meta: Record<string, unknown>;
}

/** An API error envelope, with the HTTP status. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** Where a console before sessions kept the API key: deleted on load, never written again. */
const LEGACY_KEY = 'calseta_api_key';
let listener: ((reason: string) => void) | null = null;
let tokenListener: (() => void) | null = null;
let csrfToken: string | null = null;

/** Forget a key an older console stored in the browser (the session cookie replaced it). */
export function dropLegacyKey(): void {
  for (const storage of [globalThis.localStorage, globalThis.sessionStorage]) storage?.removeItem(LEGACY_KEY);
}
/** The session's CSRF token (from `GET /v1/auth/session`), sent with every write; null when signed out. */
export function setCsrfToken(token: string | null): void {
  csrfToken = token;
}
/** The auth provider listens: a 401 anywhere signs the user out with the reason. */
export function onUnauthorized(fn: ((reason: string) => void) | null): void {
  listener = fn;
}
/**
 * The auth provider listens: a write refused for its CSRF token means the browser's session changed
 * under this page (signed in again in another tab), so it reloads the session and its token.
 */
export function onStaleToken(fn: (() => void) | null): void {
  tokenListener = fn;
}

/** Leave the console for another site (the identity provider's logout page). */
export function leavePage(url: string): void {
  window.location.assign(url);
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  body?: FormData;
  signal?: AbortSignal;
  /** A 401 is this call's own answer (the session probe, a sign-in attempt), not a lost session. */
  expect401?: boolean;
}

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/** Call the API (same origin: the dev server proxies, `pnpm start` serves both). */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const method = options.method ?? 'GET';
  const headers: Record<string, string> = { accept: 'application/json' };
  // The session cookie authenticates; a write also proves it comes from this page (the server checks both).
  if (!SAFE_METHODS.has(method) && csrfToken) headers['x-csrf-token'] = csrfToken;
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.body) {
    body = options.body;
  }
  const response = await fetch(path, {
    method,
    headers,
    credentials: 'same-origin',
    body,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  let parsed: unknown = null;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(response.status, 'INVALID_RESPONSE', `Unexpected response (${response.status}).`);
  }
  if (!response.ok) {
    const envelope = parsed as Partial<ErrorEnvelope> | null;
    const error = new ApiError(
      response.status,
      envelope?.error?.code ?? 'HTTP_ERROR',
      envelope?.error?.message ?? `Request failed (${response.status}).`,
      envelope?.error?.details as Record<string, unknown> | undefined,
    );
    // A session that ends (expired, revoked) signs out; the probe and a sign-in attempt report it themselves.
    if (response.status === 401 && !options.expect401) listener?.(error.message);
    if (error.code === 'CSRF_REJECTED') tokenListener?.();
    throw error;
  }
  return parsed as T;
}

/** `?a=1&b=x` from the defined, non-empty values. */
export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    search.set(k, String(v));
  }
  const s = search.toString();
  return s ? `?${s}` : '';
}
