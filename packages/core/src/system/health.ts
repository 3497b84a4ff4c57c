import { sql } from 'kysely';
import type { CoreDeps } from '../infra/context.js';

const PROBE_TIMEOUT_MS = 2_000;

export class ProbeTimeout extends Error {
  constructor() {
    super('probe timed out');
  }
}

/** `promise`, or a ProbeTimeout after 2 s: a probe answers even when Postgres hangs. */
export function withTimeout<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ProbeTimeout()), PROBE_TIMEOUT_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export interface Health {
  status: 'ok' | 'down';
  version: string;
  database: 'ok' | 'error';
  queue: 'ok' | 'error';
  queue_depth: number | null;
  /** Active providers answering from the built-in mock (demo data: no real credential configured). */
  mocked_providers: string[];
}

/** Database and queue probes; `down` (503) only when the database does not answer. */
export async function checkHealth(
  deps: Pick<CoreDeps, 'db' | 'queue' | 'enrichment'>,
  version: string,
): Promise<Health> {
  const [database, depth, providers] = await Promise.allSettled([
    withTimeout(sql`SELECT 1`.execute(deps.db)),
    withTimeout(deps.queue.depth()),
    withTimeout(deps.enrichment.registry.active()),
  ]);
  const dbOk = database.status === 'fulfilled';
  return {
    status: dbOk ? 'ok' : 'down',
    version,
    database: dbOk ? 'ok' : 'error',
    queue: depth.status === 'fulfilled' ? 'ok' : 'error',
    queue_depth: depth.status === 'fulfilled' ? depth.value : null,
    mocked_providers:
      providers.status === 'fulfilled'
        ? providers.value.filter((p) => p.auth.source === 'mock').map((p) => p.definition.provider_name)
        : [],
  };
}

const running = new WeakMap<object, Map<string, Promise<Health>>>();

/**
 * `checkHealth` for the unauthenticated `/health`: concurrent requests share the check in flight, so
 * a flood costs one check at a time (one pooled connection, one count of the queue), never the pool.
 * Not reused once answered: a request after a change sees it (`queue_depth`, `mocked_providers`).
 */
export function probeHealth(deps: Pick<CoreDeps, 'db' | 'queue' | 'enrichment'>, version: string): Promise<Health> {
  const byVersion = running.get(deps) ?? new Map<string, Promise<Health>>();
  running.set(deps, byVersion);
  const inFlight = byVersion.get(version);
  if (inFlight) return inFlight;
  const answer = checkHealth(deps, version).finally(() => byVersion.delete(version));
  byVersion.set(version, answer);
  return answer;
}
