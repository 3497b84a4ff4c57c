/**
 * 0001_core — alerts, indicators, detection rules, API keys, integrations registry,
 * rate-limit buckets and settings.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  // Keeps updated_at fresh on every UPDATE unless the statement sets it explicitly.
  await sql`
    CREATE FUNCTION calseta_touch_updated_at() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.updated_at IS NOT DISTINCT FROM OLD.updated_at THEN
        NEW.updated_at := now();
      END IF;
      RETURN NEW;
    END
    $$`.execute(db);

  await sql`
    CREATE TABLE detection_rules (
      id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid                uuid NOT NULL DEFAULT gen_random_uuid(),
      name                text NOT NULL,
      source_rule_id      text,
      source_name         text,
      severity            text,
      is_active           boolean NOT NULL DEFAULT true,
      mitre_tactics       text[] NOT NULL DEFAULT '{}',
      mitre_techniques    text[] NOT NULL DEFAULT '{}',
      mitre_subtechniques text[] NOT NULL DEFAULT '{}',
      data_sources        text[] NOT NULL DEFAULT '{}',
      run_frequency       text,
      created_by          text,
      documentation       text,
      is_system           boolean NOT NULL DEFAULT false,
      created_at          timestamptz NOT NULL DEFAULT now(),
      updated_at          timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_detection_rules_uuid UNIQUE (uuid)
    )`.execute(db);
  // Ingest upserts rule stubs concurrently:
  //   ON CONFLICT (source_name, source_rule_id) WHERE source_rule_id IS NOT NULL DO ...
  await sql`
    CREATE UNIQUE INDEX uq_detection_rules_source_rule
      ON detection_rules (source_name, source_rule_id)
      WHERE source_rule_id IS NOT NULL`.execute(db);

  await sql`
    CREATE TABLE alerts (
      id                     bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid                   uuid NOT NULL DEFAULT gen_random_uuid(),
      title                  text NOT NULL,
      description            text,
      severity               text NOT NULL DEFAULT 'Pending',
      source_name            text NOT NULL,
      occurred_at            timestamptz NOT NULL,
      occurred_at_inferred   boolean NOT NULL DEFAULT false,
      source_time            timestamptz,
      ingested_at            timestamptz NOT NULL DEFAULT now(),
      enriched_at            timestamptz,
      is_enriched            boolean NOT NULL DEFAULT false,
      fingerprint            text,
      duplicate_count        integer NOT NULL DEFAULT 0,
      last_seen_at           timestamptz,
      status                 text NOT NULL DEFAULT 'Open',
      enrichment_status      text NOT NULL DEFAULT 'Pending',
      close_classification   text,
      acknowledged_at        timestamptz,
      triaged_at             timestamptz,
      closed_at              timestamptz,
      malice_override        text,
      malice_override_source text,
      malice_override_at     timestamptz,
      escalation_count       integer NOT NULL DEFAULT 0,
      last_escalated_at      timestamptz,
      raw_payload            jsonb NOT NULL DEFAULT '{}',
      normalized             jsonb NOT NULL DEFAULT '{}',
      enrichment_summary     jsonb,
      agent_findings         jsonb,
      tags                   text[] NOT NULL DEFAULT '{}',
      is_system              boolean NOT NULL DEFAULT false,
      detection_rule_id      bigint REFERENCES detection_rules (id) ON DELETE SET NULL,
      created_at             timestamptz NOT NULL DEFAULT now(),
      updated_at             timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_alerts_uuid UNIQUE (uuid)
    )`.execute(db);
  await sql`CREATE INDEX ix_alerts_fingerprint_created_at ON alerts (fingerprint, created_at DESC)`.execute(db);
  await sql`CREATE INDEX ix_alerts_occurred_at_id ON alerts (occurred_at DESC, id DESC)`.execute(db);
  await sql`CREATE INDEX ix_alerts_created_at ON alerts (created_at DESC)`.execute(db);
  await sql`CREATE INDEX ix_alerts_status ON alerts (status)`.execute(db);
  await sql`CREATE INDEX ix_alerts_severity ON alerts (severity)`.execute(db);
  await sql`CREATE INDEX ix_alerts_source_name ON alerts (source_name)`.execute(db);
  await sql`CREATE INDEX ix_alerts_enrichment_status ON alerts (enrichment_status)`.execute(db);
  await sql`CREATE INDEX ix_alerts_detection_rule_id ON alerts (detection_rule_id)`.execute(db);
  await sql`CREATE INDEX ix_alerts_tags ON alerts USING gin (tags)`.execute(db);

  await sql`
    CREATE TABLE indicators (
      id                   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid                 uuid NOT NULL DEFAULT gen_random_uuid(),
      type                 text NOT NULL,
      value                text NOT NULL,
      first_seen           timestamptz NOT NULL DEFAULT now(),
      last_seen            timestamptz NOT NULL DEFAULT now(),
      is_enriched          boolean NOT NULL DEFAULT false,
      malice               text NOT NULL DEFAULT 'Pending',
      malice_source        text NOT NULL DEFAULT 'enrichment',
      malice_overridden_at timestamptz,
      enrichment_results   jsonb,
      created_at           timestamptz NOT NULL DEFAULT now(),
      updated_at           timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_indicators_uuid UNIQUE (uuid),
      CONSTRAINT uq_indicator_type_value UNIQUE (type, value)
    )`.execute(db);

  await sql`
    CREATE TABLE alert_indicators (
      id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      alert_id     bigint NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
      indicator_id bigint NOT NULL REFERENCES indicators (id) ON DELETE CASCADE,
      source_field text,
      created_at   timestamptz NOT NULL DEFAULT now(),
      updated_at   timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_alert_indicator UNIQUE (alert_id, indicator_id)
    )`.execute(db);
  await sql`CREATE INDEX ix_alert_indicators_indicator_id ON alert_indicators (indicator_id)`.execute(db);

  await sql`
    CREATE TABLE api_keys (
      id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid            uuid NOT NULL DEFAULT gen_random_uuid(),
      name            text NOT NULL,
      key_prefix      text NOT NULL,
      key_hash        text NOT NULL,
      scopes          text[] NOT NULL DEFAULT '{}',
      is_active       boolean NOT NULL DEFAULT true,
      expires_at      timestamptz,
      last_used_at    timestamptz,
      allowed_sources text[],
      key_type        text NOT NULL DEFAULT 'human',
      is_system       boolean NOT NULL DEFAULT false,
      revoked_at      timestamptz,
      created_by      text,
      created_at      timestamptz NOT NULL DEFAULT now(),
      updated_at      timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_api_keys_uuid UNIQUE (uuid),
      CONSTRAINT uq_api_keys_key_hash UNIQUE (key_hash)
    )`.execute(db);

  await sql`
    CREATE TABLE source_integrations (
      id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid          uuid NOT NULL DEFAULT gen_random_uuid(),
      source_name   text NOT NULL,
      display_name  text NOT NULL,
      is_active     boolean NOT NULL DEFAULT true,
      auth_type     text,
      auth_config   jsonb,
      documentation text,
      created_at    timestamptz NOT NULL DEFAULT now(),
      updated_at    timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_source_integrations_uuid UNIQUE (uuid),
      CONSTRAINT uq_source_integrations_source_name UNIQUE (source_name)
    )`.execute(db);

  await sql`
    CREATE TABLE indicator_field_mappings (
      id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid              uuid NOT NULL DEFAULT gen_random_uuid(),
      source_name       text,
      field_path        text NOT NULL,
      indicator_type    text NOT NULL,
      extraction_target text NOT NULL DEFAULT 'normalized',
      is_system         boolean NOT NULL DEFAULT true,
      is_active         boolean NOT NULL DEFAULT true,
      description       text,
      created_at        timestamptz NOT NULL DEFAULT now(),
      updated_at        timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_indicator_field_mappings_uuid UNIQUE (uuid)
    )`.execute(db);

  await sql`
    CREATE TABLE rate_limit_buckets (
      bucket       text NOT NULL,
      window_start timestamptz NOT NULL,
      count        integer NOT NULL,
      PRIMARY KEY (bucket, window_start)
    )`.execute(db);

  await sql`
    CREATE TABLE settings (
      key        text PRIMARY KEY,
      value      jsonb NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  for (const table of [
    'detection_rules',
    'alerts',
    'indicators',
    'alert_indicators',
    'api_keys',
    'source_integrations',
    'indicator_field_mappings',
    'settings',
  ]) {
    await sql`
      CREATE TRIGGER ${sql.raw(`trg_${table}_touch_updated_at`)}
      BEFORE UPDATE ON ${sql.table(table)}
      FOR EACH ROW EXECUTE FUNCTION calseta_touch_updated_at()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'settings',
    'rate_limit_buckets',
    'indicator_field_mappings',
    'source_integrations',
    'api_keys',
    'alert_indicators',
    'indicators',
    'alerts',
    'detection_rules',
  ]) {
    await sql`DROP TABLE ${sql.table(table)}`.execute(db);
  }
  await sql`DROP FUNCTION calseta_touch_updated_at()`.execute(db);
}
