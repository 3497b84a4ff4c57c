/**
 * Scaling out: api and worker are stateless, so any number of them run against one Postgres. Two
 * real API processes and three real worker processes (node --import tsx, as `pnpm dev` runs them)
 * share one database, started together after a one-shot `calseta migrate` as docker compose starts
 * them; 300 alerts are ingested across both APIs while one worker is stopped midway
 * (scale-in). Every 202'd alert exists once, was enriched exactly once (one job, no retry, one
 * completion event, one worker's log line), and no provider value was fetched twice.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { contextFor, createApiKey, createCore, createLogger, JobQueue, SYSTEM } from '@calseta/core';
import { createDb } from '@calseta/db';
import { createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import { type MockProvidersServer, mockProviderEnv, startMockProviders } from '@calseta/mock-providers';
import { afterAll, beforeAll, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const ALERTS = 300;
const SHARED_IPS = Array.from({ length: 20 }, (_, i) => `23.0.0.${i + 1}`);
const uniqueIp = (i: number) => `34.1.${(i >> 8) & 255}.${i & 255}`;
const DEADLINE_MS = 60_000;

interface Proc {
  name: string;
  child: ChildProcess;
  lines: string[];
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<number | string>;
}

const procs: Proc[] = [];
let database: TestDatabase;
let mock: MockProvidersServer;

function start(name: string, app: 'api' | 'worker' | 'cli', env: Record<string, string>, args: string[] = []): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', `apps/${app}/src/main.ts`, ...args], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  for (const stream of [child.stdout, child.stderr]) {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      lines.push(...parts.filter((l) => l.trim() !== ''));
    });
  }
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  const proc = { name, child, lines, exited };
  procs.push(proc);
  return proc;
}

/** Wait until `condition()` returns a value (not undefined), re-checking every `everyMs`; fail on deadline or a dead process. */
async function until<T>(
  what: string,
  condition: () => Promise<T | undefined> | T | undefined,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + DEADLINE_MS;
  for (;;) {
    const value = await condition();
    if (value !== undefined) return value;
    const dead = procs.find((p) => p.child.exitCode !== null && !stopped.has(p.name));
    if (dead) throw new Error(`${dead.name} exited (${dead.child.exitCode}):\n${dead.lines.slice(-15).join('\n')}`);
    if (Date.now() > deadline) {
      const tails = procs.map((p) => `--- ${p.name}\n${p.lines.slice(-8).join('\n')}`).join('\n');
      throw new Error(`timed out after ${DEADLINE_MS} ms waiting for ${what}\n${tails}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}
const stopped = new Set<string>();

function json(line: string): Record<string, unknown> | null {
  if (!line.startsWith('{')) return null;
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  mock = await startMockProviders();
}, 60_000);

afterAll(async () => {
  await Promise.all(
    procs.map(async (p) => {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }),
  );
  await mock?.close();
  await database?.drop();
});

it('2 APIs and 3 workers on one database: no alert lost, no job processed twice', async () => {
  // An admin key, made with core in this process (keys live in the shared database; the test
  // database is migrated, queue schema included, as `calseta migrate` leaves it).
  const { db, pool } = createDb({ url: database.url, max: 2, applicationName: 'calseta-scaling-test' });
  const query = async <T>(text: string): Promise<T[]> => (await pool.query(text)).rows as T[];
  const logger = createLogger({ service: 'test', level: 'silent' });
  const queue = new JobQueue({ url: database.url, logger, supervise: false, maxConnections: 1 });
  const deps = createCore({ db, queue, logger, config: { dedupWindowHours: 24, webhookSecrets: {} } });
  const { key } = await createApiKey(contextFor(deps, SYSTEM), { name: 'scaling', scopes: ['admin'] });
  const env: Record<string, string> = {
    DATABASE_URL: database.url,
    ENCRYPTION_KEY: randomBytes(32).toString('base64'),
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
  const migrate = start('migrate', 'cli', { DATABASE_URL: database.url }, ['migrate']);
  stopped.add('migrate');
  expect(await migrate.exited, migrate.lines.join('\n')).toBe(0);
  const apis = [start('api-1', 'api', apiEnv), start('api-2', 'api', apiEnv)];
  const workers = [1, 2, 3].map((n) => start(`worker-${n}`, 'worker', workerEnv));

  const urls = await Promise.all(
    apis.map((api) =>
      until(`${api.name} listening`, () => {
        const line = api.lines.map(json).find((l) => typeof l?.msg === 'string' && l.msg.includes('listening'));
        return line ? `http://127.0.0.1:${line.port as number}` : undefined;
      }),
    ),
  );
  await Promise.all(
    workers.map((w) =>
      until(`${w.name} started`, () =>
        w.lines.some((l) => json(l)?.msg === 'Calseta worker started') ? true : undefined,
      ),
    ),
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
  let scaledIn = false;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < ALERTS) {
        const i = next++;
        await ingestOne(i);
        // Scale in while work is under way: worker-3 drains its running jobs and exits cleanly.
        if (!scaledIn && accepted.length >= ALERTS / 3) {
          scaledIn = true;
          stopped.add('worker-3');
          workers[2]?.child.kill('SIGTERM');
        }
      }
    }),
  );
  expect(accepted).toHaveLength(ALERTS);
  const t2 = Date.now();
  expect(await workers[2]?.exited).toBe(0);

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
  const alerts = await database.db
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
  const retried = procs.flatMap((p) =>
    p.lines.filter((l) => /job failed|retrying jobs|listener lost/.test(l)).map((l) => `${p.name}: ${l.slice(0, 600)}`),
  );
  expect(jobs.filter((j) => j.state !== 'completed' || j.retry_count !== 0), retried.join('\n')).toEqual([]);

  // One enrichment-completed event per alert.
  const events = await query<{ alert_id: string; n: string }>(
    `SELECT alert_id, count(*) AS n FROM activity_events WHERE event_type = 'alert_enrichment_completed' GROUP BY alert_id`,
  );
  expect(events).toHaveLength(ALERTS);
  expect(events.filter((e) => Number(e.n) !== 1)).toEqual([]);

  // Each alert was enriched by exactly one worker, once; the work was shared between the workers.
  const byWorker = workers.map((w) =>
    w.lines
      .map(json)
      .filter((l) => l?.msg === 'alert enriched')
      .map((l) => Number(l?.alert_id)),
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

  await deps.enrichment.close();
  await deps.agentFetch.close();
  await deps.workflowFetch.close();
  await deps.approvalFetch.close();
  await db.destroy();
  process.stdout.write(
    `scaling: start ${t1 - t0} ms, ingest ${t2 - t1} ms, last enriched +${t3 - t2} ms; ` +
      `alerts per worker ${byWorker.map((ids) => ids.length).join(' / ')}; provider calls ${stats.requests}\n`,
  );
}, 180_000);
