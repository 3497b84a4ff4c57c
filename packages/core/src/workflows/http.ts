import type { MockHttpResponse } from '@calseta/schema';
import type { HostHttp, HostHttpResponse } from '@calseta/workflow-sandbox';
import type { OutboundPolicy } from '../http/policy.js';
import { createSafeFetch, type SafeFetch } from '../http/safe-fetch.js';

/** Longest single request of a workflow (a run's deadline aborts it earlier). */
const MAX_WORKFLOW_REQUEST_MS = 900_000;

/**
 * The one SSRF-guarded client of workflow code per process: the outbound policy (`allowHosts` from
 * `SSRF_ALLOWED_HOSTS`), redirects re-checked by the client, response bodies capped at 5 MiB (the
 * sandbox also caps the bytes of a run).
 */
export function createWorkflowFetch(outbound: Partial<OutboundPolicy>): SafeFetch {
  return createSafeFetch({
    ...outbound,
    timeoutMs: MAX_WORKFLOW_REQUEST_MS,
    maxRedirects: 3,
    maxResponseBytes: 5 * 1_048_576,
  });
}

/** The sandbox's HostHttp over the guarded client: refusals and failures reject with their message. */
export function hostHttpOf(fetch: SafeFetch): HostHttp {
  return async (request, { signal }) => {
    const response = await fetch(request.url, {
      method: request.method,
      headers: request.headers,
      ...(request.body === null ? {} : { body: request.body }),
      signal,
    });
    const headers: Record<string, string> = {};
    response.headers.forEach((value, name) => {
      headers[name] = value;
    });
    return { status: response.status, headers, body: response.bytes };
  };
}

function patternMatches(pattern: string, url: string): boolean {
  if (!pattern.includes('*')) return url === pattern || url.startsWith(pattern);
  const re = new RegExp(
    `^${pattern
      .split('*')
      .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}`,
  );
  return re.test(url);
}

export interface RecordedCall {
  method: string;
  url: string;
  status: number | null;
}

/** A HostHttp answering from the caller's list (first match wins); unmatched → rejected. */
export function mockHostHttp(mocks: readonly MockHttpResponse[], calls: RecordedCall[]): HostHttp {
  return async (request): Promise<HostHttpResponse> => {
    const mock = mocks.find(
      (m) =>
        (m.method === undefined || m.method.toUpperCase() === request.method) &&
        patternMatches(m.url_pattern, request.url),
    );
    if (!mock) {
      calls.push({ method: request.method, url: request.url, status: null });
      throw new Error(`No mock_http entry matches ${request.method} ${request.url}`);
    }
    calls.push({ method: request.method, url: request.url, status: mock.status });
    const isJson = mock.body === undefined;
    return {
      status: mock.status,
      headers: { 'content-type': isJson ? 'application/json' : 'text/plain', ...mock.headers },
      body: isJson ? JSON.stringify(mock.json ?? {}) : (mock.body ?? ''),
    };
  };
}
