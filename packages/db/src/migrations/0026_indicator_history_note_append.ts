/**
 * 0026_indicator_history_note_append — 0024's note is appended to, and grouped when read.
 *
 * 0024 kept `indicator_history` exact with a transaction-local note (`calseta.indicator_history`)
 * merged at every statement: the whole note re-read and re-aggregated, quadratic in the statements
 * of one transaction (2,000 single-link statements: 19.9 s) and, its alert trigger being per row, in
 * the rows of one `UPDATE alerts SET occurred_at`. And with `SET CONSTRAINTS ALL IMMEDIATE` the apply
 * trigger (per row) fired before the statement-level triggers that write the note: nothing applied.
 *
 * - The note is text: JSON objects (numbers, timestamps, booleans) separated by commas, each
 *   statement's delta appended as it comes (no parsing of what is there). Reading or writing a setting
 *   copies it whole, so the appended tail stays under 4 kB: a longer one is sealed first as a chunk of
 *   its own (`calseta.indicator_history_<k>`, k up to `calseta.indicator_history_chunks`; the tail is
 *   never empty while the note is not). `calseta_indicator_history_pending()` reads chunks and tail as
 *   one array and groups by indicator: links added summed, the earliest first, the latest last, a
 *   recount if any entry asks one. All `set_config(..., true)`: a savepoint rolled back restores them.
 * - `calseta_indicator_history_flush()` applies the note as 0024's apply did (one upsert in indicator
 *   id order; a recount in a later statement than its lock) and empties it. The deferred apply
 *   trigger calls it; an apply that finds the note empty marks the transaction
 *   (`calseta.indicator_history_immediate`): it fired before its statement's note — the constraint
 *   made IMMEDIATE — so the note function flushes once it has appended, and clears the mark. Back to
 *   DEFERRED, notes wait for the commit again (a mark left by a firing with no note after it, e.g.
 *   `SET CONSTRAINTS ALL IMMEDIATE` running the pending events, flushes the next statement's note early:
 *   exact still, the rows locked from then on).
 * - An alert's time changed: one delta per statement, from transition tables (only rows whose
 *   `occurred_at` changed). Postgres refuses transition tables on `UPDATE OF <column>`, and capturing is
 *   cheap but a plpgsql call per `UPDATE alerts` (every enrichment, every duplicate) is not: a BEFORE ROW
 *   trigger on `UPDATE OF occurred_at` with the time changed marks the transaction
 *   (`calseta.indicator_history_times`); the statement trigger runs only when the mark is there (its
 *   WHEN is evaluated once the statement's rows are done). The mark stays for the transaction: a later
 *   update of alerts reads its own transition tables, no change is ever left out.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

const NOTE_COLUMNS = sql.raw('(id bigint, n integer, first timestamptz, last timestamptz, recount boolean)');
/** A tail longer than this is sealed as a chunk before the next append. */
const CHUNK_BYTES = sql.raw('4096');
/** A statement's delta: its changes per indicator, as note entries. */
const ADDED = sql.raw(
  `string_agg(json_build_object('id', id, 'n', n, 'first', first, 'last', last, 'recount', false)::text, ',')`,
);
const RECOUNT = sql.raw(`string_agg(json_build_object('id', id, 'recount', true)::text, ',')`);

