/**
 * 0024_indicator_history — an indicator's history kept by the database: how many alerts carry the
 * value, when the earliest and the latest of them occurred.
 *
 * Every delivery's payload shows it (`alert_count`, `first_seen`, `last_seen`); counted from the
 * links, it read every link of the value: a scanner IP in 100,000 alerts made each delivery scan
 * 100,000 rows. `indicator_history` holds the three figures per indicator (a row exists while the
 * indicator has a link), exact for every writer — links inserted, deleted (an alert deleted
 * cascades), moved, truncated; an alert's `occurred_at` changed:
 *
 * - statement-level triggers (transition tables) note what changed in the transaction, in the
 *   transaction-local setting `calseta.indicator_history` (JSON: per indicator, links added with
 *   their earliest/latest time, or `recount`);
 * - a deferred constraint trigger applies the note when the transaction commits: one upsert in
 *   indicator id order (no deadlock between two committers), adding counts and widening the times;
 *   a recount (links removed, a time changed: a bound may have gone) reads the indicator's links by
 *   its index (`alert_indicators (indicator_id, alert_id DESC)`) joined to alerts by key, in a later
 *   statement than the lock, so it sees what the transactions it waited on committed (one pass over
 *   that value's links, paid by the transaction removing links — an alert deleted — never by a
 *   delivery). The trigger fires per changed link; the first firing applies the whole note, the
 *   others find it empty. A hot value (in every alert, two workers committing) is locked from the
 *   commit's deferred trigger to its end only: never while the rest of the transaction runs, never
 *   before another lock it could wait on (the table has no foreign key for that reason; the recount
 *   deletes an indicator's row with its last link);
 * - `calseta_indicator_history(ids)` reads the figures as this transaction sees them: the rows, plus
 *   the transaction's note (the pipeline builds its payload before committing its links).
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

/** The note: what this transaction changed, per indicator, not applied yet. */
const PENDING = sql.raw(`coalesce(nullif(current_setting('calseta.indicator_history', true), ''), '[]')::jsonb`);
const NOTE_COLUMNS = sql.raw('(id bigint, n integer, first timestamptz, last timestamptz, recount boolean)');

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE indicator_history (
      indicator_id bigint PRIMARY KEY,
      alert_count  integer NOT NULL,
      first_seen   timestamptz NOT NULL,
      last_seen    timestamptz NOT NULL
    ) WITH (fillfactor = 70)
  `.execute(db);

  // Merges `delta` (the note's shape, one entry per indicator) into the transaction's note.
  await sql`
    CREATE FUNCTION calseta_indicator_history_note(delta jsonb) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      IF coalesce(current_setting('calseta.indicator_history', true), '') = '' THEN
        PERFORM set_config('calseta.indicator_history', delta::text, true);
        RETURN;
      END IF;
      PERFORM set_config('calseta.indicator_history', (
        SELECT jsonb_agg(jsonb_build_object('id', id, 'n', n, 'first', first, 'last', last, 'recount', recount))::text
        FROM (
          SELECT id, sum(n)::integer AS n, min(first) AS first, max(last) AS last, bool_or(recount) AS recount
          FROM (
            SELECT * FROM jsonb_to_recordset(delta) AS d${NOTE_COLUMNS}
            UNION ALL
            SELECT * FROM jsonb_to_recordset(${PENDING}) AS p${NOTE_COLUMNS}
          ) notes
          GROUP BY id
        ) merged), true);
    END $$
  `.execute(db);

  await sql`
    CREATE FUNCTION calseta_indicator_links_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE delta jsonb;
    BEGIN
      IF TG_OP = 'INSERT' THEN
        SELECT jsonb_agg(jsonb_build_object('id', id, 'n', n, 'first', first, 'last', last, 'recount', false)) INTO delta
        FROM (
          SELECT l.indicator_id AS id, count(*) AS n, min(a.occurred_at) AS first, max(a.occurred_at) AS last
          FROM new_links l JOIN alerts a ON a.id = l.alert_id
          GROUP BY l.indicator_id
        ) added;
      ELSIF TG_OP = 'DELETE' THEN
        SELECT jsonb_agg(jsonb_build_object('id', id, 'recount', true)) INTO delta
        FROM (SELECT DISTINCT indicator_id AS id FROM old_links) removed;
      ELSE
        SELECT jsonb_agg(jsonb_build_object('id', id, 'recount', true)) INTO delta
        FROM (
          SELECT o.indicator_id AS id FROM old_links o JOIN new_links n ON n.id = o.id
          WHERE (o.alert_id, o.indicator_id) IS DISTINCT FROM (n.alert_id, n.indicator_id)
          UNION
          SELECT n.indicator_id FROM old_links o JOIN new_links n ON n.id = o.id
          WHERE (o.alert_id, o.indicator_id) IS DISTINCT FROM (n.alert_id, n.indicator_id)
        ) moved;
      END IF;
      IF delta IS NOT NULL THEN
        PERFORM calseta_indicator_history_note(delta);
      END IF;
      RETURN NULL;
    END $$
  `.execute(db);

  await sql`
    CREATE FUNCTION calseta_alert_time_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE delta jsonb;
    BEGIN
      SELECT jsonb_agg(jsonb_build_object('id', indicator_id, 'recount', true)) INTO delta
      FROM alert_indicators WHERE alert_id = NEW.id;
      IF delta IS NOT NULL THEN
        PERFORM calseta_indicator_history_note(delta);
      END IF;
      RETURN NULL;
    END $$
  `.execute(db);

  // At commit (deferred), once per transaction: the first of its events applies the whole note.
  await sql`
    CREATE FUNCTION calseta_indicator_history_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE
      pending jsonb := nullif(current_setting('calseta.indicator_history', true), '')::jsonb;
      recount bigint[];
    BEGIN
      IF pending IS NULL THEN
        RETURN NULL;
      END IF;
      PERFORM set_config('calseta.indicator_history', '', true);
      -- Every row of the note locked in id order (a missing one created empty: 0 alerts, times that
      -- any real one replaces), what was added counted in.
      INSERT INTO indicator_history AS h (indicator_id, alert_count, first_seen, last_seen)
      SELECT p.id,
             CASE WHEN p.recount THEN 0 ELSE p.n END,
             CASE WHEN p.recount THEN 'infinity' ELSE p.first END,
             CASE WHEN p.recount THEN '-infinity' ELSE p.last END
      FROM jsonb_to_recordset(pending) AS p${NOTE_COLUMNS}
      ORDER BY p.id
      ON CONFLICT (indicator_id) DO UPDATE SET
        alert_count = h.alert_count + excluded.alert_count,
        first_seen = least(h.first_seen, excluded.first_seen),
        last_seen = greatest(h.last_seen, excluded.last_seen);
      recount := ARRAY(SELECT p.id FROM jsonb_to_recordset(pending) AS p${NOTE_COLUMNS} WHERE p.recount);
      IF cardinality(recount) > 0 THEN
        -- A new statement, a new snapshot: the links of transactions we waited on are counted.
        UPDATE indicator_history h SET (alert_count, first_seen, last_seen) = (
          SELECT count(*)::integer, coalesce(min(a.occurred_at), 'infinity'), coalesce(max(a.occurred_at), '-infinity')
          FROM alert_indicators l JOIN alerts a ON a.id = l.alert_id
          WHERE l.indicator_id = h.indicator_id)
        WHERE h.indicator_id = ANY(recount);
        DELETE FROM indicator_history WHERE indicator_id = ANY(recount) AND alert_count = 0;
      END IF;
      RETURN NULL;
    END $$
  `.execute(db);

  await sql`
    CREATE FUNCTION calseta_indicator_history_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM set_config('calseta.indicator_history', '', true);
      TRUNCATE indicator_history;
      RETURN NULL;
    END $$
  `.execute(db);

  // The history as this transaction sees it: stored rows plus its note (only indicators with a link).
  await sql`
    CREATE FUNCTION calseta_indicator_history(ids bigint[])
    RETURNS TABLE (indicator_id bigint, alert_count integer, first_seen timestamptz, last_seen timestamptz)
    LANGUAGE sql STABLE AS $$
      SELECT x.id, v.n, v.first, v.last
      FROM unnest(ids) AS x(id)
      LEFT JOIN indicator_history h ON h.indicator_id = x.id
      LEFT JOIN jsonb_to_recordset(${PENDING}) AS p${NOTE_COLUMNS} ON p.id = x.id
      CROSS JOIN LATERAL (
        SELECT count(*)::integer AS n, min(a.occurred_at) AS first, max(a.occurred_at) AS last
        FROM alert_indicators l JOIN alerts a ON a.id = l.alert_id
        WHERE p.recount AND l.indicator_id = x.id
      ) r
      CROSS JOIN LATERAL (
        SELECT CASE WHEN p.recount THEN r.n ELSE coalesce(h.alert_count, 0) + coalesce(p.n, 0) END AS n,
               CASE WHEN p.recount THEN r.first ELSE least(h.first_seen, p.first) END AS first,
               CASE WHEN p.recount THEN r.last ELSE greatest(h.last_seen, p.last) END AS last
      ) v
      WHERE v.n > 0
    $$
  `.execute(db);

  for (const [op, transitions] of [
    ['insert', 'NEW TABLE AS new_links'],
    ['delete', 'OLD TABLE AS old_links'],
    ['update', 'OLD TABLE AS old_links NEW TABLE AS new_links'],
  ] as const) {
    await sql`
      CREATE TRIGGER ${sql.raw(`trg_alert_indicators_${op}_history`)} AFTER ${sql.raw(op.toUpperCase())} ON alert_indicators
      REFERENCING ${sql.raw(transitions)} FOR EACH STATEMENT EXECUTE FUNCTION calseta_indicator_links_changed()
    `.execute(db);
  }
  await sql`
    CREATE CONSTRAINT TRIGGER trg_alert_indicators_history_apply
    AFTER INSERT OR DELETE OR UPDATE OF alert_id, indicator_id ON alert_indicators
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION calseta_indicator_history_apply()
  `.execute(db);
  await sql`
    CREATE TRIGGER trg_alert_indicators_truncate_history AFTER TRUNCATE ON alert_indicators
    FOR EACH STATEMENT EXECUTE FUNCTION calseta_indicator_history_truncated()
  `.execute(db);
  // Per row, only when the time changed: other alert updates (enrichment) never run them.
  await sql`
    CREATE TRIGGER trg_alerts_time_history AFTER UPDATE OF occurred_at ON alerts
    FOR EACH ROW WHEN (OLD.occurred_at IS DISTINCT FROM NEW.occurred_at) EXECUTE FUNCTION calseta_alert_time_changed()
  `.execute(db);
  await sql`
    CREATE CONSTRAINT TRIGGER trg_alerts_time_history_apply AFTER UPDATE OF occurred_at ON alerts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (OLD.occurred_at IS DISTINCT FROM NEW.occurred_at)
    EXECUTE FUNCTION calseta_indicator_history_apply()
  `.execute(db);

  // After the triggers: links committed from here on wait for this transaction; the backfill sees the rest.
  await sql`
    INSERT INTO indicator_history (indicator_id, alert_count, first_seen, last_seen)
    SELECT l.indicator_id, count(*), min(a.occurred_at), max(a.occurred_at)
    FROM alert_indicators l JOIN alerts a ON a.id = l.alert_id
    GROUP BY l.indicator_id
  `.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER trg_alerts_time_history_apply ON alerts`.execute(db);
  await sql`DROP TRIGGER trg_alerts_time_history ON alerts`.execute(db);
  for (const trigger of [
    'trg_alert_indicators_truncate_history',
    'trg_alert_indicators_history_apply',
    'trg_alert_indicators_update_history',
    'trg_alert_indicators_delete_history',
    'trg_alert_indicators_insert_history',
  ]) {
    await sql`DROP TRIGGER ${sql.raw(trigger)} ON alert_indicators`.execute(db);
  }
  await sql`DROP FUNCTION calseta_indicator_history(bigint[])`.execute(db);
  await sql`DROP FUNCTION calseta_indicator_history_truncated()`.execute(db);
  await sql`DROP FUNCTION calseta_indicator_history_apply()`.execute(db);
  await sql`DROP FUNCTION calseta_alert_time_changed()`.execute(db);
  await sql`DROP FUNCTION calseta_indicator_links_changed()`.execute(db);
  await sql`DROP FUNCTION calseta_indicator_history_note(jsonb)`.execute(db);
  await sql`DROP TABLE indicator_history`.execute(db);
}
