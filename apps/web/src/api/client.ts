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

const STORAGE_KEY = 'calseta_api_key';
let listener: ((reason: string) => void) | null = null;

export function getApiKey(): string | null {
  return localStorage.getItem(STORAGE_KEY);
}
export function setApiKey(key: string): void {
  localStorage.setItem(STORAGE_KEY, key);
}
export function clearApiKey(): void {
  localStorage.removeItem(STORAGE_KEY);
}
/** The auth provider listens: a 401 anywhere signs the user out with the reason. */
export function onUnauthorized(fn: ((reason: string) => void) | null): void {
  listener = fn;
}

export interface RequestOptions {
  method?: string;
  json?: unknown;
  body?: FormData;
  signal?: AbortSignal;
  /** Use this key instead of the stored one (sign-in checks a key before storing it). */
  key?: string;
}

/** Call the API (same origin: the dev server proxies, `pnpm start` serves both). */
export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const key = options.key ?? getApiKey();
  if (key) headers.authorization = `Bearer ${key}`;
  let body: BodyInit | undefined;
  if (options.json !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.body) {
    body = options.body;
  }
  const response = await fetch(path, {
    method: options.method ?? 'GET',
    headers,
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
    // A key that stops working (revoked, expired) ends the session; a sign-in attempt reports it itself.
    if (response.status === 401 && !options.key) listener?.(error.message);
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
