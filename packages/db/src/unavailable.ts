/**
 * Errors that mean "the database cannot be reached right now, try again", not "the query is wrong".
 *
 * - Node network errors (`code`): the server is down, unresolvable or unreachable, or dropped us;
 *   `ENOENT` of a connect: no server behind the Unix socket's path.
 * - Postgres SQLSTATEs (`code`, https://www.postgresql.org/docs/current/errcodes-appendix.html):
 *   57P01 admin_shutdown, 57P02 crash_shutdown, 57P03 cannot_connect_now (starting up, shutting
 *   down, in recovery), 53300 too_many_connections, 08000/08001/08003/08004/08006 connection
 *   exceptions.
 * - node-postgres / pg-pool errors, which carry no code, by their fixed messages: a connection that
 *   ended (`Connection terminated…`), a client no longer usable after one, and the pool's wait for a
 *   free connection expiring.
 */
const UNAVAILABLE_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  '57P01',
  '57P02',
  '57P03',
  '53300',
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/** node-postgres and pg-pool message prefixes (their errors have no code). Compared, never used as patterns. */
const UNAVAILABLE_MESSAGES = [
  'Connection terminated', // …, … unexpectedly, … due to connection timeout
  'Client has encountered a connection error and is not queryable',
  'Client was closed and is not queryable',
  'timeout exceeded when trying to connect',
] as const;

/** How deep `cause` / `errors` chains are followed (a wrapped error, a Happy Eyeballs AggregateError). */
const MAX_DEPTH = 5;

/** Whether `error` (or an error it wraps) says the database is unavailable. */
export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > MAX_DEPTH) return false;
  const { code, message, cause, errors } = error as {
    code?: unknown;
    message?: unknown;
    cause?: unknown;
    errors?: unknown;
  };
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  // The Unix socket's file is gone (the server stopped): only a connect's ENOENT, not any file's.
  if (code === 'ENOENT' && (error as { syscall?: unknown }).syscall === 'connect') return true;
  if (typeof message === 'string' && UNAVAILABLE_MESSAGES.some((m) => message.startsWith(m))) return true;
  if (isDatabaseUnavailable(cause, depth + 1)) return true;
  return Array.isArray(errors) && errors.slice(0, 8).some((e) => isDatabaseUnavailable(e, depth + 1));
}
