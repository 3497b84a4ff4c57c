/**
 * One trace per alert, seen by a real OTLP/HTTP receiver on loopback, from real API and worker
 * processes: the sources through tsx, and the esbuild bundles `pnpm start` runs (built here first),
 * where no require hook sees `pg` — the instrumentation is bound to the module instance instead.
 * The chain: ingest request (API; a caller's traceparent is only linked) → ingest verb → enrich job (worker, continuing the trace the job carried) →
 * provider calls with their HTTP spans → dispatch job → payload build → delivery attempt with its
 * HTTP span; Postgres spans from both processes.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { type ReceivedSpan, startOtlpReceiver } from '@calseta/core/testing';
import { createTestDatabase } from '@calseta/db/testing';
import { KNOWN_BAD, mockProviderEnv, startMockProviders } from '@calseta/mock-providers';
import { appArgs, ProcessGroup, REPO_ROOT } from '@calseta/process-harness';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appEnv, createAdminKey, registerAgent, startAgentEndpoint } from './chaos/lib.js';

const KINDS: Array<'tsx' | 'dist'> = ['tsx', 'dist'];

/** Bundled by the build `pnpm start` runs, beside its dist/main.js (other tests start that one). */
const bundle = (app: 'api' | 'worker') => `apps/${app}/dist/tracing-test/main.js`;

beforeAll(() => {
  for (const app of ['api', 'worker'] as const) {
    execFileSync(process.execPath, ['../../scripts/build-app.mjs', 'src/main.ts', 'dist/tracing-test/main.js'], {
      cwd: path.join(REPO_ROOT, 'apps', app),
      stdio: 'inherit',
    });
  }
}, 120_000);

