/**
 * Faults outside Calseta, under load, with real API and worker processes:
 * - provider faults: 500s, malformed JSON, timeouts and 429s from the mock providers — every alert
 *   finishes, each alert's per-provider tallies and status say exactly what the providers answered
 *   (checked against a recording proxy in front of the mock), and rate-limited providers catch up;
 * - agent outage: the agent endpoint refuses connections for a while — every delivery arrives after
 *   it returns, one idempotency key per (alert, agent).
 */
import { createDb } from '@calseta/db';
import { createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import { type MockProvidersServer, mockProviderEnv, startMockProviders } from '@calseta/mock-providers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type AgentEndpoint,
  appEnv,
  type CallOutcome,
  checkInvariants,
  createAdminKey,
  freePort,
  ingestLoad,
  type Pool,
  registerAgent,
  type Sent,
  Stack,
  startAgentEndpoint,
  startProviderRecorder,
  uniqueIp,
  until,
  waitQuiescent,
} from './lib.js';

const PROVIDER_TIMEOUT_MS = 2_000;

let database: TestDatabase;
let mock: MockProvidersServer;
let recorder: Awaited<ReturnType<typeof startProviderRecorder>>;
let endpoint: AgentEndpoint;
let stack: Stack;
let pool: Pool;
let key: string;
const t0 = performance.now();
const progress = (what: string) =>
  process.stderr.write(`[chaos faults +${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}\n`);

beforeAll(async () => {
  database = await createTestDatabase();
  pool = createDb({ url: database.url, max: 3 }).pool;
  mock = await startMockProviders({ latencyMs: 50 });
  recorder = await startProviderRecorder(mock, { timeoutMs: { abuseipdb: PROVIDER_TIMEOUT_MS } });
  endpoint = await startAgentEndpoint();
  key = await createAdminKey(database.url);
  stack = new Stack(appEnv(database.url, mockProviderEnv(recorder), [endpoint.host]), await freePort());
  await stack.startApi();
  // A short AbuseIPDB timeout, so the mock's slow answers below are timeouts (restored afterwards).
  await pool.query('UPDATE enrichment_providers SET timeout_ms = $1 WHERE provider_name = $2', [
    PROVIDER_TIMEOUT_MS,
    'abuseipdb',
  ]);
  await pool.query("SELECT pg_notify('calseta_providers', '')");
  await Promise.all([stack.startWorker('worker-1'), stack.startWorker('worker-2')]);
  await registerAgent(stack.apiUrl, key, endpoint, 'all-alerts');
  progress('stack up');
});

afterAll(async () => {
  await stack?.stop();
  await pool?.end();
  await endpoint?.close();
  await recorder?.close();
  await mock?.close();
  await database?.drop();
});

interface Tally {
  succeeded: number;
  not_found: number;
  failed: number;
  skipped: number;
  deferred: number;
}

it('provider 500s, malformed JSON, timeouts and 429s: every alert finishes with truthful statuses', async () => {
  // VirusTotal: every 10th answer a 500, about every 7th other one cut in half (malformed JSON). AbuseIPDB:
  // every 7th request a 429 (Retry-After: 1), and it alternates every 2 s between answering after
  // 50 ms and after 5 s (past its 2 s timeout): a clear line between answers and timeouts.
  const faults = (slow: boolean) => ({
    latencyMs: 50,
    providers: {
      virustotal: { errorRate: 0.1, malformedRate: 0.15 },
      abuseipdb: { latencyMs: slow ? 5_000 : 50, rateLimit: { every: 7, retryAfterSeconds: 1 } },
    },
  });
  let slow = false;
  mock.setOptions(faults(slow));
  const toggle = setInterval(() => {
    slow = !slow;
    mock.setOptions(faults(slow));
  }, 2_000);
  try {
    await providerFaults();
  } finally {
    clearInterval(toggle);
    // (providers merge field by field: each one is reset explicitly)
    mock.setOptions({ latencyMs: 50, providers: { virustotal: {}, abuseipdb: {} } });
    await pool.query('UPDATE enrichment_providers SET timeout_ms = 30000 WHERE provider_name = $1', ['abuseipdb']);
    await pool.query("SELECT pg_notify('calseta_providers', '')");
  }
});

