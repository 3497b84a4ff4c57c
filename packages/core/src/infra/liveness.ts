/**
 * Process liveness in Postgres, for recovering work a dead process held (jobs, shared enrichment
 * calls) without waiting for timeouts. Every process holds a session advisory lock
 * `(LIVENESS_LOCK_CLASS, its liveness id)` on its LISTEN connection (infra/notifications.ts) for as
 * long as it lives; Postgres releases it the moment that connection ends — the process exited or
 * was killed (`kill -9` closes its sockets; the server notices at once). So "the lock is not held"
 * means "the process is gone" (or cut off from the database, and then it cannot finish its work
 * either). pg-boss 10 records no owner for an active job; we record the liveness id instead.
 */
export const LIVENESS_LOCK_CLASS = 7_301_002;

/** A random positive 31-bit id (the lock's second key; printed in job rows and claims). */
export function newLivenessId(): number {
  return 1 + Math.floor(Math.random() * 0x7fff_fffe);
}

/**
 * SQL text: true when the process whose liveness id is the text expression `id` holds its lock now
 * (`id` is SQL, e.g. a column: never user input).
 */
export function livenessHeldSql(id: string): string {
  return `EXISTS (
    SELECT 1 FROM pg_locks l
    WHERE l.locktype = 'advisory' AND l.classid = ${LIVENESS_LOCK_CLASS}::oid AND l.objsubid = 2 AND l.granted
      AND l.objid::text = ${id}
      AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))`;
}
