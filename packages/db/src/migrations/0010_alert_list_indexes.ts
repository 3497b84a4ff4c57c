/**
 * 0010_alert_list_indexes — every sort of `GET /v1/alerts` but title becomes an index walk.
 *
 * The list orders by its sort key, then `occurred_at, id`, all in one direction, so one btree whose
 * columns all share a direction serves a sort both ways (read backwards for `asc`) and stops after
 * offset + page_size entries, whatever the table size:
 *
 * - severity by weight: an index on the weight expression (identical to SEVERITY_RANK in
 *   packages/core/src/alerts/read.ts; the severity filter adds the matching weight condition);
 * - source_name: also serves the source filter (it had no index since 0004);
 * - status: replaces 0004's (status, occurred_at DESC, id DESC), whose mixed directions could not
 *   serve the status sort; filtering on one status works the same with either;
 * - created_at: (created_at DESC, id DESC) replaces (created_at DESC), so ties need no sort.
 *
 * See docs/adr/0007-alert-list-totals.md and docs/performance.md ("API reads").
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

const SEVERITY_RANK = sql.raw(
  "CASE severity WHEN 'Critical' THEN 5 WHEN 'High' THEN 4 WHEN 'Medium' THEN 3 WHEN 'Low' THEN 2 WHEN 'Informational' THEN 1 ELSE 0 END",
);

export async function up(db: Kysely<any>): Promise<void> {
  await sql`CREATE INDEX ix_alerts_severity_rank_occurred_at ON alerts ((${SEVERITY_RANK}) DESC, occurred_at DESC, id DESC)`.execute(
    db,
  );
  await sql`CREATE INDEX ix_alerts_source_name_occurred_at ON alerts (source_name DESC, occurred_at DESC, id DESC)`.execute(
    db,
  );
  await sql`DROP INDEX ix_alerts_status_occurred_at`.execute(db);
  await sql`CREATE INDEX ix_alerts_status_occurred_at ON alerts (status DESC, occurred_at DESC, id DESC)`.execute(db);
  await sql`DROP INDEX ix_alerts_created_at`.execute(db);
  await sql`CREATE INDEX ix_alerts_created_at_id ON alerts (created_at DESC, id DESC)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX ix_alerts_created_at_id`.execute(db);
  await sql`CREATE INDEX ix_alerts_created_at ON alerts (created_at DESC)`.execute(db);
  await sql`DROP INDEX ix_alerts_status_occurred_at`.execute(db);
  await sql`CREATE INDEX ix_alerts_status_occurred_at ON alerts (status, occurred_at DESC, id DESC)`.execute(db);
  await sql`DROP INDEX ix_alerts_source_name_occurred_at`.execute(db);
  await sql`DROP INDEX ix_alerts_severity_rank_occurred_at`.execute(db);
}
