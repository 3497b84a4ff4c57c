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
 * - `alert_indicators (indicator_id, alert_id DESC)`: an indicator's newest links first, so the count
 *   of its alerts in a window (its prevalence) reads a bounded index range.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

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
  for (const table of ['incidents', 'incident_alerts', 'incident_findings']) {
    await sql`
      CREATE TRIGGER ${sql.raw(`trg_${table}_touch_updated_at`)}
      BEFORE UPDATE ON ${sql.table(table)}
      FOR EACH ROW EXECUTE FUNCTION calseta_touch_updated_at()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP INDEX ix_alert_indicators_indicator_id_alert_id`.execute(db);
  await sql`DROP TABLE incident_findings`.execute(db);
  await sql`DROP TABLE incident_events`.execute(db);
  await sql`DROP TABLE incident_correlation_keys`.execute(db);
  await sql`DROP TABLE incident_alerts`.execute(db);
  await sql`DROP TABLE incidents`.execute(db);
}
