import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { collectProcessMetrics, type JobOutcome, type OpsServer, startOpsServer } from '@calseta/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from './fixtures.js';
import { createHarness, type Harness } from './harness.js';

/** One series of a scrape: its name, labels (without `service`) and value. */
interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text exposition format, read independently of prom-client. */
function parseExposition(text: string): Series[] {
  const series: Series[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key as string] = (raw as string).replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    series.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return series;
}

/** Sum of the series named `name` whose labels include `where`. */
function total(scrape: Series[], name: string, where: Record<string, string> = {}): number {
  return scrape
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** A real agent endpoint: counts requests per path; `flaky` answers 500 to its first request, then 200. */
async function startAgentEndpoint() {
  const seen = new Map<string, number>();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const path = req.url ?? '/';
      const n = (seen.get(path) ?? 0) + 1;
      seen.set(path, n);
      res.writeHead(path === '/flaky' && n === 1 ? 500 : 200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: (path: string) => `http://${host}/${path}`,
    count: (path: string) => seen.get(`/${path}`) ?? 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A Sentinel incident (fixture 01) about `ip`, titled with `marker` so every alert is new. */
function incident(ip: string, marker: string): Record<string, unknown> {
  const base = fixture('01_sentinel_brute_force_tor.json') as {
    properties: Record<string, unknown>;
    Entities: Array<Record<string, unknown>>;
  };
  return {
    ...base,
    properties: { ...base.properties, title: `Brute force from ${ip} ${marker}`, description: `From ${ip}.` },
    Entities: base.Entities.map((e) => (e.Type === 'ip' ? { ...e, Address: ip } : e)),
  };
}

describe('/metrics after a pipeline run (real API, worker, mock providers, agent endpoint)', () => {
  let h: Harness;
  let ops: OpsServer;
  let endpoint: Awaited<ReturnType<typeof startAgentEndpoint>>;
  const scrape = async () => {
    const res = await fetch(`http://127.0.0.1:${ops.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parseExposition(await res.text());
  };

  beforeAll(async () => {
    endpoint = await startAgentEndpoint();
    // Every second AbuseIPDB request answers 500: failures by reason must match the mock's own count.
    h = await createHarness({
      mockProviders: { providers: { abuseipdb: { errorRate: 0.5 } } },
      dedupWindowHours: 24,
      allowHosts: [endpoint.host],
    });
    h.deps.config.agentDispatch = { retryBaseSeconds: 0 };
    collectProcessMetrics('api');
    ops = (await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      logger: h.deps.logger,
      ready: async () => ({ status: 'ready' }),
    })) as OpsServer;
    await h.startWorker();
  });
  afterAll(async () => {
    await ops?.close();
    await h?.close();
    await endpoint?.close();
  });

  it('counters equal what happened: alerts, provider calls, deliveries; no label carries an id or a value', async () => {
    const before = await scrape();
    const delta = (name: string, where: Record<string, string> = {}) =>
      total(after, name, where) - total(before, name, where);
    let after: Series[] = before;

    for (const name of ['ok', 'flaky']) {
      const res = await h.request('POST', '/v1/agents', { json: { name, endpoint_url: endpoint.url(name) } });
      expect(res.status).toBe(201);
    }
    // Jobs this process finishes, counted from the queue's own events (no timers).
    const finished = { 'enrich-alert': 0, 'dispatch-agent': 0 } as Record<string, number>;
    const waiters: Array<() => void> = [];
    h.deps.queue.events.on('completed', (o: JobOutcome) => {
      finished[o.name] = (finished[o.name] ?? 0) + 1;
      for (const w of waiters.splice(0)) w();
    });
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise<void>((resolve) => waiters.push(resolve));
    };

    const marker = `m${randomBytes(6).toString('hex')}`;
    const seed = randomBytes(1)[0] as number;
    // Distinct public addresses; the third alert repeats the first's (its answers come from the cache).
    const ips = [`185.220.${seed}.11`, `185.220.${seed}.12`, `185.220.${seed}.11`, `185.220.${seed}.14`];
    const uuids: string[] = [];
    for (const [i, ip] of ips.entries()) {
      const res = await h.request('POST', '/v1/ingest/sentinel', { json: incident(ip, `${marker}-${i}`) });
      expect(res.status).toBe(202);
      uuids.push(res.body.data.alert_uuid);
      // One at a time, so the repeated address is answered by the cache, not coalesced.
      await until(() => finished['enrich-alert'] === i + 1);
    }
    const duplicate = await h.request('POST', '/v1/ingest/sentinel', {
      json: incident(ips[0] as string, `${marker}-0`),
    });
    expect(duplicate.body.data.status).toBe('deduplicated');
    const unknown = await h.request('POST', `/v1/ingest/nosuch-${marker}`, { json: { a: 1 } });
    const invalid = await h.request('POST', '/v1/ingest/sentinel', { json: { not: 'an incident' } });
    expect([unknown.status, invalid.status]).toEqual([404, 422]);
    for (const uuid of uuids) expect((await h.request('GET', `/v1/alerts/${uuid}`)).status).toBe(200);
    expect((await h.request('GET', `/v1/nothing-here/${marker}`)).status).toBe(404);
    // Two agents × four alerts: the first attempts are made by the enrichment jobs themselves; the
    // flaky agent's first attempt is retried once, by a dispatch-agent job.
    await until(() => finished['dispatch-agent'] === 1);

    after = await scrape();

    // Ingest: by source and outcome; refusals by the code the caller got; unknown sources unnamed.
    expect(delta('calseta_ingest_alerts_total', { source: 'sentinel', outcome: 'accepted' })).toBe(4);
    expect(
      delta('calseta_ingest_alerts_total', { source: 'sentinel', outcome: 'duplicate', reason: 'deduplicated' }),
    ).toBe(1);
    expect(
      delta('calseta_ingest_alerts_total', { source: 'unknown', outcome: 'refused', reason: unknown.body.error.code }),
    ).toBe(1);
    expect(
      delta('calseta_ingest_alerts_total', { source: 'sentinel', outcome: 'refused', reason: invalid.body.error.code }),
    ).toBe(1);

    // Request latency by route pattern.
    expect(
      delta('calseta_http_request_duration_seconds_count', {
        method: 'POST',
        route: '/v1/ingest/:source_name',
        status: '202',
      }),
    ).toBe(5);
    expect(
      delta('calseta_http_request_duration_seconds_count', { route: '/v1/alerts/:alert_uuid', status: '200' }),
    ).toBe(4);
    expect(delta('calseta_http_request_duration_seconds_count', { route: 'unmatched', status: '404' })).toBe(1);

    // Pipeline: every alert enriched once, statuses as stored.
    const statuses = await h.query<{ enrichment_status: string; n: number }>(
      'SELECT enrichment_status, count(*)::int AS n FROM alerts GROUP BY 1',
    );
    for (const { enrichment_status, n } of statuses) {
      expect(delta('calseta_alert_enrichments_total', { status: enrichment_status })).toBe(n);
    }
    expect(delta('calseta_alert_ingest_to_enriched_seconds_count')).toBe(4);
    expect(delta('calseta_alert_enriched_to_delivered_seconds_count')).toBe(8);

    // Providers: what was sent equals what the mock received; its 500s are our provider_http failures.
    const stats = h.mock?.stats();
    if (!stats) throw new Error('no mock');
    const sent = (provider: string) =>
      ['answered', 'not_found', 'failed', 'timed_out', 'rate_limited']
        .map((outcome) => delta('calseta_provider_calls_total', { provider, outcome }))
        .reduce((a, b) => a + b, 0);
    for (const provider of ['virustotal', 'abuseipdb'] as const) {
      expect(stats.byProvider[provider]).toBeGreaterThan(0);
      expect(sent(provider)).toBe(stats.byProvider[provider]);
    }
    expect(stats.faults.serverErrors).toBeGreaterThan(0);
    expect(
      delta('calseta_provider_calls_total', {
        provider: 'abuseipdb',
        outcome: 'failed',
        failure_reason: 'provider_http',
      }),
    ).toBe(stats.faults.serverErrors);
    const [hits] = await h.query<{ n: number }>(
      "SELECT sum((enrichment_summary->>'cache_hits')::int)::int AS n FROM alerts",
    );
    expect(hits?.n).toBeGreaterThan(0);
    expect(delta('calseta_provider_cache_lookups_total', { result: 'hit' })).toBe(hits?.n);
    expect(delta('calseta_provider_call_duration_seconds_count', { provider: 'virustotal' })).toBe(
      stats.byProvider.virustotal,
    );

    // Deliveries per agent, as the endpoint saw them.
    expect(endpoint.count('ok')).toBe(4);
    expect(endpoint.count('flaky')).toBe(5);
    expect(delta('calseta_delivery_attempts_total', { agent: 'ok', outcome: 'delivered' })).toBe(4);
    expect(delta('calseta_delivery_attempts_total', { agent: 'flaky', outcome: 'delivered' })).toBe(4);
    expect(delta('calseta_delivery_attempts_total', { agent: 'flaky', outcome: 'retrying' })).toBe(1);

    // Queue and pool.
    expect(delta('calseta_queue_jobs_total', { kind: 'enrich-alert', outcome: 'completed' })).toBe(4);
    expect(delta('calseta_queue_jobs_total', { kind: 'dispatch-agent', outcome: 'completed' })).toBe(1);
    for (const kind of ['enrich-alert', 'dispatch-agent', 'execute-workflow', 'notify-approval', 'sweep-approvals']) {
      expect(after.some((s) => s.name === 'calseta_queue_depth' && s.labels.kind === kind)).toBe(true);
    }
    expect(total(after, 'calseta_db_pool_connections')).toBeGreaterThan(0);
    expect(after.some((s) => s.name === 'calseta_approvals_pending')).toBe(true);
    // Process defaults, and every series names its process.
    expect(total(after, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    expect(after.every((s) => s.labels.service === 'api')).toBe(true);

    // Bounded labels: no alert id, indicator value, marker or raw path in any label value.
    const forbidden = [...uuids, ...ips, marker, `nosuch-${marker}`];
    const labelValues = new Set(after.flatMap((s) => Object.values(s.labels)));
    for (const value of labelValues) {
      for (const bad of forbidden) expect(value).not.toContain(bad);
      expect(value).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i);
      expect(value).not.toMatch(/\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b/);
    }
  });
});
