/**
 * 0002_enrichment — provider registry, field extractions, result cache,
 * in-flight claims and per-provider rate-limit state.
 *
 * FROZEN once released: never edit a migration that has shipped; add a new one.
 * Migrations only see `Kysely<any>` and must never import application code.
 */
import { type Kysely, sql } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await sql`
    CREATE TABLE enrichment_providers (
      id                        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid                      uuid NOT NULL DEFAULT gen_random_uuid(),
      provider_name             text NOT NULL,
      display_name              text NOT NULL,
      description               text,
      is_builtin                boolean NOT NULL DEFAULT false,
      is_active                 boolean NOT NULL DEFAULT true,
      supported_indicator_types text[] NOT NULL DEFAULT '{}',
      http_config               jsonb NOT NULL,
      auth_type                 text NOT NULL DEFAULT 'no_auth',
      auth_config               jsonb,
      env_var_mapping           jsonb,
      default_cache_ttl_seconds integer NOT NULL DEFAULT 3600,
      cache_ttl_by_type         jsonb,
      malice_rules              jsonb,
      mock_responses            jsonb,
      rate_limit_per_minute     integer,
      rate_limit_per_day        integer,
      timeout_ms                integer NOT NULL DEFAULT 10000,
      created_at                timestamptz NOT NULL DEFAULT now(),
      updated_at                timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_enrichment_providers_uuid UNIQUE (uuid),
      CONSTRAINT uq_enrichment_provider_name UNIQUE (provider_name)
    )`.execute(db);
  await sql`CREATE INDEX ix_enrichment_providers_is_active ON enrichment_providers (is_active)`.execute(db);

  // Name-based link to providers on purpose (no FK), as in v1.
  await sql`
    CREATE TABLE enrichment_field_extractions (
      id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
      uuid           uuid NOT NULL DEFAULT gen_random_uuid(),
      provider_name  text NOT NULL,
      indicator_type text NOT NULL,
      source_path    text NOT NULL,
      target_key     text NOT NULL,
      value_type     text NOT NULL DEFAULT 'string',
      is_system      boolean NOT NULL DEFAULT true,
      is_active      boolean NOT NULL DEFAULT true,
      description    text,
      created_at     timestamptz NOT NULL DEFAULT now(),
      updated_at     timestamptz NOT NULL DEFAULT now(),
      CONSTRAINT uq_enrichment_field_extractions_uuid UNIQUE (uuid),
      CONSTRAINT uq_enrichment_extraction_provider_type_path UNIQUE (provider_name, indicator_type, source_path)
    )`.execute(db);

  // status: success | not_found (failures are never cached).
  await sql`
    CREATE TABLE enrichment_cache (
      provider_name   text NOT NULL,
      indicator_type  text NOT NULL,
      indicator_value text NOT NULL,
      status          text NOT NULL,
      result          jsonb NOT NULL,
      fetched_at      timestamptz NOT NULL DEFAULT now(),
      expires_at      timestamptz NOT NULL,
      PRIMARY KEY (provider_name, indicator_type, indicator_value)
    )`.execute(db);
  await sql`CREATE INDEX ix_enrichment_cache_expires_at ON enrichment_cache (expires_at)`.execute(db);

  await sql`
    CREATE TABLE enrichment_inflight (
      provider_name   text NOT NULL,
      indicator_type  text NOT NULL,
      indicator_value text NOT NULL,
      owner           text NOT NULL,
      started_at      timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (provider_name, indicator_type, indicator_value)
    )`.execute(db);

  await sql`
    CREATE TABLE provider_rate_state (
      provider_name text PRIMARY KEY,
      window_minute timestamptz,
      minute_count  integer NOT NULL DEFAULT 0,
      window_day    date,
      day_count     integer NOT NULL DEFAULT 0,
      paused_until  timestamptz,
      updated_at    timestamptz NOT NULL DEFAULT now()
    )`.execute(db);

  for (const table of ['enrichment_providers', 'enrichment_field_extractions', 'provider_rate_state']) {
    await sql`
      CREATE TRIGGER ${sql.raw(`trg_${table}_touch_updated_at`)}
      BEFORE UPDATE ON ${sql.table(table)}
      FOR EACH ROW EXECUTE FUNCTION calseta_touch_updated_at()`.execute(db);
  }
}

export async function down(db: Kysely<any>): Promise<void> {
  for (const table of [
    'provider_rate_state',
    'enrichment_inflight',
    'enrichment_cache',
    'enrichment_field_extractions',
    'enrichment_providers',
  ]) {
    await sql`DROP TABLE ${sql.table(table)}`.execute(db);
  }
}
