/**
 * 0027_verdict_refresh_no_key_lock — an alert's verdict refresh locks it `FOR NO KEY UPDATE`.
 *
 * 0025's `calseta_refresh_alert_verdicts` locked the alerts `FOR UPDATE`, which conflicts with the
 * `FOR KEY SHARE` that inserting a link takes on its alert (the foreign key). Two transactions
 * linking indicators to one alert (an analyst adding some while the pipeline commits the alert's
 * enrichment) each held that key-share lock and then waited for the other's to take `FOR UPDATE`:
 * a deadlock, one of them failed. The refresh writes no key column, so `FOR NO KEY UPDATE` — the lock
 * its own `UPDATE` takes — is enough: two refreshes of one alert still wait for each other (the later
 * one recomputes from the earlier's commit), and a link being inserted no longer blocks them. The
 * pipeline's commit locks its alerts the same way (packages/core/src/pipeline/commit-alert.ts).
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

/** An indicator verdict's weight, as 0014 ranks it. */
const RANK = sql.raw(
  `CASE i.malice WHEN 'Malicious' THEN 5 WHEN 'Suspicious' THEN 4 WHEN 'Benign' THEN 3 WHEN 'Context' THEN 2 WHEN 'Unknown' THEN 1 WHEN 'Pending' THEN 0 END`,
);

/** 0025's function, with `lock` as the alerts' row lock. */
async function refreshFunction(db: Kysely<any>, lock: 'FOR UPDATE' | 'FOR NO KEY UPDATE'): Promise<void> {
  await sql`
    CREATE OR REPLACE FUNCTION calseta_refresh_alert_verdicts(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM 1 FROM alerts WHERE id = ANY(ids) ORDER BY id ${sql.raw(lock)};
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
}

export async function up(db: Kysely<any>): Promise<void> {
  await refreshFunction(db, 'FOR NO KEY UPDATE');
}

export async function down(db: Kysely<any>): Promise<void> {
  await refreshFunction(db, 'FOR UPDATE');
}
