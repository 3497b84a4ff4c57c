import type { HostHttp, JsonValue, LogEntry, RunOutcome } from '@calseta/workflow-sandbox';

/** What an HTTP-endpoint workflow receives (POST, JSON). */
export interface EndpointRequestBody {
  workflow: { uuid: string; name: string };
  run_uuid: string | null;
  indicator: unknown;
  alert: unknown;
}

function text(body: string | Uint8Array): string {
  return typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
}

/**
 * An HTTP-endpoint workflow: the run's context is POSTed as JSON to the workflow's URL through the
 * same host HTTP as sandboxed code (SSRF-guarded, or the test endpoint's mocks). A 2xx answer is
 * success — unless it says `{ "success": false }`; its `{success, message, data}` (or any JSON) is
 * the result. Anything else fails the run; the deadline makes it `timed_out`.
 */
export async function runEndpointWorkflow(
  http: HostHttp,
  url: string,
  timeoutMs: number,
  body: EndpointRequestBody,
): Promise<RunOutcome> {
  const started = performance.now();
  const logs: LogEntry[] = [];
  const done = (outcome: Pick<RunOutcome, 'status' | 'result' | 'error'>): RunOutcome => ({
    ...outcome,
    logs,
    limit: outcome.status === 'timed_out' ? 'timeout' : null,
    durationMs: performance.now() - started,
    hostCalls: 1,
    httpCalls: 1,
    httpBytes: 0,
  });
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    const payload = JSON.stringify(body);
    const response = await http(
      { method: 'POST', url, headers: { 'content-type': 'application/json' }, body: payload },
      { signal: controller.signal, maxResponseBytes: 5 * 1_048_576 },
    );
    logs.push({ level: 'info', message: `POST ${url} → ${response.status}`, at: new Date().toISOString() });
    const raw = text(response.body);
    let json: JsonValue = raw;
    try {
      json = raw === '' ? null : (JSON.parse(raw) as JsonValue);
    } catch {
      // not JSON: kept as text
    }
    if (response.status < 200 || response.status > 299) {
      return done({ status: 'failed', result: null, error: `Endpoint answered HTTP ${response.status}` });
    }
    const stated = json !== null && typeof json === 'object' && !Array.isArray(json) ? json : null;
    const success = stated?.success !== false;
    const message = typeof stated?.message === 'string' ? stated.message : `HTTP ${response.status}`;
    const data = stated && 'data' in stated ? (stated.data ?? null) : json;
    return done({ status: success ? 'succeeded' : 'failed', result: { success, message, data }, error: null });
  } catch (error) {
    if (controller.signal.aborted) {
      return done({ status: 'timed_out', result: null, error: `Endpoint did not answer within ${timeoutMs} ms` });
    }
    return done({ status: 'failed', result: null, error: error instanceof Error ? error.message : String(error) });
  } finally {
    clearTimeout(timer);
  }
}
