/** pg-boss schema installed in the template, hence in every test database. */
export const TEST_PGBOSS_SCHEMA = 'pgboss';

/** `url` with its database (path) replaced by `database`. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}
