import type { MockHttpResponse } from '@calseta/schema';
import type { HostHttp, HostHttpResponse } from '@calseta/workflow-sandbox';
import type { OutboundPolicy } from '../infra/http/policy.js';
import { createSafeFetch, type SafeFetch } from '../infra/http/safe-fetch.js';

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

/**
 * Whether `url` starts with what `pattern` describes, `*` standing for any run of characters (the
 * reference's prefix glob). No regular expression is built from the caller's pattern (40 `*` made a
 * backtracking one hang the process): the literal pieces between stars are found in order, each at
 * its leftmost place after the previous one — leftmost is always right for a prefix match, since it
 * leaves the most room for the rest — with a KMP search, which never moves backwards in `url`.
 * Linear: O(|url| + |pattern|) for any input.
 */
export function globPrefixMatches(pattern: string, url: string): boolean {
  const pieces = pattern.split('*');
  const first = pieces[0] ?? '';
  if (!url.startsWith(first)) return false;
  let at = first.length;
  for (let i = 1; i < pieces.length; i++) {
    const found = indexOfLinear(url, pieces[i] ?? '', at);
    if (found < 0) return false;
    at = found + (pieces[i] ?? '').length;
  }
  return true;
}

/** `text.indexOf(word, from)` by Knuth–Morris–Pratt: O(|text| − from + |word|), whatever the input. */
function indexOfLinear(text: string, word: string, from: number): number {
  const m = word.length;
  if (m === 0) return from;
  const fail = new Int32Array(m);
  for (let i = 1, k = 0; i < m; i++) {
    while (k > 0 && word.charCodeAt(i) !== word.charCodeAt(k)) k = fail[k - 1] ?? 0;
    if (word.charCodeAt(i) === word.charCodeAt(k)) k++;
    fail[i] = k;
  }
  for (let i = from, k = 0; i < text.length; i++) {
    while (k > 0 && text.charCodeAt(i) !== word.charCodeAt(k)) k = fail[k - 1] ?? 0;
    if (text.charCodeAt(i) === word.charCodeAt(k)) k++;
    if (k === m) return i - m + 1;
  }
  return -1;
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
        globPrefixMatches(m.url_pattern, request.url),
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
