/**
 * Scaling out: api and worker are stateless, so any number of them run against one Postgres. Two
 * real API processes and three real worker processes (node --import tsx, as `pnpm dev` runs them)
 * share one database, started together after a one-shot `calseta migrate` as docker compose starts
 * them; 300 alerts are ingested across both APIs while one worker is stopped midway
 * (scale-in). Every 202'd alert exists once, was enriched exactly once (one job, no retry, one
 * completion event, one worker's log line), and no provider value was fetched twice.
 */
import { randomBytes } from 'node:crypto';
import { createTestCore, type TestCore } from '@calseta/core/testing';
import { createDb } from '@calseta/db';
import { firstParty } from '@calseta/integrations';
import { type MockProvidersServer, mockProviderEnv, startMockProviders } from '@calseta/mock-providers';
import { appArgs, ProcessGroup } from '@calseta/process-harness';
import { afterAll, beforeAll, expect, it } from 'vitest';

const ALERTS = 300;
const SHARED_IPS = Array.from({ length: 20 }, (_, i) => `23.0.0.${i + 1}`);
const uniqueIp = (i: number) => `34.1.${(i >> 8) & 255}.${i & 255}`;
const DEADLINE_MS = 60_000;

const procs = new ProcessGroup();
let core: TestCore;
let mock: MockProvidersServer;

// As `pnpm dev` runs them: the sources through tsx.
const start = (name: string, app: 'api' | 'worker' | 'cli', env: Record<string, string>, args: string[] = []) =>
  procs.start({ name, args: [...appArgs(app, 'tsx'), ...args], env });

/** Wait until `condition()` returns a value (not undefined); fail on deadline or a process that died unexpectedly. */
const until = <T>(what: string, condition: () => Promise<T | undefined> | T | undefined) =>
  procs.until(what, condition, { timeoutMs: DEADLINE_MS, everyMs: 100 });

beforeAll(async () => {
  // A test database and an admin key made with core in this process (keys live in the shared
  // database; the test database is migrated, queue schema included, as `calseta migrate` leaves it).
  core = await createTestCore({ integrations: firstParty, queueConnections: 1, adminKeyName: 'scaling' });
  mock = await startMockProviders();
}, 60_000);

afterAll(async () => {
  await procs.stopAll('SIGKILL');
  await mock?.close();
  await core?.close();
});