async function providerFaults() {
  const load = ingestLoad({
    url: () => stack.apiUrl,
    key,
    loops: 3,
    pauseMs: 50,
    ips: (i) => [uniqueIp(i, 1), uniqueIp(i, 2)],
    title: 'chaos provider faults',
  });
  await until('150 alerts accepted', () => (load.result.accepted.length >= 150 ? true : undefined), {
    timeoutMs: 90_000,
    describe: () => JSON.stringify(load.result.refused),
  });
  const result = await load.stop();
  progress(`load stopped: ${result.accepted.length} accepted`);
  const quiescence = await waitQuiescent(pool, result.accepted, 150_000, () => stack.tails());
  const inv = await checkInvariants(pool, result.accepted, endpoint, { 'all-alerts': () => true }, (s) =>
    ['Enriched', 'Partial', 'Failed'].includes(s),
  );

  // Truthful: each alert's tallies are what the providers last answered for its IPs.
  const { rows } = await pool.query<{
    uuid: string;
    enrichment_status: string;
    enrichment_summary: { providers: Record<string, Tally>; attempt: number };
  }>('SELECT uuid, enrichment_status, enrichment_summary FROM alerts WHERE uuid = ANY($1::uuid[])', [
    result.accepted.map((a) => a.uuid),
  ]);
  const sentBy = new Map<string, Sent>(result.accepted.map((a) => [a.uuid, a]));
  const mismatches: string[] = [];
  let caughtUp = 0;
  for (const row of rows) {
    const sent = sentBy.get(row.uuid) as Sent;
    let answered = 0;
    let failed = 0;
    for (const provider of ['virustotal', 'abuseipdb']) {
      const expected: Tally = { succeeded: 0, not_found: 0, failed: 0, skipped: 0, deferred: 0 };
      for (const ip of sent.ips) {
        const last: CallOutcome | undefined = recorder.outcomes.get(`${provider}:${ip}`)?.at(-1);
        if (last === 'ok') expected.succeeded++;
        else if (last === 'not_found') expected.not_found++;
        else expected.failed++;
      }
      answered += expected.succeeded + expected.not_found;
      failed += expected.failed;
      const got = row.enrichment_summary.providers[provider];
      const fields = ['succeeded', 'not_found', 'failed', 'skipped', 'deferred'] as const;
      if (!got || fields.some((f) => got[f] !== expected[f])) {
        mismatches.push(
          `${row.uuid} ${provider}: stored ${JSON.stringify(got)}, providers said ${JSON.stringify(expected)}`,
        );
      }
    }
    const status = failed === 0 ? 'Enriched' : answered > 0 ? 'Partial' : 'Failed';
    if (row.enrichment_status !== status) mismatches.push(`${row.uuid}: ${row.enrichment_status}, expected ${status}`);
    if (row.enrichment_summary.attempt > 0) caughtUp++;
  }
  expect(mismatches.slice(0, 10)).toEqual([]);

  // Every kind of fault happened, and rate-limited alerts were finished by a later attempt.
  const outcomes = [...recorder.outcomes.values()].flat();
  const count = (o: CallOutcome) => outcomes.filter((x) => x === o).length;
  const stats = mock.stats();
  expect(stats.faults.serverErrors).toBeGreaterThan(0);
  expect(stats.faults.malformed).toBeGreaterThan(0);
  expect(count('timeout')).toBeGreaterThan(0);
  expect(count('rate_limited')).toBeGreaterThan(0);
  expect(caughtUp).toBeGreaterThan(0);
  process.stdout.write(
    `chaos provider faults: ${result.accepted.length} alerts; provider calls ${outcomes.length}: ` +
      `${count('ok')} ok, ${stats.faults.serverErrors} 500s, ${stats.faults.malformed} malformed, ${count('timeout')} ` +
      `timeouts, ${count('rate_limited')} 429s; statuses ${JSON.stringify(inv.statuses)}; ${caughtUp} alerts ` +
      `finished by a follow-up attempt after a rate limit; quiescent ${quiescence.toFixed(1)} s after load stopped\n`,
  );
}

it('agent endpoint down under load: every payload arrives after it returns, once per idempotency key', async () => {
  const load = ingestLoad({
    url: () => stack.apiUrl,
    key,
    loops: 3,
    pauseMs: 50,
    ips: (i) => [uniqueIp(i, 3)],
    title: 'chaos agent outage',
  });
  const waitAccepted = (n: number) =>
    until(`${n} alerts accepted`, () => (load.result.accepted.length >= n ? true : undefined), {
      timeoutMs: 60_000,
      describe: () => JSON.stringify(load.result.refused),
    });
  await waitAccepted(30);
  const before = endpoint.deliveries.length;
  await endpoint.down();
  const downAt = performance.now();
  progress('agent endpoint down');
  // Down until 150 more alerts were accepted (several seconds of load), and at least 5 s.
  await waitAccepted(load.result.accepted.length + 150);
  await until('5 s of outage', () => (performance.now() - downAt >= 5_000 ? true : undefined), { timeoutMs: 10_000 });
  const { rows: waiting } = await pool.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM agent_runs WHERE status = 'retrying'",
  );
  await endpoint.up();
  const outage = (performance.now() - downAt) / 1000;
  progress(`agent endpoint up after ${outage.toFixed(1)} s`);
  await waitAccepted(load.result.accepted.length + 30);
  const result = await load.stop();
  const quiescence = await waitQuiescent(pool, result.accepted, 120_000, () => stack.tails());
  const inv = await checkInvariants(
    pool,
    result.accepted,
    endpoint,
    { 'all-alerts': () => true },
    (s) => s === 'Enriched',
  );
  const { rows } = await pool.query<{ retried: number; max: number }>(
    `SELECT count(*) FILTER (WHERE r.attempt_count > 1)::int AS retried, max(r.attempt_count)::int AS max
     FROM agent_runs r JOIN alerts a ON a.id = r.alert_id WHERE a.uuid = ANY($1::uuid[])`,
    [result.accepted.map((a) => a.uuid)],
  );
  expect(endpoint.refusedWhileDown()).toBeGreaterThan(0);
  expect(waiting[0]?.n).toBeGreaterThan(0);
  expect(rows[0]?.retried).toBeGreaterThan(0);
  process.stdout.write(
    `chaos agent outage: ${result.accepted.length} alerts; endpoint down ${outage.toFixed(1)} s ` +
      `(${endpoint.refusedWhileDown()} connections refused, ${waiting[0]?.n} deliveries retrying when it came back); ` +
      `${endpoint.deliveries.length - before} deliveries received, ${inv.repeatedKeys} repeats of a key; ` +
      `${rows[0]?.retried} deliveries needed more than one attempt (max ${rows[0]?.max}); quiescent ` +
      `${quiescence.toFixed(1)} s after load stopped\n`,
  );
});
