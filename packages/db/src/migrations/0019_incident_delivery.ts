/**
 * 0019_incident_delivery — agents that work per incident (issue 23).
 *
 * - `agent_registrations.delivery_mode`: `alert` (one delivery per alert, as before) or `incident`
 *   (one delivery when an incident opens, then debounced updates as alerts join).
 * - `incident_delivery_cursors`: per (incident, agent), whether a `deliver-incident` job is scheduled
 *   and has not yet cut its revision (`due_at`). Alerts that join meanwhile ride on that job: that is
 *   the debounce, and why a storm costs a few deliveries instead of one per alert.
 * - `incident_deliveries`: one row per revision delivered to an agent, unique on (incident, agent,
 *   revision): the members it covers (`alert_ids`, a JSON array of alert ids) and those new since the
 *   previous revision (`added_alert_ids`), the idempotency key (the same for every attempt of the revision), every
 *   attempt, and the liveness id of the process making the current one (`claimed_by`), so a crashed
 *   attempt is retried at once instead of after its lease.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    ALTER TABLE agent_registrations
      ADD COLUMN delivery_mode text NOT NULL DEFAULT 'alert',
      ADD CONSTRAINT ck_agent_registrations_delivery_mode CHECK (delivery_mode IN ('alert', 'incident'))`.execute(db);
  await sql`
    CREATE TABLE incident_delivery_cursors (
      incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
      agent_registration_id bigint NOT NULL REFERENCES agent_registrations (id) ON DELETE CASCADE,
      due_at timestamptz,
      PRIMARY KEY (incident_id, agent_registration_id)
    )`.execute(db);
  await sql`
    CREATE INDEX ix_incident_delivery_cursors_agent ON incident_delivery_cursors (agent_registration_id)`.execute(db);
  await sql`
    CREATE TABLE incident_deliveries (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid uuid NOT NULL DEFAULT gen_random_uuid(),
      incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
      agent_registration_id bigint NOT NULL REFERENCES agent_registrations (id) ON DELETE CASCADE,
      revision integer NOT NULL,
      event text NOT NULL,
      idempotency_key text NOT NULL,
      alert_ids jsonb NOT NULL,
      added_alert_ids jsonb NOT NULL,
      status text NOT NULL DEFAULT 'pending',
      attempt_count integer NOT NULL DEFAULT 0,
      attempts jsonb NOT NULL DEFAULT '[]',
      claimed_by bigint,
      next_attempt_at timestamptz,
      request_payload jsonb,
      payload_bytes integer,
      token_count integer,
      response_status_code integer,
      response_body jsonb,
      error text,
      duration_ms integer,
      started_at timestamptz,
      completed_at timestamptz,
      created_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_incident_deliveries_uuid UNIQUE (uuid),
      CONSTRAINT uq_incident_deliveries_revision UNIQUE (incident_id, agent_registration_id, revision),
      CONSTRAINT ck_incident_deliveries_status
        CHECK (status IN ('pending', 'delivering', 'retrying', 'delivered', 'failed', 'cancelled'))
    )`.execute(db);
  await sql`
    CREATE INDEX ix_incident_deliveries_agent_created_at
      ON incident_deliveries (agent_registration_id, created_at DESC)`.execute(db);
  await sql`
    CREATE TRIGGER trg_incident_deliveries_touch_updated_at
    BEFORE UPDATE ON incident_deliveries
    FOR EACH ROW EXECUTE FUNCTION calseta_touch_updated_at()`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await sql`DROP TABLE incident_deliveries`.execute(db);
  await sql`DROP TABLE incident_delivery_cursors`.execute(db);
  await sql`
    ALTER TABLE agent_registrations
      DROP CONSTRAINT ck_agent_registrations_delivery_mode,
      DROP COLUMN delivery_mode`.execute(db);
}
