import { render } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { vi } from 'vitest';
import { App, createQueryClient } from '../app.js';

export interface Call {
  method: string;
  path: string;
  body: unknown;
}
type Handler = unknown | ((call: Call) => unknown);

/**
 * Render the whole app at `path` with `fetch` answered from `routes` (`"GET /v1/alerts"` → body,
 * matched on the path without its query; a function may return `{status, body}`). Returns the calls.
 */
export function renderApp(path: string, routes: Record<string, Handler>, { signedIn = true } = {}) {
  if (signedIn) localStorage.setItem('calseta_api_key', 'cai_testtesttesttesttesttesttesttest');
  const calls = stubFetch(routes);
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
    const call = { method, path: url.pathname + url.search, body };
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
