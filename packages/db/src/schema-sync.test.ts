/**
 * Keeps the hand-written types in database.ts and the migrations in lock-step.
 *
 * `EXPECTED` is checked twice: by the compiler against `Database` (every table and
 * column, nullability, insert-optionality and JS type; missing or extra keys fail
 * `tsc`), and here at runtime against information_schema of a migrated database.
 * After a schema change, update database.ts and this table together.
 */
import type { InsertType, SelectType } from 'kysely';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { Database } from './database.js';
import { createTestDatabase, type TestDatabase } from './testing/index.js';

/** JS type of a column as selected. */
type Kind<T> = [T] extends [Date]
  ? 'Date'
  : [T] extends [string[]]
    ? 'string[]'
    : [T] extends [string]
      ? 'string'
      : [T] extends [number]
        ? 'number'
        : [T] extends [boolean]
          ? 'boolean'
          : 'json';
/** null: nullable; default: NOT NULL but optional on insert; required: must be inserted. */
type Mode<C> =
  null extends SelectType<C>
    ? 'null'
    : [InsertType<C>] extends [never]
      ? 'default'
      : undefined extends InsertType<C>
        ? 'default'
        : 'required';
type Spec<C> = `${Mode<C>} ${Kind<NonNullable<SelectType<C>>>}`;
type DatabaseSpec = { [T in keyof Database]: { [K in keyof Database[T]]-?: Spec<Database[T][K]> } };

const KIND_OF_UDT: Record<string, string> = {
  text: 'string',
  uuid: 'string',
  date: 'string',
  int4: 'number',
  int8: 'number',
  float8: 'number',
  bool: 'boolean',
  timestamptz: 'Date',
  _text: 'string[]',
  jsonb: 'json',
};

