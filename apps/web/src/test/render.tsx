import type { SessionInfo as Session } from '@calseta/schema';
import { render } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { vi } from 'vitest';
import { App, createQueryClient } from '../app.js';

export interface Call {
  method: string;
  path: string;
  body: unknown;
  headers: Record<string, string>;
  credentials: RequestCredentials | undefined;
}
type Handler = unknown | ((call: Call) => unknown);

/** A session as `GET /v1/auth/session` answers (default: an admin signed in with the identity provider). */
export function session(over: Partial<Session> = {}): Session {
  return {
    kind: 'oidc',
    user: {
      uuid: '00000000-0000-7000-8000-0000000000a1',
      email: 'ada@example.com',
      name: 'Ada Admin',
      roles: ['admin'],
    },
    scopes: ['admin'],
    csrf_token: 'csrf-token-of-the-session',
    expires_at: '2026-11-27T10:00:00.000Z',
    idle_expires_at: '2026-11-20T18:00:00.000Z',
    ...over,
  };
}
const signedOut = {
  status: 401,
  body: { error: { code: 'UNAUTHORIZED', message: 'Sign in first.' }, request_id: 'r' },
};

/**
 * Render the whole app at `path` with `fetch` answered from `routes` (`"GET /v1/alerts"` → body,
 * matched on the path without its query; a function may return `{status, body}`). Returns the calls.
 * The session probe answers `as` (default an admin's session), or 401 when `signedIn` is false; `routes`
 * may answer the auth endpoints themselves.
 */
export function renderApp(
  path: string,
  routes: Record<string, Handler>,
  { signedIn = true, as = session() }: { signedIn?: boolean; as?: Session } = {},
) {
  const calls = stubFetch({
    'GET /v1/auth/session': signedIn ? one(as) : signedOut,
    'GET /v1/auth/config': one({ oidc: { enabled: false, display_name: null }, api_key_sign_in: true }),
    ...routes,
  });
  const client = createTestQueryClient();
  const view = render(
    <MemoryRouter initialEntries={[path]}>
      <App client={client} />
    </MemoryRouter>,
  );
  return { ...view, calls, client };
}

/** The app's query client without retries, so an error shows at once. */
export function createTestQueryClient() {
  const client = createQueryClient();
  client.setDefaultOptions({ queries: { ...client.getDefaultOptions().queries, retry: false } });
  return client;
}

/** Answer `fetch` from `routes` (see `renderApp`); returns the calls made, in order. */
export function stubFetch(routes: Record<string, Handler>): Call[] {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input), 'http://localhost');
    const method = init?.method ?? 'GET';
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : (init?.body ?? null);
    const headers = Object.fromEntries(new Headers(init?.headers).entries());
    const call = { method, path: url.pathname + url.search, body, headers, credentials: init?.credentials };
    calls.push(call);
    const handler = routes[`${method} ${url.pathname}`];
    let status = 200;
    let payload: unknown = handler;
    // A function may answer later (a promise): the page stays in its loading state until then.
    const out = typeof handler === 'function' ? await handler(call) : handler;
    if (isResponseSpec(out)) {
      status = out.status;
      payload = out.body;
    } else if (typeof handler === 'function') {
      payload = out;
    } else if (handler === undefined) {
      status = 404;
      payload = { error: { code: 'NOT_FOUND', message: `no fake for ${method} ${url.pathname}` }, request_id: 'x' };
    }
    return new Response(payload === undefined ? null : JSON.stringify(payload), {
      status,
      headers: { 'content-type': 'application/json' },
    });
  });
  vi.stubGlobal('fetch', fetchMock);
  return calls;
}

/** `{status, body}` (and nothing else) answers with that status; anything else is a 200 body. */
function isResponseSpec(value: unknown): value is { status: number; body?: unknown } {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { status?: unknown }).status === 'number' &&
    Object.keys(value).every((k) => k === 'status' || k === 'body')
  );
}

export const page = <T,>(data: T[], extra: Partial<{ total: number; page: number; page_size: number }> = {}) => ({
  data,
  meta: {
    total: extra.total ?? data.length,
    page: extra.page ?? 1,
    page_size: extra.page_size ?? 50,
    total_pages: Math.max(1, Math.ceil((extra.total ?? data.length) / (extra.page_size ?? 50))),
  },
});
export const one = <T,>(data: T) => ({ data, meta: {} });
/** The API's 403 for a session without any of `scopes`. */
export const forbidden = (...scopes: string[]) => ({
  status: 403,
  body: {
    error: { code: 'FORBIDDEN', message: 'Insufficient scope.', details: { required_scopes: scopes } },
    request_id: 'r',
  },
});
