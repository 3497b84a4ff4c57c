/**
 * 0003_automation — context documents, workflows (code versions, runs, approvals,
 * secrets), agent registrations and deliveries, and the activity log.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE context_documents (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid            uuid NOT NULL DEFAULT gen_random_uuid(),
      title           text NOT NULL,
      document_type   text NOT NULL,
      is_global       boolean NOT NULL DEFAULT false,
      targeting_rules jsonb,
      description     text,
      content         text NOT NULL,
      tags            text[] NOT NULL DEFAULT '{}',
      version         integer NOT NULL DEFAULT 1,
      is_system       boolean NOT NULL DEFAULT false,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_context_documents_uuid UNIQUE (uuid)
    )`.execute(db);
  await sql`CREATE INDEX ix_context_documents_is_global ON context_documents (is_global)`.execute(db);

  // Snapshot of a document's previous content, written before `version` is bumped.
  await sql`
    CREATE TABLE context_document_versions (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      document_id     bigint NOT NULL REFERENCES context_documents (id) ON DELETE CASCADE,
      version         integer NOT NULL,
      title           text NOT NULL,
      content         text NOT NULL,
      targeting_rules jsonb,
      saved_at        timestamptz NOT NULL DEFAULT now(),
      saved_by        text,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_context_document_versions_document_version UNIQUE (document_id, version)
    )`.execute(db);

  await sql`
    CREATE TABLE workflows (
      id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid                     uuid NOT NULL DEFAULT gen_random_uuid(),
      name                     text NOT NULL,
      workflow_type            text,
      workflow_kind            text NOT NULL DEFAULT 'sandboxed',
      http_endpoint_url        text,
      indicator_types          text[] NOT NULL DEFAULT '{}',
      code                     text NOT NULL,
      code_version             integer NOT NULL DEFAULT 1,
      state                    text NOT NULL DEFAULT 'draft',
      timeout_seconds          integer NOT NULL DEFAULT 300,
      retry_count              integer NOT NULL DEFAULT 0,
      is_active                boolean NOT NULL DEFAULT true,
      is_system                boolean NOT NULL DEFAULT false,
      tags                     text[] NOT NULL DEFAULT '{}',
      secrets                  text[] NOT NULL DEFAULT '{}',
      time_saved_minutes       integer,
      approval_mode            text NOT NULL DEFAULT 'always',
      approval_channel         text,
      approval_timeout_seconds integer NOT NULL DEFAULT 3600,
      risk_level               text NOT NULL DEFAULT 'medium',
      documentation            text,
      created_at               timestamptz NOT NULL DEFAULT now(),
      updated_at               timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_workflows_uuid UNIQUE (uuid)
    )`.execute(db);

  // Snapshot of the previous code, written before `workflows.code_version` is bumped.
  await sql`
    CREATE TABLE workflow_code_versions (
      id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      workflow_id bigint NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
      version     integer NOT NULL,
      code        text NOT NULL,
      saved_at    timestamptz NOT NULL DEFAULT now(),
      saved_by    text,
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now()
    )`.execute(db);
  await sql`CREATE INDEX ix_workflow_code_versions_workflow_id ON workflow_code_versions (workflow_id)`.execute(db);

  await sql`
    CREATE TABLE workflow_runs (
      id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid                  uuid NOT NULL DEFAULT gen_random_uuid(),
      workflow_id           bigint NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
      trigger_type          text NOT NULL,
      trigger_context       jsonb,
      code_version_executed integer NOT NULL,
      log_output            text,
      result                jsonb,
      status                text NOT NULL DEFAULT 'pending',
      attempt_count         integer NOT NULL DEFAULT 0,
      duration_ms           integer,
      started_at            timestamptz,
      completed_at          timestamptz,
      created_at            timestamptz NOT NULL DEFAULT now(),
      updated_at            timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_workflow_runs_uuid UNIQUE (uuid)
    )`.execute(db);
  await sql`CREATE INDEX ix_workflow_runs_workflow_id_created_at ON workflow_runs (workflow_id, created_at DESC)`.execute(
    db,
  );

  await sql`
    CREATE TABLE workflow_approval_requests (
      id                       bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid                     uuid NOT NULL DEFAULT gen_random_uuid(),
      workflow_id              bigint NOT NULL REFERENCES workflows (id) ON DELETE CASCADE,
      workflow_run_id          bigint REFERENCES workflow_runs (id) ON DELETE SET NULL,
      trigger_type             text NOT NULL,
      trigger_agent_key_prefix text NOT NULL,
      trigger_context          jsonb,
      reason                   text NOT NULL,
      confidence               double precision NOT NULL,
      notifier_type            text NOT NULL DEFAULT 'none',
      notifier_channel         text,
      external_message_id      text,
      status                   text NOT NULL DEFAULT 'pending',
      responder_id             text,
      responded_at             timestamptz,
      expires_at               timestamptz NOT NULL,
      execution_result         jsonb,
      decide_token             text,
      created_at               timestamptz NOT NULL DEFAULT now(),
      updated_at               timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_workflow_approval_requests_uuid UNIQUE (uuid)
    )`.execute(db);
  await sql`
    CREATE INDEX ix_workflow_approval_requests_status_created_at
      ON workflow_approval_requests (status, created_at DESC)`.execute(db);
  await sql`
    CREATE UNIQUE INDEX uq_workflow_approval_requests_decide_token
      ON workflow_approval_requests (decide_token)
      WHERE decide_token IS NOT NULL`.execute(db);

  await sql`
    CREATE TABLE workflow_secrets (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid            uuid NOT NULL DEFAULT gen_random_uuid(),
      name            text NOT NULL,
      value_encrypted text NOT NULL,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_workflow_secrets_uuid UNIQUE (uuid),
      CONSTRAINT uq_workflow_secrets_name UNIQUE (name)
    )`.execute(db);

  await sql`
    CREATE TABLE agent_registrations (
      id                          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid                        uuid NOT NULL DEFAULT gen_random_uuid(),
      name                        text NOT NULL,
      description                 text,
      endpoint_url                text NOT NULL,
      auth_header_name            text,
      auth_header_value_encrypted text,
      signing_secret_encrypted    text,
      trigger_on_sources          text[] NOT NULL DEFAULT '{}',
      trigger_on_severities       text[] NOT NULL DEFAULT '{}',
      trigger_filter              jsonb,
      timeout_seconds             integer NOT NULL DEFAULT 30,
      retry_count                 integer NOT NULL DEFAULT 3,
      token_budget                integer,
      is_active                   boolean NOT NULL DEFAULT true,
      documentation               text,
      created_at                  timestamptz NOT NULL DEFAULT now(),
      updated_at                  timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_agent_registrations_uuid UNIQUE (uuid),
      CONSTRAINT ck_agent_auth_header_pair CHECK (
        (auth_header_name IS NULL) = (auth_header_value_encrypted IS NULL)
      )
    )`.execute(db);

  // One row per delivery of an alert to an agent; attempts update the row.
  await sql`
    CREATE TABLE agent_runs (
      id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid                  uuid NOT NULL DEFAULT gen_random_uuid(),
      agent_registration_id bigint NOT NULL REFERENCES agent_registrations (id) ON DELETE CASCADE,
      alert_id              bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
      idempotency_key       text NOT NULL,
      request_payload       jsonb,
      payload_bytes         integer,
      response_status_code  integer,
      response_body         jsonb,
      status                text NOT NULL DEFAULT 'pending',
      attempt_count         integer NOT NULL DEFAULT 0,
      next_attempt_at       timestamptz,
      error                 text,
      duration_ms           integer,
      started_at            timestamptz,
      completed_at          timestamptz,
      created_at            timestamptz NOT NULL DEFAULT now(),
      updated_at            timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_agent_runs_uuid UNIQUE (uuid)
    )`.execute(db);
  await sql`
    CREATE INDEX ix_agent_runs_agent_registration_id_created_at
      ON agent_runs (agent_registration_id, created_at DESC)`.execute(db);
  await sql`CREATE INDEX ix_agent_runs_alert_id ON agent_runs (alert_id)`.execute(db);

  // Append-only: no updated_at. api_key_id deliberately has no FK (keys may be deleted).
  await sql`
    CREATE TABLE activity_events (
      id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid              uuid NOT NULL DEFAULT gen_random_uuid(),
      event_type        text NOT NULL,
      actor_type        text NOT NULL,
      actor_key_prefix  text,
      actor_key_name    text,
      api_key_id        bigint,
      request_id        text,
      alert_id          bigint REFERENCES alerts (id) ON DELETE SET NULL,
      workflow_id       bigint REFERENCES workflows (id) ON DELETE SET NULL,
      detection_rule_id bigint REFERENCES detection_rules (id) ON DELETE SET NULL,
      indicator_id      bigint REFERENCES indicators (id) ON DELETE SET NULL,
      agent_id          bigint REFERENCES agent_registrations (id) ON DELETE SET NULL,
      "references"      jsonb NOT NULL DEFAULT '{}',
      created_at        timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_activity_events_uuid UNIQUE (uuid)
    )`.execute(db);
  await sql`CREATE INDEX ix_activity_events_alert_id_created_at ON activity_events (alert_id, created_at DESC)`.execute(
    db,
  );
  await sql`CREATE INDEX ix_activity_events_created_at ON activity_events (created_at DESC)`.execute(db);
  await sql`CREATE INDEX ix_activity_events_event_type ON activity_events (event_type)`.execute(db);

  for (const table of [
    'context_documents',
    'context_document_versions',
    'workflows',
    'workflow_code_versions',
    'workflow_runs',
    'workflow_approval_requests',
    'workflow_secrets',
    'agent_registrations',
    'agent_runs',
  ]) {
    await sql`
      CREATE TRIGGER ${sql.raw(`trg_${table}_touch_updated_at`)}
      BEFORE UPDATE ON ${sql.table(table)}
      FOR EACH ROW EXECUTE FUNCTION calseta_touch_updated_at()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'activity_events',
    'agent_runs',
    'agent_registrations',
    'workflow_secrets',
    'workflow_approval_requests',
    'workflow_runs',
    'workflow_code_versions',
    'workflows',
    'context_document_versions',
    'context_documents',
  ]) {
    await sql`DROP TABLE ${sql.table(table)}`.execute(db);
  }
}
