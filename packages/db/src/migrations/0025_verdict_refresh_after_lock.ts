/**
 * 0025_verdict_refresh_after_lock — an alert's verdict columns are computed after its row is locked.
 *
 * 0014's `calseta_refresh_alert_verdicts` was one SQL statement: lock the alerts (`FOR UPDATE`) and
 * aggregate their links in the same query. Under READ COMMITTED a statement keeps the snapshot it
 * started with: when the lock waited on another transaction (a link added, an indicator's verdict
 * changed — whose own refresh held the alert), the locked row was re-read after the wait but the
 * links and verdicts were still read as they stood before it, and the stale rank overwrote the
 * right one (a Malicious indicator linked, the alert still Benign until the next change).
 *
 * Now plpgsql, two statements: the lock (same rows, same id order: no new deadlock), then the
 * aggregate and update, whose snapshot is taken once the lock is held. 0023's `deferred` guard lives
 * in the trigger functions, untouched. Rows the old body left stale are recomputed once.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

/** An indicator verdict's weight, as 0014 ranks it. */
const RANK = sql.raw(
  `CASE i.malice WHEN 'Malicious' THEN 5 WHEN 'Suspicious' THEN 4 WHEN 'Benign' THEN 3 WHEN 'Context' THEN 2 WHEN 'Unknown' THEN 1 WHEN 'Pending' THEN 0 END`,
);

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION calseta_refresh_alert_verdicts(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM 1 FROM alerts WHERE id = ANY(ids) ORDER BY id FOR UPDATE;
      -- A new statement, a new snapshot: it sees what the transactions we waited on committed.
      UPDATE alerts a SET indicators_malice_rank = v.worst, indicator_count = v.n
      FROM (
        SELECT l.id, COALESCE(max(${RANK}), 0)::integer AS worst, count(ai.id)::integer AS n
        FROM unnest(ids) AS l(id)
        LEFT JOIN alert_indicators ai ON ai.alert_id = l.id
        LEFT JOIN indicators i ON i.id = ai.indicator_id
        GROUP BY l.id
      ) v
      WHERE a.id = v.id AND (a.indicators_malice_rank, a.indicator_count) IS DISTINCT FROM (v.worst, v.n);
    END $$
  `.execute(db);
  // Alerts the old body left stale (only those rows are written; one pass over the tables).
  await sql`
    UPDATE alerts a SET indicators_malice_rank = v.worst, indicator_count = v.n
    FROM (
      SELECT l.id, COALESCE(max(${RANK}), 0)::integer AS worst, count(ai.id)::integer AS n
      FROM alerts l
      LEFT JOIN alert_indicators ai ON ai.alert_id = l.id
      LEFT JOIN indicators i ON i.id = ai.indicator_id
      GROUP BY l.id
    ) v
    WHERE a.id = v.id AND (a.indicators_malice_rank, a.indicator_count) IS DISTINCT FROM (v.worst, v.n)
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION calseta_refresh_alert_verdicts(ids bigint[]) RETURNS void LANGUAGE sql AS $$
      WITH locked AS (SELECT id FROM alerts WHERE id = ANY(ids) ORDER BY id FOR UPDATE),
      agg AS (
        SELECT l.id,
               COALESCE(max(${RANK}), 0)::integer AS worst,
               count(ai.id)::integer AS n
        FROM locked l
        LEFT JOIN alert_indicators ai ON ai.alert_id = l.id
        LEFT JOIN indicators i ON i.id = ai.indicator_id
        GROUP BY l.id
      )
      UPDATE alerts a SET indicators_malice_rank = agg.worst, indicator_count = agg.n
      FROM agg
      WHERE a.id = agg.id AND (a.indicators_malice_rank, a.indicator_count) IS DISTINCT FROM (agg.worst, agg.n)
    $$
  `.execute(db);
}