export async function up(db: Kysely<any>): Promise<void> {
  // The note read: its entries (the sealed chunks, then the tail) grouped by indicator. plpgsql: its
  // plan is kept, a reader's statement plans a function scan.
  await sql`
    CREATE FUNCTION calseta_indicator_history_pending()
    RETURNS TABLE (id bigint, n integer, first timestamptz, last timestamptz, recount boolean)
    LANGUAGE plpgsql STABLE AS $$
    DECLARE
      note text := coalesce(current_setting('calseta.indicator_history', true), '');
      chunks integer := nullif(current_setting('calseta.indicator_history_chunks', true), '')::integer;
    BEGIN
      IF chunks IS NOT NULL THEN
        note := concat_ws(',',
          (SELECT string_agg(current_setting('calseta.indicator_history_' || c, true), ',') FROM generate_series(1, chunks) c),
          nullif(note, ''));
      END IF;
      RETURN QUERY
        SELECT p.id, sum(p.n)::integer, min(p.first), max(p.last), bool_or(p.recount)
        FROM json_to_recordset(('[' || note || ']')::json) AS p${NOTE_COLUMNS}
        GROUP BY p.id;
    END $$
  `.execute(db);

  await sql`
    CREATE FUNCTION calseta_indicator_history_note(entries text) RETURNS void LANGUAGE plpgsql AS $$
    DECLARE
      tail text := coalesce(current_setting('calseta.indicator_history', true), '');
      sealed integer;
    BEGIN
      IF coalesce(entries, '') = '' THEN
        RETURN;
      END IF;
      -- Reading or writing a setting copies it whole: the tail is kept short, a long one sealed.
      IF octet_length(tail) + octet_length(entries) > ${CHUNK_BYTES} AND tail <> '' THEN
        sealed := coalesce(nullif(current_setting('calseta.indicator_history_chunks', true), '')::integer, 0) + 1;
        PERFORM set_config('calseta.indicator_history_' || sealed, tail, true);
        PERFORM set_config('calseta.indicator_history_chunks', sealed::text, true);
        tail := '';
      END IF;
      PERFORM set_config('calseta.indicator_history', CASE WHEN tail = '' THEN entries ELSE tail || ',' || entries END, true);
      -- This statement's apply events have fired already (constraints immediate): apply it now.
      IF current_setting('calseta.indicator_history_immediate', true) = 'on' THEN
        PERFORM set_config('calseta.indicator_history_immediate', '', true);
        PERFORM calseta_indicator_history_flush();
      END IF;
    END $$
  `.execute(db);

  await sql`
    CREATE OR REPLACE FUNCTION calseta_indicator_links_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE entries text;
    BEGIN
      IF TG_OP = 'INSERT' THEN
        SELECT ${ADDED} INTO entries
        FROM (
          SELECT l.indicator_id AS id, count(*) AS n, min(a.occurred_at) AS first, max(a.occurred_at) AS last
          FROM new_links l JOIN alerts a ON a.id = l.alert_id
          GROUP BY l.indicator_id
        ) added;
      ELSIF TG_OP = 'DELETE' THEN
        SELECT ${RECOUNT} INTO entries
        FROM (SELECT DISTINCT indicator_id AS id FROM old_links) removed;
      ELSE
        SELECT ${RECOUNT} INTO entries
        FROM (
          SELECT o.indicator_id AS id FROM old_links o JOIN new_links n ON n.id = o.id
          WHERE (o.alert_id, o.indicator_id) IS DISTINCT FROM (n.alert_id, n.indicator_id)
          UNION
          SELECT n.indicator_id FROM old_links o JOIN new_links n ON n.id = o.id
          WHERE (o.alert_id, o.indicator_id) IS DISTINCT FROM (n.alert_id, n.indicator_id)
        ) moved;
      END IF;
      PERFORM calseta_indicator_history_note(entries);
      RETURN NULL;
    END $$
  `.execute(db);
  await sql`DROP FUNCTION calseta_indicator_history_note(jsonb)`.execute(db);

  await sql`
    CREATE FUNCTION calseta_indicator_history_flush() RETURNS void LANGUAGE plpgsql AS $$
    DECLARE recounted bigint[];
    BEGIN
      IF coalesce(current_setting('calseta.indicator_history', true), '') = '' THEN
        RETURN;
      END IF;
      -- Every indicator of the note locked in id order (a missing one created empty: 0 alerts, times
      -- that any real one replaces), what was added counted in.
      WITH note AS MATERIALIZED (SELECT * FROM calseta_indicator_history_pending()), applied AS (
        INSERT INTO indicator_history AS h (indicator_id, alert_count, first_seen, last_seen)
        SELECT id,
               CASE WHEN recount THEN 0 ELSE n END,
               CASE WHEN recount THEN 'infinity' ELSE first END,
               CASE WHEN recount THEN '-infinity' ELSE last END
        FROM note
        ORDER BY id
        ON CONFLICT (indicator_id) DO UPDATE SET
          alert_count = h.alert_count + excluded.alert_count,
          first_seen = least(h.first_seen, excluded.first_seen),
          last_seen = greatest(h.last_seen, excluded.last_seen)
      )
      SELECT array_agg(id) INTO recounted FROM note WHERE recount;
      PERFORM set_config('calseta.indicator_history', '', true);
      IF coalesce(current_setting('calseta.indicator_history_chunks', true), '') <> '' THEN
        PERFORM set_config('calseta.indicator_history_chunks', '', true);
      END IF;
      IF recounted IS NOT NULL THEN
        -- A new statement, a new snapshot: the links of transactions we waited on are counted.
        UPDATE indicator_history h SET (alert_count, first_seen, last_seen) = (
          SELECT count(*)::integer, coalesce(min(a.occurred_at), 'infinity'), coalesce(max(a.occurred_at), '-infinity')
          FROM alert_indicators l JOIN alerts a ON a.id = l.alert_id
          WHERE l.indicator_id = h.indicator_id)
        WHERE h.indicator_id = ANY(recounted);
        DELETE FROM indicator_history WHERE indicator_id = ANY(recounted) AND alert_count = 0;
      END IF;
    END $$
  `.execute(db);

  // Deferred: at commit, the first of the transaction's events applies the whole note. Immediate: it
  // fires before its statement's note is written (AFTER ROW before AFTER STATEMENT) and marks that.
  await sql`
    CREATE OR REPLACE FUNCTION calseta_indicator_history_apply() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF coalesce(current_setting('calseta.indicator_history', true), '') <> '' THEN
        PERFORM calseta_indicator_history_flush();
      ELSIF current_setting('calseta.indicator_history_immediate', true) IS DISTINCT FROM 'on' THEN
        PERFORM set_config('calseta.indicator_history_immediate', 'on', true);
      END IF;
      RETURN NULL;
    END $$
  `.execute(db);

  await sql`
    CREATE OR REPLACE FUNCTION calseta_indicator_history_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM set_config('calseta.indicator_history', '', true);
      PERFORM set_config('calseta.indicator_history_chunks', '', true);
      TRUNCATE indicator_history;
      RETURN NULL;
    END $$
  `.execute(db);

  await sql`
    CREATE FUNCTION calseta_alert_time_marked() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF current_setting('calseta.indicator_history_times', true) IS DISTINCT FROM 'on' THEN
        PERFORM set_config('calseta.indicator_history_times', 'on', true);
      END IF;
      RETURN NEW;
    END $$
  `.execute(db);
  await sql`
    CREATE OR REPLACE FUNCTION calseta_alert_time_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE entries text;
    BEGIN
      SELECT ${RECOUNT} INTO entries
      FROM (
        SELECT DISTINCT l.indicator_id AS id
        FROM old_alerts o JOIN new_alerts n ON n.id = o.id JOIN alert_indicators l ON l.alert_id = n.id
        WHERE o.occurred_at IS DISTINCT FROM n.occurred_at
      ) moved;
      PERFORM calseta_indicator_history_note(entries);
      RETURN NULL;
    END $$
  `.execute(db);
  await sql`DROP TRIGGER trg_alerts_time_history ON alerts`.execute(db);
  await sql`
    CREATE TRIGGER trg_alerts_time_history_mark BEFORE UPDATE OF occurred_at ON alerts
    FOR EACH ROW WHEN (OLD.occurred_at IS DISTINCT FROM NEW.occurred_at) EXECUTE FUNCTION calseta_alert_time_marked()
  `.execute(db);
  await sql`
    CREATE TRIGGER trg_alerts_time_history AFTER UPDATE ON alerts
    REFERENCING OLD TABLE AS old_alerts NEW TABLE AS new_alerts FOR EACH STATEMENT
    WHEN (current_setting('calseta.indicator_history_times', true) = 'on') EXECUTE FUNCTION calseta_alert_time_changed()
  `.execute(db);

  // The history as this transaction sees it: stored rows plus its note (only indicators with a link).
  await sql`
    CREATE OR REPLACE FUNCTION calseta_indicator_history(ids bigint[])
    RETURNS TABLE (indicator_id bigint, alert_count integer, first_seen timestamptz, last_seen timestamptz)
    LANGUAGE sql STABLE AS $$
      SELECT x.id, v.n, v.first, v.last
      FROM unnest(ids) AS x(id)
      LEFT JOIN indicator_history h ON h.indicator_id = x.id
      LEFT JOIN calseta_indicator_history_pending() p ON p.id = x.id
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
}

/** 0024's functions and triggers, as it created them. */
const PENDING_0024 = sql.raw(`coalesce(nullif(current_setting('calseta.indicator_history', true), ''), '[]')::jsonb`);

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER trg_alerts_time_history ON alerts`.execute(db);
  await sql`DROP TRIGGER trg_alerts_time_history_mark ON alerts`.execute(db);
  await sql`DROP FUNCTION calseta_alert_time_marked()`.execute(db);
  await sql`
    CREATE OR REPLACE FUNCTION calseta_alert_time_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
  await sql`
    CREATE TRIGGER trg_alerts_time_history AFTER UPDATE OF occurred_at ON alerts
    FOR EACH ROW WHEN (OLD.occurred_at IS DISTINCT FROM NEW.occurred_at) EXECUTE FUNCTION calseta_alert_time_changed()
  `.execute(db);

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
            SELECT * FROM jsonb_to_recordset(${PENDING_0024}) AS p${NOTE_COLUMNS}
          ) notes
          GROUP BY id
        ) merged), true);
    END $$
  `.execute(db);
  await sql`
    CREATE OR REPLACE FUNCTION calseta_indicator_links_changed() RETURNS trigger LANGUAGE plpgsql AS $$
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
  await sql`DROP FUNCTION calseta_indicator_history_note(text)`.execute(db);
  await sql`
    CREATE OR REPLACE FUNCTION calseta_indicator_history_apply() RETURNS trigger LANGUAGE plpgsql AS $$
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
  await sql`DROP FUNCTION calseta_indicator_history_flush()`.execute(db);
  await sql`
    CREATE OR REPLACE FUNCTION calseta_indicator_history_truncated() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM set_config('calseta.indicator_history', '', true);
      TRUNCATE indicator_history;
      RETURN NULL;
    END $$
  `.execute(db);
  await sql`
    CREATE OR REPLACE FUNCTION calseta_indicator_history(ids bigint[])
    RETURNS TABLE (indicator_id bigint, alert_count integer, first_seen timestamptz, last_seen timestamptz)
    LANGUAGE sql STABLE AS $$
      SELECT x.id, v.n, v.first, v.last
      FROM unnest(ids) AS x(id)
      LEFT JOIN indicator_history h ON h.indicator_id = x.id
      LEFT JOIN jsonb_to_recordset(${PENDING_0024}) AS p${NOTE_COLUMNS} ON p.id = x.id
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
  await sql`DROP FUNCTION calseta_indicator_history_pending()`.execute(db);
}
