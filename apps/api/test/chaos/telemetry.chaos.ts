/**
 * Metrics of real processes (issue 22): the built API and two workers, each with its ops listener,
 * take a load of alerts through the mock providers (AbuseIPDB failing some requests, VirusTotal
 * answering some malformed and some 429), a recording proxy and a real agent endpoint. Once the
 * system is quiet, the processes' /metrics, summed, equal what happened: alerts accepted, provider
 * calls by outcome as the proxy saw them, enrichments as the activity log has them, deliveries as
 * the endpoint received them; and no label value carries an alert id or an indicator value.
 */
import { createDb } from '@calseta/db';
import { createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import { type MockProvidersServer, mockProviderEnv, startMockProviders } from '@calseta/mock-providers';
import { appArgs, ProcessGroup } from '@calseta/process-harness';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type AgentEndpoint,
  appEnv,
  type CallOutcome,
  createAdminKey,
  freePort,
  GiveUp,
  ingestLoad,
  type LoadResult,
  type Pool,
  registerAgent,
  startAgentEndpoint,
  startProviderRecorder,
  uniqueIp,
  until,
  waitQuiescent,
} from './lib.js';

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The text exposition format, read independently of prom-client (no escapes in our label values). */
function parse(text: string): Series[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not an exposition line: ${line}`);
      const labels = Object.fromEntries(
        [...(match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
      ) as Record<string, string>;
      return { name: match[1] as string, labels, value: Number(match[3]) };
    });
}

const sum = (series: Series[], name: string, where: Record<string, string> = {}) =>
  series
    .filter((s) => s.name === name && Object.entries(where).every(([k, v]) => s.labels[k] === v))
    .reduce((total, s) => total + s.value, 0);

/** The recorder's outcome → ours (`calseta_provider_calls_total{outcome}`). */
const OUTCOME: Record<CallOutcome, string> = {
  ok: 'answered',
  not_found: 'not_found',
  failed: 'failed',
  timeout: 'timed_out',
  rate_limited: 'rate_limited',
};

let database: TestDatabase;
let mock: MockProvidersServer;
let recorder: Awaited<ReturnType<typeof startProviderRecorder>>;
let endpoint: AgentEndpoint;
let pool: Pool;
const procs = new ProcessGroup();
const ops = { api: 0, 'worker-1': 0, 'worker-2': 0 };
let apiUrl = '';
let key = '';

beforeAll(async () => {
  database = await createTestDatabase();
  pool = createDb({ url: database.url, max: 3 }).pool;
  mock = await startMockProviders({
    providers: { abuseipdb: { errorRate: 0.2 }, virustotal: { malformedRate: 0.1, rateLimit: { every: 25 } } },
  });
  recorder = await startProviderRecorder(mock);
  endpoint = await startAgentEndpoint();
  key = await createAdminKey(database.url);
  const env = appEnv(database.url, mockProviderEnv(recorder), [endpoint.host]);
  const apiPort = await freePort();
  apiUrl = `http://127.0.0.1:${apiPort}`;
  for (const name of Object.keys(ops) as Array<keyof typeof ops>) ops[name] = await freePort();
  const start = (name: keyof typeof ops, extra: Record<string, string>) =>
    procs.start({
      name,
      args: ['--enable-source-maps', ...appArgs(name === 'api' ? 'api' : 'worker', 'dist')],
      env: { ...env, OPS_HOST: '127.0.0.1', OPS_PORT: String(ops[name]), LOG_LEVEL: 'info', ...extra },
    });
  const api = start('api', {
    API_HOST: '127.0.0.1',
    API_PORT: String(apiPort),
    LOG_REQUESTS: 'false',
    RATE_LIMIT_AUTHED_PER_MINUTE: '0',
    RATE_LIMIT_INGEST_PER_MINUTE: '0',
  });
  await api.listening(60_000);
  await Promise.all(
    (['worker-1', 'worker-2'] as const).map((name) =>
      start(name, { WORKER_CONCURRENCY: '8' }).waitFor(
        `${name} to start`,
        (line) => line.includes('Calseta worker started'),
        60_000,
      ),
    ),
  );
  await registerAgent(apiUrl, key, endpoint, 'all-alerts');
});

afterAll(async () => {
  await procs.stopAll('SIGKILL');
  await pool?.end();
  await endpoint?.close();
  await recorder?.close();
  await mock?.close();
  await database?.drop();
});

async function scrape(name: keyof typeof ops): Promise<Series[]> {
  const response = await fetch(`http://127.0.0.1:${ops[name]}/metrics`);
  expect(response.status).toBe(200);
  return parse(await response.text());
}

