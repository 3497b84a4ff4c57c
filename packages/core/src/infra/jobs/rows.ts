import { type RawBuilder, sql } from 'kysely';

/** Where pg-boss keeps its tables. */
export const QUEUE_SCHEMA = 'pgboss';

/** Channel on which senders announce committed jobs (payload: the queue name); working processes LISTEN on it. */
export const WAKE_CHANNEL = 'calseta_jobs';

/**
 * pg-boss schema version the SQL below writes for. `JobQueue.start()` refuses to run against any
 * other, so a pg-boss upgrade cannot silently break job rows written here.
 */
export const PGBOSS_SCHEMA_VERSION = 24;

/**
 * An INSERT of `enrich-alert` jobs (one per `alert_id` row of `alerts`, with the `traceparent` of the
 * request that ingested it, or null: see JobQueue.send), for use inside a larger
 * statement so an alert and its job are written by the same statement. Mirrors pg-boss's own
 * `insert()` for our queues: retry, expiry and retention come from the queue row.
 */
export function enrichJobRows(alerts: RawBuilder<unknown>) {
  const schema = sql.raw(QUEUE_SCHEMA);
  return sql`
    INSERT INTO ${schema}.job (name, data, retry_limit, retry_delay, retry_backoff, expire_in, keep_until, policy, dead_letter)
    SELECT q.name, jsonb_strip_nulls(jsonb_build_object('alert_id', s.alert_id, 'reason', 'ingest', 'traceparent', s.traceparent)),
           COALESCE(q.retry_limit, 2),
           CASE WHEN COALESCE(q.retry_backoff, false) THEN GREATEST(COALESCE(q.retry_delay, 0), 1)
                ELSE COALESCE(q.retry_delay, 0) END,
           COALESCE(q.retry_backoff, false),
           COALESCE(q.expire_seconds * interval '1 second', interval '15 minutes'),
           now() + COALESCE(q.retention_minutes * interval '1 minute', interval '14 days'),
           q.policy, q.dead_letter
    FROM (${alerts}) s CROSS JOIN ${schema}.queue q
    WHERE q.name = 'enrich-alert'`;
}

/**
 * The NOTIFY waking every process's `enrich-alert` workers, for use inside the statement that
 * inserts jobs (`jobs`: any member with a row per job): Postgres delivers it when that transaction
 * commits — no statement after the commit, and nothing announced when nothing was inserted.
 */
export function wakeEnrichWorkers(jobs: RawBuilder<unknown>) {
  return sql`SELECT pg_notify(${WAKE_CHANNEL}, 'enrich-alert') AS woken WHERE EXISTS (SELECT 1 FROM ${jobs})`;
}
