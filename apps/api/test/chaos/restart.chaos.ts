/**
 * `kill -9` of the whole stack mid-ingest, then a restart: every alert that got a 202 is enriched
 * within 60 s of the restart. With the default job expiry (5 min — this scenario does not shorten
 * it), the jobs the killed workers held are recovered only because the restarted workers see that
 * their owners are gone (each process's liveness lock in Postgres was released when it died) and
 * retry them at once; a shared provider call a killed process had claimed is taken over the same way.
 */
import { createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import { type MockProvidersServer, mockProviderEnv, startMockProviders } from '@calseta/mock-providers';
import { afterAll, beforeAll, expect, it } from 'vitest';
import {
  appEnv,
  chaosRandom,
  createAdminKey,
  freePort,
  ingestLoad,
  providerFailures,
  Stack,
  uniqueIp,
  until,
} from './lib.js';

const SHARED_IPS = Array.from({ length: 10 }, (_, i) => `23.2.0.${i + 1}`);
const WORKERS = ['worker-1', 'worker-2'];

let database: TestDatabase;
let mock: MockProvidersServer;
let stack: Stack | undefined;
const t0 = performance.now();
const progress = (what: string) =>
  process.stderr.write(`[chaos restart +${((performance.now() - t0) / 1000).toFixed(1)} s] ${what}\n`);

beforeAll(async () => {
  database = await createTestDatabase();
  // Slow providers (400 ms): when the stack is killed, many enrichments are half done.
  mock = await startMockProviders({ latencyMs: 400 });
});

afterAll(async () => {
  await stack?.stop();
  await mock?.close();
  await database?.drop();
});

it('after kill -9 of the API and every worker mid-ingest, every accepted alert is enriched within 60 s of the restart', async () => {
  const { seed, random } = chaosRandom('restart');
  const { pool } = await import('@calseta/db').then(({ createDb }) => createDb({ url: database.url, max: 3 }));
  const key = await createAdminKey(database.url);
  // No JOB_EXPIRE_SECONDS: the production default (minutes) would miss the 60 s by far.
  stack = new Stack(appEnv(database.url, mockProviderEnv(mock), []), await freePort());
  const s = stack;
  await s.startApi();
  await Promise.all(WORKERS.map((w) => s.startWorker(w, 8)));
  progress('stack up');

  const load = ingestLoad({
    url: () => s.apiUrl,
    key,
    loops: 3,
    pauseMs: 20,
    ips: (i) => [SHARED_IPS[i % SHARED_IPS.length] as string, uniqueIp(i, 8)],
    title: 'chaos restart',
  });
  const killAfter = 80 + Math.floor(random() * 60);
  await until(`${killAfter} alerts accepted`, () => (load.result.accepted.length >= killAfter ? true : undefined), {
    timeoutMs: 60_000,
    everyMs: 20,
    describe: () => `${JSON.stringify(load.result.refused)}\n${s.tails()}`,
  });
  // The whole stack at once, while requests, jobs and provider calls are in flight.
  await Promise.all(['api', ...WORKERS].map((name) => s.kill9(name)));
  const result = await load.stop();
  const { rows: held } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'enrich-alert' AND state = 'active'`,
  );
  const { rows: pending } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM alerts WHERE uuid = ANY($1::uuid[]) AND enriched_at IS NULL`,
    [result.accepted.map((a) => a.uuid)],
  );
  progress(
    `killed everything: ${result.accepted.length} accepted, ${pending[0]?.n} not enriched, ${held[0]?.n} jobs held`,
  );

  const restartedAt = performance.now();
  await s.startApi();
  await Promise.all(WORKERS.map((w) => s.startWorker(w, 8)));
  const uuids = result.accepted.map((a) => a.uuid);
  await until(
    'every accepted alert enriched',
    async () => {
      const { rows } = await pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM alerts WHERE uuid = ANY($1::uuid[]) AND enriched_at IS NOT NULL
           AND enrichment_status <> 'Pending'`,
        [uuids],
      );
      return rows[0]?.n === uuids.length ? true : undefined;
    },
    {
      timeoutMs: 60_000 - (performance.now() - restartedAt),
      everyMs: 250,
      describe: () => `CHAOS_SEED=${seed}\n${s.tails()}`,
    },
  );
  const recovered = (performance.now() - restartedAt) / 1000;

  const { rows: alerts } = await pool.query<{ n: number; status: string }>(
    `SELECT enrichment_status AS status, count(*)::int AS n FROM alerts WHERE uuid = ANY($1::uuid[]) GROUP BY 1`,
    [uuids],
  );
  const { rows: retried } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'enrich-alert' AND retry_count > 0`,
  );
  const failures = await providerFailures(pool, result.accepted);
  await pool.end();
  expect(result.accepted.length).toBeGreaterThanOrEqual(killAfter);
  expect(Number(held[0]?.n)).toBeGreaterThan(0); // the kill did leave jobs held by dead processes
  // Healthy providers: every alert Enriched (a takeover, not a failure, follows a killed owner).
  expect(failures, `CHAOS_SEED=${seed}`).toEqual([]);
  expect(Object.fromEntries(alerts.map((a) => [a.status, a.n]))).toEqual({ Enriched: uuids.length });
  process.stdout.write(
    `chaos restart (CHAOS_SEED=${seed}): ${result.accepted.length} alerts accepted, kill -9 of api + ${WORKERS.length} ` +
      `workers with ${pending[0]?.n} not yet enriched and ${held[0]?.n} jobs held by them; all enriched ` +
      `${recovered.toFixed(1)} s after the restart began (limit 60 s); ${retried[0]?.n} jobs retried\n`,
  );
}, 240_000);