it('the processes’ counters, summed, equal what happened', async () => {
  // Ten addresses shared across alerts (cache hits, coalesced calls) and one of each alert's own.
  const load = ingestLoad({
    url: () => apiUrl,
    key,
    loops: 4,
    pauseMs: 0,
    ips: (i) => [uniqueIp(i), uniqueIp(i % 10, 1)],
    title: 'telemetry',
  });
  await until(
    '80 alerts accepted',
    async () => {
      if (procs.unexpectedExits().length > 0) throw new GiveUp(procs.tails());
      return load.result.accepted.length >= 80 ? true : undefined;
    },
    { timeoutMs: 60_000 },
  );
  const sent: LoadResult = await load.stop();
  expect(sent.refused).toEqual({});
  await waitQuiescent(pool, sent.accepted, 120_000, () => procs.tails());

  const api = await scrape('api');
  const workers = [...(await scrape('worker-1')), ...(await scrape('worker-2'))];
  const all = [...api, ...workers];
  expect(api.every((s) => s.labels.service === 'api')).toBe(true);
  expect(workers.every((s) => s.labels.service === 'worker')).toBe(true);

  // Ingest, in the API.
  const accepted = sent.accepted.length;
  expect(sum(api, 'calseta_ingest_alerts_total', { source: 'generic', outcome: 'accepted' })).toBe(accepted);
  expect(sum(api, 'calseta_ingest_alerts_total', { outcome: 'refused' })).toBe(0);
  expect(
    sum(api, 'calseta_http_request_duration_seconds_count', {
      method: 'POST',
      route: '/v1/ingest/:source_name',
      status: '202',
    }),
  ).toBe(accepted);

  // Provider calls by outcome, as the recording proxy saw them.
  const seen = new Map<string, number>();
  for (const [call, outcomes] of recorder.outcomes) {
    const provider = call.split(':')[0] as string;
    for (const outcome of outcomes) {
      const k = `${provider} ${OUTCOME[outcome]}`;
      seen.set(k, (seen.get(k) ?? 0) + 1);
    }
  }
  for (const provider of ['virustotal', 'abuseipdb']) {
    for (const outcome of Object.values(OUTCOME)) {
      expect({ provider, outcome, calls: sum(workers, 'calseta_provider_calls_total', { provider, outcome }) }).toEqual(
        {
          provider,
          outcome,
          calls: seen.get(`${provider} ${outcome}`) ?? 0,
        },
      );
    }
  }
  expect(seen.get('abuseipdb failed')).toBeGreaterThan(0);
  expect(seen.get('virustotal rate_limited')).toBeGreaterThan(0);
  expect(sum(workers, 'calseta_provider_cache_lookups_total', { result: 'hit' })).toBeGreaterThan(0);

  // Enrichment: each completion as the activity log has it; each alert settles once.
  const { rows: completed } = await pool.query<{ status: string; n: number }>(
    `SELECT "references"->>'status' AS status, count(*)::int AS n FROM activity_events
     WHERE event_type = 'alert_enrichment_completed' GROUP BY 1`,
  );
  for (const { status, n } of completed)
    expect({ status, n: sum(workers, 'calseta_alert_enrichments_total', { status }) }).toEqual({ status, n });
  expect(sum(workers, 'calseta_alert_ingest_to_enriched_seconds_count')).toBe(accepted);

  // Deliveries, as the endpoint received them.
  expect(endpoint.deliveries).toHaveLength(accepted);
  expect(sum(workers, 'calseta_delivery_attempts_total', { agent: 'all-alerts', outcome: 'delivered' })).toBe(accepted);
  expect(sum(workers, 'calseta_alert_enriched_to_delivered_seconds_count')).toBe(accepted);

  // Queue drained (read from pg-boss at this scrape), pools reported.
  expect(sum(api, 'calseta_queue_depth', { kind: 'enrich-alert' })).toBe(0);
  expect(sum(api, 'calseta_queue_depth', { kind: 'dispatch-agent' })).toBe(0);
  for (const series of [api, workers]) expect(sum(series, 'calseta_db_pool_connections')).toBeGreaterThan(0);

  // Bounded labels: no alert id, no indicator value.
  const forbidden = new Set(sent.accepted.flatMap((a) => [a.uuid, ...a.ips]));
  for (const value of new Set(all.flatMap((s) => Object.values(s.labels)))) {
    expect(forbidden.has(value)).toBe(false);
    expect(value).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-|\b\d{1,3}(\.\d{1,3}){3}\b/i);
  }
});
