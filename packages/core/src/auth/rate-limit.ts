import type { Db } from '@calseta/db';
import { sql } from 'kysely';

/** The reference's rate-limit classes (requests per key, or per client IP, per window). */
export type RateLimitClass = 'authenticated' | 'ingest' | 'enrichment' | 'workflow_execute' | 'unauthenticated';

export interface RateLimitConfig {
  /** Requests per window per class. 0 switches a class off. */
  limits: Readonly<Record<RateLimitClass, number>>;
  /** Fixed window length; default 60 s. */
  windowSeconds?: number;
}

export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets (≥ 1). */
  resetSeconds: number;
  count: number;
}

const PRUNE_EVERY_MS = 60_000;
const lastPrune = new WeakMap<object, number>();

/** Forget finished windows now and then (fire and forget; the table is UNLOGGED and small). */
function prune(db: Db, windowSeconds: number): void {
  const now = Date.now();
  if (now - (lastPrune.get(db) ?? 0) < PRUNE_EVERY_MS) return;
  lastPrune.set(db, now);
  sql`DELETE FROM rate_limit_buckets WHERE window_start < now() - make_interval(secs => ${windowSeconds * 2})`
    .execute(db)
    .catch(() => lastPrune.set(db, 0));
}

/** The statement counting one hit in `bucket`'s current fixed window, returning the new count. */
export function hitStatement(bucket: string, windowSeconds: number) {
  return sql`
    INSERT INTO rate_limit_buckets AS b (bucket, window_start, count)
    VALUES (${bucket}, to_timestamp(floor(extract(epoch FROM now()) / ${windowSeconds}) * ${windowSeconds}), 1)
    ON CONFLICT (bucket, window_start) DO UPDATE SET count = b.count + 1
    RETURNING count, greatest(1, ceil(extract(epoch FROM (window_start + make_interval(secs => ${windowSeconds}) - now()))))::int AS reset`;
}

/**
 * Count one request against `bucket` and say whether it is within `limit`. One atomic upsert on
 * the shared table, so every API replica on the database enforces the same budget.
 */
export async function hitRateLimit(
  db: Db,
  bucket: string,
  limit: number,
  windowSeconds = 60,
): Promise<RateLimitResult> {
  const { rows } = await hitStatement(bucket, windowSeconds).execute(db);
  prune(db, windowSeconds);
  const row = rows[0] as { count: number; reset: number };
  return {
    allowed: row.count <= limit,
    limit,
    remaining: Math.max(0, limit - row.count),
    resetSeconds: row.reset,
    count: row.count,
  };
}

/** Which class a request falls in, by method and route pattern (reference §2.2 RL column). */
export function rateLimitClassOf(method: string, route: string): RateLimitClass {
  if (method === 'POST') {
    if (route.startsWith('/v1/ingest/') || route === '/v1/alerts') return 'ingest';
    if (
      route === '/v1/enrichments' ||
      /^\/v1\/alerts\/[^/]+\/enrich$/.test(route) ||
      /^\/v1\/enrichment-providers\/[^/]+\/test$/.test(route)
    ) {
      return 'enrichment';
    }
    if (/^\/v1\/workflows\/[^/]+\/execute$/.test(route)) return 'workflow_execute';
  }
  return 'authenticated';
}