describe.each(KINDS)('one trace per alert (%s)', (kind) => {
  const procs = new ProcessGroup();
  const cleanup: Array<() => Promise<unknown>> = [];

  afterAll(async () => {
    await procs.stopAll();
    for (const close of cleanup.reverse()) await close().catch(() => undefined);
  });

  it('follows one alert from the ingest request to the delivery attempt', async () => {
    const receiver = await startOtlpReceiver();
    cleanup.push(() => receiver.close());
    const database = await createTestDatabase();
    cleanup.push(() => database.drop());
    const mock = await startMockProviders();
    cleanup.push(() => mock.close());
    const agent = await startAgentEndpoint();
    cleanup.push(() => agent.close());

    const env = {
      ...appEnv(database.url, mockProviderEnv(mock), [agent.host]),
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BSP_SCHEDULE_DELAY: '100',
      OPS_PORT: 'off',
      LOG_LEVEL: 'info',
    };
    const start = (app: 'api' | 'worker', extra: Record<string, string>) =>
      procs.start({
        name: `${app}-${kind}`,
        args: ['--enable-source-maps', ...appArgs(app, kind === 'dist' ? { entry: bundle(app) } : kind)],
        env: { ...env, ...extra },
      });
    const apiProc = start('api', { API_HOST: '127.0.0.1', API_PORT: '0' });
    const workerProc = start('worker', { WORKER_CONCURRENCY: '4' });
    const baseUrl = await apiProc.listening(90_000);
    await workerProc.waitFor('the worker', (line) => line.includes('Calseta worker started'), 90_000);

    const key = await createAdminKey(database.url);
    await registerAgent(baseUrl, key, agent, 'tracer');
    const ip = KNOWN_BAD.ip[0] as string;
    // The caller's own trace context (here: not sampled) is linked, never adopted.
    const callerTrace = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await fetch(`${baseUrl}/v1/ingest/generic`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        traceparent: `00-${callerTrace}-00f067aa0ba902b7-00`,
      },
      body: JSON.stringify({
        title: `traced alert (${kind})`,
        severity: 'high',
        indicators: [{ type: 'ip', value: ip }],
      }),
    });
    expect(response.status).toBe(202);
    const alertUuid = ((await response.json()) as { data: { alert_uuid: string } }).data.alert_uuid;

    // Parents end after their children and exports come in batches: wait for every span of the chain.
    const chain = [
      'POST /v1/ingest/:source_name',
      'ingest alert',
      'job enrich-alert',
      'payload build',
      'agent delivery attempt',
    ];
    const spans = await receiver.waitFor(
      "every span of the alert's trace",
      (all) => {
        const ingest = all.find((s) => s.name === 'ingest alert');
        const trace = all.filter((s) => s.traceId === ingest?.traceId);
        const calls = trace.filter((s) => s.name === 'enrichment provider call').length;
        return calls === 2 && chain.every((name) => trace.some((s) => s.name === name)) ? trace : undefined;
      },
      90_000,
    );

    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const named = (name: string) => spans.filter((s) => s.name === name);
    const one = (name: string) => {
      const found = named(name);
      expect(found, name).toHaveLength(1);
      return found[0] as ReceivedSpan;
    };
    /** The names from `span` up to the root. */
    const ancestry = (span: ReceivedSpan) => {
      const names: string[] = [];
      for (let s: ReceivedSpan | undefined = span; s; s = byId.get(s.parentSpanId)) names.push(s.name);
      return names;
    };

    const request = one('POST /v1/ingest/:source_name');
    expect(request).toMatchObject({ service: 'calseta-api', parentSpanId: '', kind: 2 });
    expect(request.attributes).toMatchObject({
      'http.route': '/v1/ingest/:source_name',
      'http.response.status_code': 202,
    });
    expect(request.traceId).not.toBe(callerTrace);
    const ingest = one('ingest alert');
    expect(ingest).toMatchObject({ service: 'calseta-api', parentSpanId: request.spanId, kind: 1 });
    expect(ingest.attributes['calseta.source']).toBe('generic');
    const enrichJob = one('job enrich-alert');
    expect(enrichJob).toMatchObject({ service: 'calseta-worker', parentSpanId: ingest.spanId, kind: 5 });

    // Every builtin provider that takes IPs was called, each call with its HTTP span inside.
    const calls = named('enrichment provider call');
    expect(calls.map((c) => c.attributes['calseta.provider']).sort()).toEqual(['abuseipdb', 'virustotal']);
    for (const call of calls) {
      expect(ancestry(call).slice(1)).toEqual(['job enrich-alert', 'ingest alert', 'POST /v1/ingest/:source_name']);
      expect(call.attributes['calseta.provider.status']).toBe('success');
      const http = spans.filter((s) => s.parentSpanId === call.spanId && s.scope.includes('undici'));
      expect(http.length, `${call.attributes['calseta.provider']} HTTP spans`).toBeGreaterThan(0);
      // The server only: a path may hold an indicator value or a webhook's secret (tracing.ts).
      for (const h of http) expect(String(h.attributes['url.full'])).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    }

    // The first delivery attempt is made by the enrichment's own job, from what it holds in memory.
    const build = one('payload build');
    expect(build.parentSpanId).toBe(enrichJob.spanId);
    const attempt = one('agent delivery attempt');
    expect(attempt).toMatchObject({ parentSpanId: enrichJob.spanId, status: 0 });
    expect(attempt.attributes['calseta.delivery.ok']).toBe(true);
    const post = spans.find((s) => s.parentSpanId === attempt.spanId && s.scope.includes('undici'));
    expect(post?.attributes).toMatchObject({ 'http.request.method': 'POST', 'http.response.status_code': 200 });
    expect(agent.deliveries.map((d) => d.alertUuid)).toEqual([alertUuid]);

    // Postgres spans from the official instrumentation, in both processes, inside this trace.
    const pgSpans = spans.filter((s) => s.scope.includes('pg'));
    expect(new Set(pgSpans.map((s) => s.service))).toEqual(new Set(['calseta-api', 'calseta-worker']));
    expect(pgSpans.some((s) => s.parentSpanId === build.spanId)).toBe(true);

    // Nothing secret left the processes: provider keys, the agent's signing secret.
    const exported = receiver.bodies.join('\n');
    for (const secret of ['mock-virustotal-key', 'mock-abuseipdb-key', agent.secrets.get('tracer') as string]) {
      expect(exported).not.toContain(secret);
    }

    // Log lines written inside the trace carry its id: the ingest request's line names the request span.
    const requestLine = apiProc.entries().find((e) => e.msg === 'request' && e.path === '/v1/ingest/generic');
    expect(requestLine).toMatchObject({ trace_id: request.traceId, span_id: request.spanId, status: 202 });
    expect(workerProc.entries().find((e) => e.msg === 'Calseta worker started')).not.toHaveProperty('trace_id');
  }, 240_000);
});
