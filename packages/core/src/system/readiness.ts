import { migrationNames } from '@calseta/db';
import { DEFAULT_MIGRATION_TABLE, sql } from 'kysely';
import type { CoreDeps } from '../infra/context.js';
import type { JobName } from '../infra/jobs/catalogue.js';
import { PGBOSS_SCHEMA_VERSION, QUEUE_SCHEMA } from '../infra/jobs/rows.js';
import { ProbeTimeout, withTimeout } from './health.js';

/** One check's answer: `ok`, or why not (fixed words and migration names: the probe is unauthenticated). */
export type CheckResult = { status: 'ok' } | { status: 'fail'; reason: string };

/** `/health/ready`: 200 when `status` is `ready`, else 503 with `failing` naming the checks that failed. */
export interface Readiness {
  status: 'ready' | 'not_ready';
  failing: string[];
  checks: Record<string, CheckResult>;
}

export interface ReadinessOptions {
  /** The queues this process must be taking jobs from (the worker: every queue). */
  consumes?: readonly JobName[];
}

/** `/health/live`: the process answers; no I/O, so a database outage never restarts it. */
export const LIVE = Object.freeze({ status: 'ok' as const });

const OK: CheckResult = Object.freeze({ status: 'ok' });
const fail = (reason: string): CheckResult => ({ status: 'fail', reason });
const UNDEFINED_TABLE = '42P01';

async function database(deps: Pick<CoreDeps, 'db'>): Promise<CheckResult> {
  await sql`SELECT 1`.execute(deps.db);
  return OK;
}

/** Every migration this build knows is recorded in the database (one applied by a newer build is fine). */
async function migrations(deps: Pick<CoreDeps, 'db'>): Promise<CheckResult> {
  let applied: Set<string>;
  try {
    const { rows } = await sql<{ name: string }>`SELECT name FROM ${sql.table(DEFAULT_MIGRATION_TABLE)}`.execute(
      deps.db,
    );
    applied = new Set(rows.map((r) => r.name));
  } catch (error) {
    if ((error as { code?: string }).code !== UNDEFINED_TABLE) throw error;
    applied = new Set();
  }
  const pending = migrationNames().filter((name) => !applied.has(name));
  return pending.length === 0 ? OK : fail(`pending: ${pending.join(', ')}`);
}

/** The queue's own connection answers and its schema is the version this build writes job rows for. */
async function queue(deps: Pick<CoreDeps, 'queue'>): Promise<CheckResult> {
  let rows: unknown[];
  try {
    ({ rows } = await deps.queue.boss.getDb().executeSql(`SELECT version FROM ${QUEUE_SCHEMA}.version`, []));
  } catch (error) {
    if ((error as { code?: string }).code !== UNDEFINED_TABLE) throw error;
    return fail('schema missing');
  }
  const version = (rows[0] as { version: number } | undefined)?.version;
  return version === PGBOSS_SCHEMA_VERSION ? OK : fail(`schema version ${version ?? 'missing'}`);
}

function consuming(deps: Pick<CoreDeps, 'queue'>, expected: readonly JobName[]): CheckResult {
  const running = new Set(deps.queue.consuming());
  const idle = expected.filter((name) => !running.has(name));
  return idle.length === 0 ? OK : fail(`not consuming: ${idle.join(', ')}`);
}

/** A check that threw or took too long fails with fixed words (no error text: it may name hosts). */
async function settle(check: () => Promise<CheckResult>): Promise<CheckResult> {
  try {
    return await withTimeout(check());
  } catch (error) {
    return fail(error instanceof ProbeTimeout ? 'timed out' : 'unreachable');
  }
}

/**
 * Can this process do its work now: the database answers, every migration is applied, the queue is
 * reachable and, for a worker, its job loops are running. Checks run at once, each bounded (2 s).
 */
export async function checkReadiness(
  deps: Pick<CoreDeps, 'db' | 'queue'>,
  options: ReadinessOptions = {},
): Promise<Readiness> {
  const entries: Array<[string, Promise<CheckResult>]> = [
    ['database', settle(() => database(deps))],
    ['migrations', settle(() => migrations(deps))],
    ['queue', settle(() => queue(deps))],
  ];
  if (options.consumes) entries.push(['consuming', Promise.resolve(consuming(deps, options.consumes))]);
  const checks = Object.fromEntries(await Promise.all(entries.map(async ([name, p]) => [name, await p] as const)));
  const failing = Object.keys(checks).filter((name) => checks[name]?.status !== 'ok');
  return { status: failing.length === 0 ? 'ready' : 'not_ready', failing, checks };
}

/** How long one readiness answer serves every probe (a flood of unauthenticated probes costs one check a second). */
const PROBE_REUSE_MS = 1_000;
const probes = new WeakMap<object, Map<string, { at: number; answer: Promise<Readiness> }>>();

/**
 * `checkReadiness` for the probe endpoints: concurrent probes share one check, and an answer is reused
 * for a second, so probes (unauthenticated on the API and MCP ports) can never take the pool's connections.
 */
export function probeReadiness(
  deps: Pick<CoreDeps, 'db' | 'queue'>,
  options: ReadinessOptions = {},
): Promise<Readiness> {
  const byOptions = probes.get(deps) ?? new Map();
  probes.set(deps, byOptions);
  const key = options.consumes?.join(',') ?? '';
  const last = byOptions.get(key);
  const now = Date.now();
  if (last && now - last.at < PROBE_REUSE_MS) return last.answer;
  const answer = checkReadiness(deps, options);
  byOptions.set(key, { at: now, answer });
  return answer;
}

/** The HTTP status of a readiness answer. */
export function readinessStatus(readiness: Readiness): 200 | 503 {
  return readiness.status === 'ready' ? 200 : 503;
}