const EXPECTED: DatabaseSpec = {
  activity_events: {
    id: 'default number',
    uuid: 'default string',
    event_type: 'required string',
    actor_type: 'required string',
    actor_key_prefix: 'null string',
    actor_key_name: 'null string',
    api_key_id: 'null number',
    request_id: 'null string',
    alert_id: 'null number',
    workflow_id: 'null number',
    detection_rule_id: 'null number',
    indicator_id: 'null number',
    agent_id: 'null number',
    references: 'default json',
    created_at: 'default Date',
  },
  agent_registrations: {
    id: 'default number',
    uuid: 'default string',
    name: 'required string',
    description: 'null string',
    endpoint_url: 'required string',
    auth_header_name: 'null string',
    auth_header_value_encrypted: 'null string',
    signing_secret_encrypted: 'null string',
    trigger_on_sources: 'default string[]',
    trigger_on_severities: 'default string[]',
    trigger_filter: 'null json',
    timeout_seconds: 'default number',
    retry_count: 'default number',
    token_budget: 'null number',
    is_active: 'default boolean',
    documentation: 'null string',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  agent_runs: {
    id: 'default number',
    uuid: 'default string',
    agent_registration_id: 'required number',
    alert_id: 'required number',
    idempotency_key: 'required string',
    request_payload: 'null json',
    payload_bytes: 'null number',
    response_status_code: 'null number',
    response_body: 'null json',
    status: 'default string',
    attempt_count: 'default number',
    next_attempt_at: 'null Date',
    error: 'null string',
    duration_ms: 'null number',
    started_at: 'null Date',
    completed_at: 'null Date',
    attempts: 'default json',
    trigger: 'default string',
    redelivery_of_id: 'null number',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  alert_fingerprints: {
    fingerprint: 'required string',
    alert_uuid: 'required string',
    claimed_at: 'default Date',
  },
  alert_indicators: {
    id: 'default number',
    alert_id: 'required number',
    indicator_id: 'required number',
    source_field: 'null string',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  alerts: {
    id: 'default number',
    uuid: 'default string',
    title: 'required string',
    description: 'null string',
    severity: 'default string',
    severity_raw: 'null string',
    severity_unmapped: 'default boolean',
    source_name: 'required string',
    occurred_at: 'required Date',
    occurred_at_inferred: 'default boolean',
    source_time: 'null Date',
    ingested_at: 'default Date',
    enriched_at: 'null Date',
    is_enriched: 'default boolean',
    fingerprint: 'null string',
    duplicate_count: 'default number',
    last_seen_at: 'null Date',
    status: 'default string',
    enrichment_status: 'default string',
    close_classification: 'null string',
    acknowledged_at: 'null Date',
    triaged_at: 'null Date',
    closed_at: 'null Date',
    malice_override: 'null string',
    malice_override_source: 'null string',
    malice_override_at: 'null Date',
    indicators_malice_rank: 'default number',
    indicator_count: 'default number',
    malice_rank: 'default number',
    escalation_count: 'default number',
    last_escalated_at: 'null Date',
    raw_payload: 'default json',
    normalized: 'default json',
    enrichment_summary: 'null json',
    agent_findings: 'null json',
    tags: 'default string[]',
    is_system: 'default boolean',
    detection_rule_id: 'null number',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  api_keys: {
    id: 'default number',
    uuid: 'default string',
    name: 'required string',
    key_prefix: 'required string',
    key_hash: 'required string',
    scopes: 'default string[]',
    is_active: 'default boolean',
    expires_at: 'null Date',
    last_used_at: 'null Date',
    allowed_sources: 'null string[]',
    key_type: 'default string',
    is_system: 'default boolean',
    revoked_at: 'null Date',
    created_by: 'null string',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  context_document_versions: {
    id: 'default number',
    document_id: 'required number',
    version: 'required number',
    title: 'required string',
    content: 'required string',
    targeting_rules: 'null json',
    saved_at: 'default Date',
    saved_by: 'null string',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  context_documents: {
    id: 'default number',
    uuid: 'default string',
    title: 'required string',
    document_type: 'required string',
    is_global: 'default boolean',
    targeting_rules: 'null json',
    description: 'null string',
    content: 'required string',
    tags: 'default string[]',
    version: 'default number',
    is_system: 'default boolean',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  detection_rules: {
    id: 'default number',
    uuid: 'default string',
    name: 'required string',
    source_rule_id: 'null string',
    source_name: 'null string',
    severity: 'null string',
    is_active: 'default boolean',
    mitre_tactics: 'default string[]',
    mitre_techniques: 'default string[]',
    mitre_subtechniques: 'default string[]',
    data_sources: 'default string[]',
    run_frequency: 'null string',
    created_by: 'null string',
    documentation: 'null string',
    is_system: 'default boolean',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  enrichment_cache: {
    provider_name: 'required string',
    indicator_type: 'required string',
    indicator_value: 'required string',
    status: 'required string',
    result: 'required json',
    fetched_at: 'default Date',
    expires_at: 'required Date',
  },
  enrichment_field_extractions: {
    id: 'default number',
    uuid: 'default string',
    provider_name: 'required string',
    indicator_type: 'required string',
    source_path: 'required string',
    target_key: 'required string',
    value_type: 'default string',
    is_system: 'default boolean',
    is_active: 'default boolean',
    description: 'null string',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  enrichment_inflight: {
    provider_name: 'required string',
    indicator_type: 'required string',
    indicator_value: 'required string',
    owner: 'required string',
    started_at: 'default Date',
  },
  enrichment_providers: {
    id: 'default number',
    uuid: 'default string',
    provider_name: 'required string',
    display_name: 'required string',
    description: 'null string',
    is_builtin: 'default boolean',
    is_active: 'default boolean',
    supported_indicator_types: 'default string[]',
    http_config: 'required json',
    auth_type: 'default string',
    auth_config: 'null json',
    env_var_mapping: 'null json',
    default_cache_ttl_seconds: 'default number',
    cache_ttl_by_type: 'null json',
    malice_rules: 'null json',
    mock_responses: 'null json',
    rate_limit_per_minute: 'null number',
    rate_limit_per_day: 'null number',
    timeout_ms: 'default number',
    negative_cache_ttl_seconds: 'null number',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  indicator_field_mappings: {
    id: 'default number',
    uuid: 'default string',
    source_name: 'null string',
    field_path: 'required string',
    indicator_type: 'required string',
    extraction_target: 'default string',
    is_system: 'default boolean',
    is_active: 'default boolean',
    description: 'null string',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  indicators: {
    id: 'default number',
    uuid: 'default string',
    type: 'required string',
    value: 'required string',
    first_seen: 'default Date',
    last_seen: 'default Date',
    is_enriched: 'default boolean',
    malice: 'default string',
    malice_source: 'default string',
    malice_overridden_at: 'null Date',
    enrichment_results: 'null json',
    malice_explanation: 'null json',
    enriched_at: 'null Date',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  provider_rate_state: {
    provider_name: 'required string',
    window_minute: 'null Date',
    minute_count: 'default number',
    window_day: 'null string',
    day_count: 'default number',
    paused_until: 'null Date',
    updated_at: 'default Date',
  },
  rate_limit_buckets: {
    bucket: 'required string',
    window_start: 'required Date',
    count: 'required number',
  },
  settings: {
    key: 'required string',
    value: 'required json',
    updated_at: 'default Date',
  },
  source_integrations: {
    id: 'default number',
    uuid: 'default string',
    source_name: 'required string',
    display_name: 'required string',
    is_active: 'default boolean',
    auth_type: 'null string',
    auth_config: 'null json',
    documentation: 'null string',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  workflow_approval_requests: {
    id: 'default number',
    uuid: 'default string',
    workflow_id: 'required number',
    workflow_run_id: 'null number',
    trigger_type: 'required string',
    trigger_agent_key_prefix: 'required string',
    trigger_context: 'null json',
    reason: 'required string',
    confidence: 'required number',
    notifier_type: 'default string',
    notifier_channel: 'null string',
    external_message_id: 'null string',
    status: 'default string',
    responder_id: 'null string',
    responded_at: 'null Date',
    expires_at: 'required Date',
    execution_result: 'null json',
    decide_token: 'null string',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  workflow_code_versions: {
    id: 'default number',
    workflow_id: 'required number',
    version: 'required number',
    code: 'required string',
    saved_at: 'default Date',
    saved_by: 'null string',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  workflow_runs: {
    id: 'default number',
    uuid: 'default string',
    workflow_id: 'required number',
    trigger_type: 'required string',
    trigger_context: 'null json',
    code_version_executed: 'required number',
    log_output: 'null string',
    result: 'null json',
    status: 'default string',
    attempt_count: 'default number',
    duration_ms: 'null number',
    started_at: 'null Date',
    completed_at: 'null Date',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  workflow_secrets: {
    id: 'default number',
    uuid: 'default string',
    name: 'required string',
    value_encrypted: 'required string',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  workflows: {
    id: 'default number',
    uuid: 'default string',
    name: 'required string',
    workflow_type: 'null string',
    workflow_kind: 'default string',
    http_endpoint_url: 'null string',
    indicator_types: 'default string[]',
    code: 'required string',
    code_version: 'default number',
    state: 'default string',
    timeout_seconds: 'default number',
    retry_count: 'default number',
    is_active: 'default boolean',
    is_system: 'default boolean',
    tags: 'default string[]',
    secrets: 'default string[]',
    time_saved_minutes: 'null number',
    approval_mode: 'default string',
    approval_channel: 'null string',
    approval_timeout_seconds: 'default number',
    risk_level: 'default string',
    documentation: 'null string',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  incidents: {
    id: 'default number',
    uuid: 'default string',
    title: 'required string',
    alerts_severity: 'default string',
    severity_override: 'null string',
    severity: 'default string',
    status: 'default string',
    close_classification: 'null string',
    alert_count: 'default number',
    first_alert_at: 'null Date',
    last_alert_at: 'null Date',
    merged_into_id: 'null number',
    acknowledged_at: 'null Date',
    triaged_at: 'null Date',
    closed_at: 'null Date',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  incident_alerts: {
    id: 'default number',
    incident_id: 'required number',
    alert_id: 'required number',
    reason: 'default json',
    pinned: 'default boolean',
    added_by: 'default string',
    created_at: 'default Date',
    updated_at: 'default Date',
  },
  incident_correlation_keys: {
    key: 'required string',
    alert_id: 'required number',
    occurred_at: 'required Date',
  },
  incident_events: {
    id: 'default number',
    uuid: 'default string',
    incident_id: 'required number',
    event_type: 'required string',
    actor_type: 'required string',
    actor_key_prefix: 'null string',
    actor_key_name: 'null string',
    api_key_id: 'null number',
    request_id: 'null string',
    alert_id: 'null number',
    references: 'default json',
    created_at: 'default Date',
  },
  incident_findings: {
    id: 'default number',
    uuid: 'default string',
    incident_id: 'required number',
    agent_name: 'required string',
    summary: 'required string',
    confidence: 'null string',
    recommended_action: 'null string',
    evidence: 'null json',
    posted_by: 'null json',
    posted_at: 'default Date',
    created_at: 'default Date',
    updated_at: 'default Date',
  },};

let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t?.drop());

test('database.ts matches the migrated schema', async () => {
  const { rows } = await sql<{
    table_name: string;
    column_name: string;
    udt_name: string;
    is_nullable: 'YES' | 'NO';
    column_default: string | null;
    is_identity: 'YES' | 'NO';
    /** `ALWAYS` for generated columns (0014's malice_rank): never inserted, like identities. */
    is_generated: 'ALWAYS' | 'NEVER';
  }>`
    select table_name, column_name, udt_name, is_nullable, column_default, is_identity, is_generated
    from information_schema.columns
    where table_schema = 'public' and table_name not like 'kysely_%'`.execute(t.db);

  const actual: Record<string, Record<string, string>> = {};
  for (const r of rows) {
    const mode =
      r.is_nullable === 'YES'
        ? 'null'
        : r.column_default !== null || r.is_identity === 'YES' || r.is_generated === 'ALWAYS'
          ? 'default'
          : 'required';
    const table = actual[r.table_name] ?? {};
    table[r.column_name] = `${mode} ${KIND_OF_UDT[r.udt_name] ?? `unmapped:${r.udt_name}`}`;
    actual[r.table_name] = table;
  }
  expect(actual).toEqual(EXPECTED);
});