it('2 APIs and 3 workers on one database: no alert lost, no job processed twice', async () => {
  const { pool } = createDb({ url: core.databaseUrl, max: 2, applicationName: 'calseta-scaling-test' });
  const query = async <T>(text: string): Promise<T[]> => (await pool.query(text)).rows as T[];
  const key = core.adminKey;
  const env: Record<string, string> = {
    DATABASE_URL: core.databaseUrl,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
    // Any free port for the ops listener: several processes of a kind share this host.
    OPS_PORT: '0',
    LOG_LEVEL: 'info',
    DB_POOL_SIZE: '6',
    ...mockProviderEnv(mock),
  };
  const apiEnv = {
    ...env,
    API_HOST: '127.0.0.1',
    API_PORT: '0',
    LOG_REQUESTS: 'false',
    RATE_LIMIT_AUTHED_PER_MINUTE: '0',
    RATE_LIMIT_INGEST_PER_MINUTE: '0',
  };
  // Workers log each finished enrichment ("alert enriched", debug) with the alert id.
  const workerEnv = { ...env, LOG_LEVEL: 'debug', WORKER_CONCURRENCY: '8' };
  const t0 = Date.now();
  // As docker compose does: `calseta migrate` once (migrations, the job queues, system rows), then
  // every process at once. (Processes creating the queues concurrently can deadlock in pg-boss.)
  const migrate = start('migrate', 'cli', { DATABASE_URL: core.databaseUrl }, ['migrate']);
  migrate.stopping = true; // a one-shot: its exit is expected
  expect(await migrate.exited, migrate.lines.join('\n')).toBe(0);
  const apis = [start('api-1', 'api', apiEnv), start('api-2', 'api', apiEnv)];
  const workers = [1, 2, 3].map((n) => start(`worker-${n}`, 'worker', workerEnv));

  const urls = await Promise.all(apis.map((api) => api.listening(DEADLINE_MS)));
  await Promise.all(
    workers.map((w) => w.waitFor(`${w.name} started`, (_, e) => e?.msg === 'Calseta worker started', DEADLINE_MS)),
  );

  const t1 = Date.now();
  // 300 alerts, alternating between the two APIs, 16 in flight; each with 2 shared IPs and 1 of its own.
  const accepted: string[] = [];
  let next = 0;
  const ingestOne = async (i: number) => {
    const response = await fetch(`${urls[i % 2]}/v1/ingest/generic`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        title: `scaling test alert ${i}`,
        severity: 'high',
        indicators: [
          { type: 'ip', value: SHARED_IPS[i % SHARED_IPS.length] },
          { type: 'ip', value: SHARED_IPS[(i * 7 + 3) % SHARED_IPS.length] },
          { type: 'ip', value: uniqueIp(i) },
        ],
      }),
    });
    const body = (await response.json()) as { data: { alert_uuid: string; is_duplicate: boolean } };
    expect(response.status).toBe(202);
    expect(body.data.is_duplicate).toBe(false);
    accepted.push(body.data.alert_uuid);
  };
  let scaledIn: Promise<number | string> | undefined;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < ALERTS) {
        const i = next++;
        await ingestOne(i);
        // Scale in while work is under way: worker-3 drains its running jobs and exits cleanly.
        if (!scaledIn && accepted.length >= ALERTS / 3) scaledIn = workers[2]?.stop('SIGTERM');
      }
    }),
  );
  expect(accepted).toHaveLength(ALERTS);
  const t2 = Date.now();
  expect(await scaledIn).toBe(0);

  // Done when every alert's enrichment has committed and no enrich-alert job is left to run.
  await until('every alert enriched', async () => {
    const [row] = await query<{ enriched: string; open: string }>(
      `SELECT (SELECT count(*) FROM alerts WHERE enriched_at IS NOT NULL) AS enriched,
              (SELECT count(*) FROM pgboss.job WHERE name = 'enrich-alert' AND state NOT IN ('completed', 'failed', 'cancelled')) AS open`,
    );
    return row && Number(row.enriched) === ALERTS && Number(row.open) === 0 ? true : undefined;
  });

  const t3 = Date.now();
  // Every 202'd alert exists exactly once, and nothing else does.
  const alerts = await core.deps.db
    .selectFrom('alerts')
    .select(['id', 'uuid', 'enrichment_status', 'enrichment_summary'])
    .execute();
  expect(alerts.map((a) => a.uuid).sort()).toEqual([...accepted].sort());
  expect(new Set(accepted).size).toBe(ALERTS);
  // On failure: the per-provider tallies of the alerts that are not Enriched.
  expect(alerts.filter((a) => a.enrichment_status !== 'Enriched').map((a) => a.enrichment_summary)).toEqual([]);

  // One enrich-alert job per alert, completed on its first attempt.
  const jobs = await query<{ alert_id: string; state: string; retry_count: number; output: unknown }>(
    `SELECT data->>'alert_id' AS alert_id, state, retry_count, output FROM pgboss.job WHERE name = 'enrich-alert'`,
  );
  expect(jobs).toHaveLength(ALERTS);
  expect(new Set(jobs.map((j) => j.alert_id)).size).toBe(ALERTS);
  // On failure: why a job ran twice, as the workers logged it (a failed attempt or an orphan sweep).
  const retried = procs.all.flatMap((p) =>
    p.lines
      .filter((l) => /job failed|retrying jobs|listener lost|commit failed/.test(l))
      .map((l) => `${p.name}: ${l.slice(0, 600)}`),
  );
  expect(
    jobs.filter((j) => j.state !== 'completed' || j.retry_count !== 0),
    retried.join('\n'),
  ).toEqual([]);

  // One enrichment-completed event per alert.
  const events = await query<{ alert_id: string; n: string }>(
    `SELECT alert_id, count(*) AS n FROM activity_events WHERE event_type = 'alert_enrichment_completed' GROUP BY alert_id`,
  );
  expect(events).toHaveLength(ALERTS);
  expect(events.filter((e) => Number(e.n) !== 1)).toEqual([]);

  // Each alert was enriched by exactly one worker, once; the work was shared between the workers.
  const byWorker = workers.map((w) =>
    w
      .entries()
      .filter((l) => l.msg === 'alert enriched')
      .map((l) => Number(l.alert_id)),
  );
  const all = byWorker.flat();
  expect(all).toHaveLength(ALERTS);
  expect(new Set(all).size).toBe(ALERTS);
  expect(byWorker.filter((ids) => ids.length > 0).length).toBeGreaterThanOrEqual(2);

  // No double work outside either: each (provider, IP) was fetched once across all processes
  // (VirusTotal and AbuseIPDB enrich IPs): 20 shared + 300 unique values per provider.
  const stats = mock.stats();
  const values = [...SHARED_IPS, ...Array.from({ length: ALERTS }, (_, i) => uniqueIp(i))];
  for (const provider of ['virustotal', 'abuseipdb']) {
    const calls = Object.entries(stats.byValue).filter(([k]) => k.startsWith(`${provider}:`));
    expect(calls.filter(([, n]) => n !== 1)).toEqual([]);
    expect(calls.map(([k]) => k.slice(provider.length + 1)).sort()).toEqual([...values].sort());
  }

  await pool.end();
  process.stdout.write(
    `scaling: start ${t1 - t0} ms, ingest ${t2 - t1} ms, last enriched +${t3 - t2} ms; ` +
      `alerts per worker ${byWorker.map((ids) => ids.length).join(' / ')}; provider calls ${stats.requests}\n`,
  );
}, 180_000);
