/**
 * 0018_incidents — related alerts grouped into incidents (issue 23).
 *
 * - `incidents`: one attack. `severity` is generated: the analyst's override, else the worst member's
 *   (`alerts_severity`, kept by core when members change). Status and classification mirror the
 *   alert's enums; a merged incident is Closed/Duplicate with `merged_into_id` set.
 * - `incident_alerts`: membership, one incident per alert (unique alert_id). `reason` says why
 *   (rule, values, the earlier alert matched); `pinned` marks an analyst's decision, which
 *   correlation never changes.
 * - `incident_correlation_keys`: the entity keys of each correlated alert (`i:<indicator id>`,
 *   `r:<rule id>:i:<indicator id>`, `g:<sha256 of the source's own group id>`), with the alert's
 *   time: candidates for a new alert are an index range on (key, occurred_at), bounded by its own keys.
 * - `incident_events`: the incident's timeline (shape of activity_events).
 * - `incident_findings`: agents' and analysts' findings on the incident.
 * - `calseta_refresh_incidents(ids)`: recounts incidents from their members (count, worst severity, first
 *   and last alert time); triggers call it when members leave (a deleted alert cascades) and when a
 *   member's severity or time changes (an analyst's patch, an escalating duplicate), so an incident's
 *   severity stays the worst of its alerts. The alerts trigger is per row and fires only when one of
 *   those two columns changed: other alert updates (enrichment) never run it.
 * - `alert_indicators (indicator_id, alert_id DESC)`: an indicator's newest links first, so the count
 *   of its alerts in a window (its prevalence) reads a bounded index range.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

/** AlertSeverity by weight, as in 0010 (a frozen copy: migrations never import application code). */
const rank = (column: string) =>
  sql.raw(
    `CASE ${column} WHEN 'Critical' THEN 5 WHEN 'High' THEN 4 WHEN 'Medium' THEN 3 WHEN 'Low' THEN 2 WHEN 'Informational' THEN 1 ELSE 0 END`,
  );

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE incidents (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid uuid NOT NULL DEFAULT gen_random_uuid(),
      title text NOT NULL,
      alerts_severity text NOT NULL DEFAULT 'Pending',
      severity_override text,
      severity text NOT NULL GENERATED ALWAYS AS (COALESCE(severity_override, alerts_severity)) STORED,
      status text NOT NULL DEFAULT 'Open',
      close_classification text,
      alert_count integer NOT NULL DEFAULT 0,
      first_alert_at timestamptz,
      last_alert_at timestamptz,
      merged_into_id bigint REFERENCES incidents (id) ON DELETE SET NULL,
      acknowledged_at timestamptz,
      triaged_at timestamptz,
      closed_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_incidents_uuid UNIQUE (uuid)
    )
  `.execute(db);
  await sql`CREATE INDEX ix_incidents_created_at_id ON incidents (created_at DESC, id DESC)`.execute(db);
  await sql`CREATE INDEX ix_incidents_status_created_at ON incidents (status, created_at DESC, id DESC)`.execute(db);
  await sql`CREATE INDEX ix_incidents_severity_created_at ON incidents (severity, created_at DESC, id DESC)`.execute(
    db,
  );
  await sql`CREATE INDEX ix_incidents_merged_into_id ON incidents (merged_into_id) WHERE merged_into_id IS NOT NULL`.execute(
    db,
  );

  await sql`
    CREATE TABLE incident_alerts (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
      alert_id bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
      reason jsonb NOT NULL DEFAULT '{}'::jsonb,
      pinned boolean NOT NULL DEFAULT false,
      added_by text NOT NULL DEFAULT 'correlation',
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_incident_alerts_alert_id UNIQUE (alert_id)
    )
  `.execute(db);
  await sql`CREATE INDEX ix_incident_alerts_incident_id ON incident_alerts (incident_id, alert_id)`.execute(db);

  await sql`
    CREATE TABLE incident_correlation_keys (
      key text NOT NULL,
      alert_id bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
      occurred_at timestamptz NOT NULL,
      PRIMARY KEY (key, alert_id)
    )
  `.execute(db);
  await sql`CREATE INDEX ix_incident_correlation_keys_key_time ON incident_correlation_keys (key, occurred_at DESC)`.execute(
    db,
  );
  await sql`CREATE INDEX ix_incident_correlation_keys_alert_id ON incident_correlation_keys (alert_id)`.execute(db);

  await sql`
    CREATE TABLE incident_events (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid uuid NOT NULL DEFAULT gen_random_uuid(),
      incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
      event_type text NOT NULL,
      actor_type text NOT NULL,
      actor_key_prefix text,
      actor_key_name text,
      api_key_id bigint,
      request_id text,
      alert_id bigint,
      "references" jsonb NOT NULL DEFAULT '{}'::jsonb,
      created_at timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  await sql`CREATE INDEX ix_incident_events_incident_id ON incident_events (incident_id, created_at, id)`.execute(db);

  await sql`
    CREATE TABLE incident_findings (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid uuid NOT NULL DEFAULT gen_random_uuid(),
      incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
      agent_name text NOT NULL,
      summary text NOT NULL,
      confidence text,
      recommended_action text,
      evidence jsonb,
      posted_by jsonb,
      posted_at timestamptz NOT NULL DEFAULT now(),
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now()
    )
  `.execute(db);
  await sql`CREATE INDEX ix_incident_findings_incident_id ON incident_findings (incident_id, posted_at, id)`.execute(
    db,
  );
  await sql`CREATE INDEX ix_alert_indicators_indicator_id_alert_id ON alert_indicators (indicator_id, alert_id DESC)`.execute(
    db,
  );
  await sql`
    CREATE FUNCTION calseta_refresh_incidents(ids bigint[]) RETURNS void LANGUAGE sql AS $$
      UPDATE incidents i SET
        alert_count = agg.n,
        alerts_severity = agg.severity,
        first_alert_at = agg.first_at,
        last_alert_at = agg.last_at
      FROM (
        SELECT ids.id, count(a.id)::integer AS n,
               (ARRAY['Pending','Informational','Low','Medium','High','Critical'])[coalesce(max(${rank('a.severity')}), 0) + 1] AS severity,
               min(a.occurred_at) AS first_at, max(a.occurred_at) AS last_at
        FROM unnest(ids) AS ids(id)
        LEFT JOIN incident_alerts m ON m.incident_id = ids.id
        LEFT JOIN alerts a ON a.id = m.alert_id
        GROUP BY ids.id
      ) agg
      WHERE i.id = agg.id
        AND (i.alert_count, i.alerts_severity, i.first_alert_at, i.last_alert_at)
            IS DISTINCT FROM (agg.n, agg.severity, agg.first_at, agg.last_at)
    $$
  `.execute(db);
  await sql`
    CREATE FUNCTION calseta_incident_members_left() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM calseta_refresh_incidents(ARRAY(SELECT DISTINCT incident_id FROM old_members ORDER BY 1));
      RETURN NULL;
    END $$
  `.execute(db);
  await sql`
    CREATE TRIGGER trg_incident_alerts_delete_refresh AFTER DELETE ON incident_alerts
    REFERENCING OLD TABLE AS old_members FOR EACH STATEMENT EXECUTE FUNCTION calseta_incident_members_left()
  `.execute(db);
  await sql`
    CREATE FUNCTION calseta_incident_member_changed() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      PERFORM calseta_refresh_incidents(ARRAY(SELECT incident_id FROM incident_alerts WHERE alert_id = NEW.id));
      RETURN NULL;
    END $$
  `.execute(db);
  await sql`
    CREATE TRIGGER trg_alerts_incident_refresh AFTER UPDATE OF severity, occurred_at ON alerts
    FOR EACH ROW WHEN (OLD.severity IS DISTINCT FROM NEW.severity OR OLD.occurred_at IS DISTINCT FROM NEW.occurred_at)
    EXECUTE FUNCTION calseta_incident_member_changed()
  `.execute(db);
  for (const table of ['incidents', 'incident_alerts', 'incident_findings']) {
    await sql`
      CREATE TRIGGER ${sql.raw(`trg_${table}_touch_updated_at`)}
      BEFORE UPDATE ON ${sql.table(table)}
      FOR EACH ROW EXECUTE FUNCTION calseta_touch_updated_at()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TRIGGER trg_alerts_incident_refresh ON alerts`.execute(db);
  await sql`DROP FUNCTION calseta_incident_member_changed()`.execute(db);
  await sql`DROP INDEX ix_alert_indicators_indicator_id_alert_id`.execute(db);
  await sql`DROP TABLE incident_findings`.execute(db);
  await sql`DROP TABLE incident_events`.execute(db);
  await sql`DROP TABLE incident_correlation_keys`.execute(db);
  await sql`DROP TABLE incident_alerts`.execute(db);
  await sql`DROP TABLE incidents`.execute(db);
  await sql`DROP FUNCTION calseta_incident_members_left()`.execute(db);
  await sql`DROP FUNCTION calseta_refresh_incidents(bigint[])`.execute(db);
}
