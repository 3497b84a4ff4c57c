/**
 * Crash test: while alerts are ingested continuously, the API and the two workers are killed with
 * SIGKILL at random moments, several times, and restarted. At quiescence every alert that got a 202
 * is present, enriched and delivered to each matching agent; no indicator is duplicated; no
 * delivery has two different idempotency keys.
 */
import { createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import { type MockProvidersServer, mockProviderEnv, startMockProviders } from '@calseta/mock-providers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  type AgentEndpoint,
  appEnv,
  chaosRandom,
  checkInvariants,
  createAdminKey,
  freePort,
  ingestLoad,
  type Proc,
  providerFailures,
  registerAgent,
  Stack,
  startAgentEndpoint,
  unexplainedFailures,
  uniqueIp,
  until,
  waitQuiescent,
} from './lib.js';

const SHARED_IPS = Array.from({ length: 20 }, (_, i) => `23.0.0.${i + 1}`);

let database: TestDatabase;
let mock: MockProvidersServer;
let endpoint: AgentEndpoint;
let stack: Stack | undefined;
const t0 = performance.now();
const progress = (what: string) =>
  process.stderr.write(`[chaos kill +${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}\n`);

beforeAll(async () => {
  database = await createTestDatabase();
  mock = await startMockProviders({ latencyMs: 50 });
  endpoint = await startAgentEndpoint();
});

afterAll(async () => {
  await stack?.stop();
  await endpoint?.close();
  await mock?.close();
  await database?.drop();
});

it('kill -9 of the API and the workers during ingest loses nothing', async () => {
  const { seed, random } = chaosRandom('kill');
  const startedAt = performance.now();
  const { pool } = await import('@calseta/db').then(({ createDb }) => createDb({ url: database.url, max: 3 }));
  const key = await createAdminKey(database.url);
  stack = new Stack(appEnv(database.url, mockProviderEnv(mock), [endpoint.host], 10), await freePort());
  const s = stack;
  await s.startApi();
  await Promise.all([s.startWorker('worker-1'), s.startWorker('worker-2')]);
  await registerAgent(s.apiUrl, key, endpoint, 'all-alerts');
  await registerAgent(s.apiUrl, key, endpoint, 'high-only', { trigger_on_severities: ['High'] });
  progress('stack up');

  // Two alerts in flight at a time, ~25 alerts/s; each alert has one shared IP (concurrent upserts of one
  // indicator from many alerts) and one of its own.
  const load = ingestLoad({
    url: () => s.apiUrl,
    key,
    loops: 2,
    pauseMs: 40,
    ips: (i) => [SHARED_IPS[i % SHARED_IPS.length] as string, uniqueIp(i)],
    title: 'chaos kill',
  });

  // Random victims at random moments: each of the three at least once, the API at most twice, in a
  // random order (seeded: CHAOS_SEED replays it). Each kill waits until 20 more alerts were accepted
  // since the previous one (so work is under way everywhere), then a random 0.3–2 s; the victim is
  // restarted at once, and the next kill does not wait for that restart (a worker may be killed while
  // the API is coming back).
  const targets = ['api', 'worker-1', 'worker-2', random() < 0.5 ? 'api' : 'worker-1', 'worker-2']
    .map((t) => ({ t, k: random() }))
    .sort((a, b) => a.k - b.k)
    .map(({ t }) => t);
  const killed = new Set<Proc>();
  const killTimes: number[] = [];
  const log: string[] = [];
  const restarts: Promise<unknown>[] = [];
  for (const target of targets) {
    const before = load.result.accepted.length;
    const notBefore = Date.now() + 300 + random() * 1_700;
    await until(
      '20 more alerts accepted',
      () => (load.result.accepted.length >= before + 20 && Date.now() >= notBefore ? true : undefined),
      { timeoutMs: 60_000, everyMs: 50, describe: () => `${JSON.stringify(load.result.refused)}\n${s.tails()}` },
    );
    await restarts.at(-1);
    const victim = s.proc(target);
    if (victim) killed.add(victim);
    await s.kill9(target);
    killTimes.push(Date.now());
    log.push(`${target}@${load.result.accepted.length}`);
    progress(`killed ${target}`);
    restarts.push(target === 'api' ? s.startApi() : s.startWorker(target));
  }
  await Promise.all(restarts);
  // A little more load after the last restart, then stop ingesting.
  const after = load.result.accepted.length;
  await until('50 more alerts accepted', () => (load.result.accepted.length >= after + 50 ? true : undefined), {
    timeoutMs: 60_000,
    everyMs: 50,
    describe: () => `${JSON.stringify(load.result.refused)}\n${s.tails()}`,
  });
  const result = await load.stop();
  progress(`load stopped: ${result.accepted.length} accepted`);
  const loadSeconds = (performance.now() - startedAt) / 1000;

  const quiescence = await waitQuiescent(pool, result.accepted, 150_000, () => s.tails());
  expect(s.unexpectedExits(killed).map((p) => p.name)).toEqual([]);
  const inv = await checkInvariants(
    pool,
    result.accepted,
    endpoint,
    { 'all-alerts': () => true, 'high-only': (a) => a.severity === 'High' },
    // Enriched, or truthfully not — and only for the reason a kill can cause, checked below.
    (status) => ['Enriched', 'Partial', 'Failed'].includes(status),
  );
  // The providers are healthy here. A waiter takes over the claim of a killed process within ~2 s
  // (its liveness lock is gone), so a kill should cost nothing; the one failure it can still cause
  // is a shared call lost twice in a row (`failure_reason: 'shared_call_lost'`), for at most one
  // alert per kill, finished within 35 s of a kill. Any other reason (`internal` — a TypeError, our
  // own database error — `timeout`, …) fails the test.
  const failures = await providerFailures(pool, result.accepted);
  expect(unexplainedFailures(failures, killTimes, 35_000), `CHAOS_SEED=${seed}`).toEqual([]);
  const { rows } = await pool.query<{ retried: number }>(
    `SELECT count(*)::int AS retried FROM pgboss.job WHERE name IN ('enrich-alert', 'dispatch-agent') AND retry_count > 0`,
  );
  await pool.end();

  expect(inv.alerts).toBe(result.accepted.length);
  expect(result.accepted.length).toBeGreaterThan(100);
  process.stdout.write(
    `chaos kill (CHAOS_SEED=${seed}): ${log.length} kills (${log.join(', ')}); ${result.accepted.length} alerts accepted of ${result.attempts} ` +
      `attempts (refused: ${JSON.stringify(result.refused)}); load ${loadSeconds.toFixed(1)} s; quiescent ` +
      `${quiescence.toFixed(1)} s after load stopped; statuses ${JSON.stringify(inv.statuses)} ` +
      `(failed provider results: ${failures.length}); ` +
      `${inv.deliveries} deliveries received, ${inv.repeatedKeys} repeats of an already received key; ` +
      `${rows[0]?.retried ?? 0} jobs retried\n`,
  );
}, 300_000);
