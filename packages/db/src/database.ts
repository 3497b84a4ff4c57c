/**
 * Hand-written Kysely types for the Calseta schema. They mirror `src/migrations/`
 * exactly; `src/schema-sync.test.ts` checks every table, column, nullability and
 * insert-optionality against a freshly migrated database.
 *
 * Conventions
 * - `id` columns are `bigint GENERATED ALWAYS AS IDENTITY`: internal only, never
 *   in an API. `createDb` parses int8 as a JS `number` (throws above 2^53), so
 *   ids are `number`. External identifiers are the `uuid` columns (UUIDv7 made
 *   by the app; the database default `gen_random_uuid()` is only a fallback).
 * - Enums are plain `text` validated by the application, so they are `string` here.
 * - `text[]` columns are `string[]`; pg serialises JS arrays to array literals.
 * - `jsonb` columns come back parsed. On insert/update pass a plain object (pg
 *   JSON-stringifies it) or a JSON string. Columns that hold a JSON *array*
 *   (`alerts.agent_findings`) only accept a JSON string: pg would serialise a JS
 *   array as a Postgres array literal, which is not valid JSON.
 * - Timestamps are `timestamptz` and come back as `Date`; inserts accept `Date`
 *   or an ISO string. `date` columns come back as `'YYYY-MM-DD'` strings.
 */
import type { ColumnType, GeneratedAlways, Insertable, Kysely, Selectable, Updateable } from 'kysely';

// ---------------------------------------------------------------- column helpers

/** `bigint GENERATED ALWAYS AS IDENTITY`: never written by the app. */
export type Id = GeneratedAlways<number>;
/** Column with a database default: optional on insert. */
export type Defaulted<T> = ColumnType<T, T | undefined, T>;
/** Nullable column: optional on insert (defaults to NULL). */
export type Nullable<T> = ColumnType<T | null, T | null | undefined, T | null>;

/** `timestamptz NOT NULL` without default. */
export type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** `timestamptz NOT NULL DEFAULT now()`. */
export type TimestampDefault = ColumnType<Date, Date | string | undefined, Date | string>;
/** `timestamptz NULL`. */
export type NullableTimestamp = ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;

/** A JSON object as stored in a jsonb column. */
export type JsonObject = Record<string, unknown>;
/** `jsonb NOT NULL` without default, holding an object. */
export type Json<T extends object = JsonObject> = ColumnType<T, T | string, T | string>;
/** `jsonb NOT NULL DEFAULT '{}'`, holding an object. */
export type JsonDefault<T extends object = JsonObject> = ColumnType<T, T | string | undefined, T | string>;
/** `jsonb NULL`, holding an object. */
export type NullableJson<T extends object = JsonObject> = ColumnType<
  T | null,
  T | string | null | undefined,
  T | string | null
>;
/** `jsonb NULL` holding an array: write `JSON.stringify(value)` (see header). */
export type NullableJsonArray<T = unknown> = ColumnType<T[] | null, string | null | undefined, string | null>;

/** `text[] NOT NULL DEFAULT '{}'`. */
export type TextArray = Defaulted<string[]>;

// ---------------------------------------------------------------- 0001_core

export interface DetectionRulesTable {
  id: Id;
  uuid: Defaulted<string>;
  name: string;
  source_rule_id: Nullable<string>;
  source_name: Nullable<string>;
  severity: Nullable<string>;
  is_active: Defaulted<boolean>;
  mitre_tactics: TextArray;
  mitre_techniques: TextArray;
  mitre_subtechniques: TextArray;
  data_sources: TextArray;
  run_frequency: Nullable<string>;
  created_by: Nullable<string>;
  documentation: Nullable<string>;
  is_system: Defaulted<boolean>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

/** Which alert owns a dedup fingerprint, since when (0004). */
export interface AlertFingerprintsTable {
  fingerprint: string;
  alert_uuid: string;
  claimed_at: TimestampDefault;
}

export interface AlertsTable {
  id: Id;
  uuid: Defaulted<string>;
  title: string;
  description: Nullable<string>;
  /** AlertSeverity; default 'Pending'. */
  severity: Defaulted<string>;
  /** The vendor's own severity value (≤ 64 chars); null when the source sent none (0012). */
  severity_raw: Nullable<string>;
  /** True when `severity_raw` could not be read: the alert carries the visible default (0012). */
  severity_unmapped: Defaulted<boolean>;
  source_name: string;
  occurred_at: Timestamp;
  /** True when the source gave no usable time and occurred_at is the ingest time. */
  occurred_at_inferred: Defaulted<boolean>;
  source_time: NullableTimestamp;
  ingested_at: TimestampDefault;
  enriched_at: NullableTimestamp;
  is_enriched: Defaulted<boolean>;
  fingerprint: Nullable<string>;
  duplicate_count: Defaulted<number>;
  last_seen_at: NullableTimestamp;
  /** AlertStatus; default 'Open'. */
  status: Defaulted<string>;
  /** EnrichmentStatus; default 'Pending'. */
  enrichment_status: Defaulted<string>;
  close_classification: Nullable<string>;
  acknowledged_at: NullableTimestamp;
  triaged_at: NullableTimestamp;
  closed_at: NullableTimestamp;
  malice_override: Nullable<string>;
  malice_override_source: Nullable<string>;
  malice_override_at: NullableTimestamp;
  /** Worst linked indicator's MALICE_WEIGHT and the number of links, kept by triggers (0014). */
  indicators_malice_rank: GeneratedAlways<number>;
  indicator_count: GeneratedAlways<number>;
  /** The verdict's weight: the override's, else `indicators_malice_rank` (generated, 0014). */
  malice_rank: GeneratedAlways<number>;
  escalation_count: Defaulted<number>;
  last_escalated_at: NullableTimestamp;
  /** Original source payload, verbatim. */
  raw_payload: JsonDefault;
  /** The source plugin's normalized alert, including `extra`. */
  normalized: JsonDefault;
  /** Per-provider enrichment status. */
  enrichment_summary: NullableJson;
  /** Array of agent findings; write with JSON.stringify. */
  agent_findings: NullableJsonArray<JsonObject>;
  tags: TextArray;
  is_system: Defaulted<boolean>;
  detection_rule_id: Nullable<number>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface IndicatorsTable {
  id: Id;
  uuid: Defaulted<string>;
  /** IndicatorType. */
  type: string;
  value: string;
  first_seen: TimestampDefault;
  last_seen: TimestampDefault;
  is_enriched: Defaulted<boolean>;
  /** MaliceLevel; default 'Pending'. */
  malice: Defaulted<string>;
  /** 'enrichment' | 'analyst'. */
  malice_source: Defaulted<string>;
  malice_overridden_at: NullableTimestamp;
  /** provider_name → stored provider result. */
  enrichment_results: NullableJson;
  /** Why the indicator has its verdict (VerdictExplanation). */
  malice_explanation: NullableJson;
  /** When enrichment last stored results. */
  enriched_at: NullableTimestamp;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface AlertIndicatorsTable {
  id: Id;
  alert_id: number;
  indicator_id: number;
  /** Where in the alert the indicator was found. */
  source_field: Nullable<string>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

/**
 * An indicator's history, kept by the database (migration 0024): the alerts carrying the value and
 * when the earliest and latest of them occurred. A row exists while the indicator has a link; read it
 * with `calseta_indicator_history(ids)` inside a transaction that changed links (its changes are
 * applied when it commits).
 */
export interface IndicatorHistoryTable {
  indicator_id: number;
  alert_count: number;
  first_seen: Timestamp;
  last_seen: Timestamp;
}

export interface ApiKeysTable {
  id: Id;
  uuid: Defaulted<string>;
  name: string;
  /** First 8 characters, for display only (not unique). */
  key_prefix: string;
  /** sha-256 hex of the full key; unique, used for lookups. */
  key_hash: string;
  scopes: TextArray;
  is_active: Defaulted<boolean>;
  expires_at: NullableTimestamp;
  last_used_at: NullableTimestamp;
  /** null = unrestricted. */
  allowed_sources: Nullable<string[]>;
  /** 'human' | 'agent'. */
  key_type: Defaulted<string>;
  is_system: Defaulted<boolean>;
  revoked_at: NullableTimestamp;
  created_by: Nullable<string>;
  /** 0017: a personal key's owner (its scopes stay within the owner's roles). */
  owner_user_id: Nullable<number>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface SourceIntegrationsTable {
  id: Id;
  uuid: Defaulted<string>;
  source_name: string;
  display_name: string;
  is_active: Defaulted<boolean>;
  auth_type: Nullable<string>;
  auth_config: NullableJson;
  documentation: Nullable<string>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface IndicatorFieldMappingsTable {
  id: Id;
  uuid: Defaulted<string>;
  /** null = all sources. */
  source_name: Nullable<string>;
  field_path: string;
  indicator_type: string;
  /** 'normalized' | 'raw_payload'. */
  extraction_target: Defaulted<string>;
  is_system: Defaulted<boolean>;
  is_active: Defaulted<boolean>;
  description: Nullable<string>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface RateLimitBucketsTable {
  bucket: string;
  window_start: Timestamp;
  count: number;
}

export interface SettingsTable {
  key: string;
  /** Any JSON value. Write `JSON.stringify(value)` (a bare JS string would not be valid JSON) or an object. */
  value: ColumnType<string | number | boolean | object, string | JsonObject, string | JsonObject>;
  updated_at: TimestampDefault;
}

// ---------------------------------------------------------------- 0002_enrichment

export interface EnrichmentProvidersTable {
  id: Id;
  uuid: Defaulted<string>;
  provider_name: string;
  display_name: string;
  description: Nullable<string>;
  is_builtin: Defaulted<boolean>;
  is_active: Defaulted<boolean>;
  supported_indicator_types: TextArray;
  http_config: Json;
  auth_type: Defaulted<string>;
  auth_config: NullableJson;
  env_var_mapping: NullableJson;
  default_cache_ttl_seconds: Defaulted<number>;
  cache_ttl_by_type: NullableJson;
  malice_rules: NullableJson;
  mock_responses: NullableJson;
  rate_limit_per_minute: Nullable<number>;
  rate_limit_per_day: Nullable<number>;
  timeout_ms: Defaulted<number>;
  /** TTL of `not_found` results; null = min(positive TTL, 600). */
  negative_cache_ttl_seconds: Nullable<number>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface EnrichmentFieldExtractionsTable {
  id: Id;
  uuid: Defaulted<string>;
  provider_name: string;
  indicator_type: string;
  source_path: string;
  target_key: string;
  value_type: Defaulted<string>;
  is_system: Defaulted<boolean>;
  is_active: Defaulted<boolean>;
  description: Nullable<string>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface EnrichmentCacheTable {
  provider_name: string;
  indicator_type: string;
  indicator_value: string;
  /** 'success' | 'not_found'. */
  status: string;
  /** The answer, `raw: null`. */
  result: Json;
  /** The (redacted) raw provider response as JSON text, apart: only the indicator detail reads it. */
  raw: string | null;
  fetched_at: TimestampDefault;
  expires_at: Timestamp;
}

export interface EnrichmentInflightTable {
  provider_name: string;
  indicator_type: string;
  indicator_value: string;
  owner: string;
  started_at: TimestampDefault;
}

export interface ProviderRateStateTable {
  provider_name: string;
  window_minute: NullableTimestamp;
  minute_count: Defaulted<number>;
  /** `date` column: 'YYYY-MM-DD' string (createDb keeps dates as strings). */
  window_day: Nullable<string>;
  day_count: Defaulted<number>;
  paused_until: NullableTimestamp;
  updated_at: TimestampDefault;
}

// ---------------------------------------------------------------- 0003_automation

export interface ContextDocumentsTable {
  id: Id;
  uuid: Defaulted<string>;
  title: string;
  document_type: string;
  is_global: Defaulted<boolean>;
  targeting_rules: NullableJson;
  description: Nullable<string>;
  content: string;
  tags: TextArray;
  version: Defaulted<number>;
  is_system: Defaulted<boolean>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface ContextDocumentVersionsTable {
  id: Id;
  document_id: number;
  version: number;
  title: string;
  content: string;
  targeting_rules: NullableJson;
  saved_at: TimestampDefault;
  saved_by: Nullable<string>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface WorkflowsTable {
  id: Id;
  uuid: Defaulted<string>;
  name: string;
  /** 'indicator' | 'alert'. */
  workflow_type: Nullable<string>;
  /** 'sandboxed' | 'http_endpoint'. */
  workflow_kind: Defaulted<string>;
  http_endpoint_url: Nullable<string>;
  indicator_types: TextArray;
  code: string;
  code_version: Defaulted<number>;
  state: Defaulted<string>;
  timeout_seconds: Defaulted<number>;
  retry_count: Defaulted<number>;
  is_active: Defaulted<boolean>;
  is_system: Defaulted<boolean>;
  tags: TextArray;
  /** Declared secret names (values live in workflow_secrets). */
  secrets: TextArray;
  time_saved_minutes: Nullable<number>;
  approval_mode: Defaulted<string>;
  approval_channel: Nullable<string>;
  approval_timeout_seconds: Defaulted<number>;
  risk_level: Defaulted<string>;
  documentation: Nullable<string>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface WorkflowCodeVersionsTable {
  id: Id;
  workflow_id: number;
  version: number;
  code: string;
  saved_at: TimestampDefault;
  saved_by: Nullable<string>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface WorkflowRunsTable {
  id: Id;
  uuid: Defaulted<string>;
  workflow_id: number;
  trigger_type: string;
  trigger_context: NullableJson;
  code_version_executed: number;
  log_output: Nullable<string>;
  /** `{success, message, data}`. */
  result: NullableJson;
  status: Defaulted<string>;
  attempt_count: Defaulted<number>;
  duration_ms: Nullable<number>;
  started_at: NullableTimestamp;
  completed_at: NullableTimestamp;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface WorkflowApprovalRequestsTable {
  id: Id;
  uuid: Defaulted<string>;
  workflow_id: number;
  workflow_run_id: Nullable<number>;
  trigger_type: string;
  trigger_agent_key_prefix: string;
  trigger_context: NullableJson;
  reason: string;
  confidence: number;
  notifier_type: Defaulted<string>;
  notifier_channel: Nullable<string>;
  external_message_id: Nullable<string>;
  status: Defaulted<string>;
  responder_id: Nullable<string>;
  responded_at: NullableTimestamp;
  expires_at: Timestamp;
  execution_result: NullableJson;
  decide_token: Nullable<string>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface WorkflowSecretsTable {
  id: Id;
  uuid: Defaulted<string>;
  name: string;
  value_encrypted: string;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface AgentRegistrationsTable {
  id: Id;
  uuid: Defaulted<string>;
  name: string;
  description: Nullable<string>;
  endpoint_url: string;
  /** Both or neither of auth_header_name / auth_header_value_encrypted (CHECK ck_agent_auth_header_pair). */
  auth_header_name: Nullable<string>;
  auth_header_value_encrypted: Nullable<string>;
  signing_secret_encrypted: Nullable<string>;
  trigger_on_sources: TextArray;
  trigger_on_severities: TextArray;
  trigger_filter: NullableJson;
  timeout_seconds: Defaulted<number>;
  retry_count: Defaulted<number>;
  token_budget: Nullable<number>;
  is_active: Defaulted<boolean>;
  documentation: Nullable<string>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
  /** 'alert' (one delivery per alert) | 'incident' (per incident: on open, then debounced updates). 0019. */
  delivery_mode: Defaulted<string>;
}

export interface AgentRunsTable {
  id: Id;
  uuid: Defaulted<string>;
  agent_registration_id: number;
  alert_id: number;
  idempotency_key: string;
  /** The full payload sent to the agent. */
  request_payload: NullableJson;
  payload_bytes: Nullable<number>;
  response_status_code: Nullable<number>;
  response_body: NullableJson;
  status: Defaulted<string>;
  attempt_count: Defaulted<number>;
  next_attempt_at: NullableTimestamp;
  error: Nullable<string>;
  duration_ms: Nullable<number>;
  started_at: NullableTimestamp;
  completed_at: NullableTimestamp;
  /** Every attempt of this delivery (AgentRunAttempt[]), oldest first; write with JSON.stringify. */
  attempts: ColumnType<JsonObject[], string | undefined, string>;
  /** 'auto' | 'redispatch' | 'manual' | 'single' | 'redeliver'. One 'auto' row per (alert, agent). */
  trigger: Defaulted<string>;
  /** The delivery a redelivery repeats (same idempotency key). */
  redelivery_of_id: Nullable<number>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface ActivityEventsTable {
  id: Id;
  uuid: Defaulted<string>;
  event_type: string;
  /** 'system' | 'api' | 'mcp'. */
  actor_type: string;
  actor_key_prefix: Nullable<string>;
  actor_key_name: Nullable<string>;
  /** No FK: the event outlives the key. */
  api_key_id: Nullable<number>;
  request_id: Nullable<string>;
  alert_id: Nullable<number>;
  workflow_id: Nullable<number>;
  detection_rule_id: Nullable<number>;
  indicator_id: Nullable<number>;
  agent_id: Nullable<number>;
  references: JsonDefault;
  /** 0017: the person acting (a signed-in user, or a personal key's owner); no FK, like the key. */
  actor_user_uuid: Nullable<string>;
  actor_user_email: Nullable<string>;
  created_at: TimestampDefault;
}

// ---------------------------------------------------------------- 0017_users_sessions

/** A person: one per (issuer, subject); both null while pre-provisioned by email. */
export interface UsersTable {
  id: Id;
  uuid: Defaulted<string>;
  issuer: Nullable<string>;
  subject: Nullable<string>;
  email: string;
  name: Nullable<string>;
  /** Mapped from the identity provider's claims at each sign-in. */
  idp_roles: TextArray;
  /** Granted by an admin or the bootstrap; a user holds the union of both. */
  granted_roles: TextArray;
  disabled: Defaulted<boolean>;
  last_sign_in_at: NullableTimestamp;
  /** The provider vouched for `email` at the last sign-in (grant-admin matches only these, 0020). */
  email_verified: Defaulted<boolean>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

/** A browser session: only the token's SHA-256 is stored. */
export interface SessionsTable {
  id: Id;
  uuid: Defaulted<string>;
  token_hash: string;
  /** 'oidc' (user_id) | 'api_key' (api_key_id). */
  kind: string;
  user_id: Nullable<number>;
  api_key_id: Nullable<number>;
  /** The provider's ID token, for RP-initiated logout's id_token_hint. */
  id_token: Nullable<string>;
  created_at: TimestampDefault;
  last_seen_at: TimestampDefault;
  expires_at: Timestamp;
  revoked_at: NullableTimestamp;
  updated_at: TimestampDefault;
}

/** An OIDC authorization request in flight, keyed by the hash of its browser cookie. */
export interface OidcLoginsTable {
  browser_hash: string;
  state: string;
  nonce: string;
  code_verifier: string;
  return_to: string;
  expires_at: Timestamp;
}

// ---------------------------------------------------------------- 0018_incidents

export interface IncidentsTable {
  id: Id;
  uuid: Defaulted<string>;
  title: string;
  /** The worst member alert's AlertSeverity, kept by core when members change. */
  alerts_severity: Defaulted<string>;
  /** The analyst's AlertSeverity, when set. */
  severity_override: Nullable<string>;
  /** Generated: the override, else `alerts_severity`. */
  severity: GeneratedAlways<string>;
  /** AlertStatus; default 'Open'. */
  status: Defaulted<string>;
  close_classification: Nullable<string>;
  alert_count: Defaulted<number>;
  first_alert_at: NullableTimestamp;
  last_alert_at: NullableTimestamp;
  /** Set when merged into another incident (this one is then Closed / Duplicate). */
  merged_into_id: Nullable<number>;
  acknowledged_at: NullableTimestamp;
  triaged_at: NullableTimestamp;
  closed_at: NullableTimestamp;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface IncidentAlertsTable {
  id: Id;
  incident_id: number;
  /** Unique: an alert belongs to one incident at most. */
  alert_id: number;
  /** Why the alert is a member (IncidentMembershipReason). */
  reason: JsonDefault;
  /** An analyst's decision: correlation never changes it. */
  pinned: Defaulted<boolean>;
  /** 'correlation' | 'analyst'. */
  added_by: Defaulted<string>;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

export interface IncidentCorrelationKeysTable {
  /** `i:<indicator id>`, `r:<rule id>:i:<indicator id>` or `g:<sha256 hex>`. */
  key: string;
  alert_id: number;
  occurred_at: Timestamp;
}

export interface IncidentEventsTable {
  id: Id;
  uuid: Defaulted<string>;
  incident_id: number;
  event_type: string;
  /** 'system' | 'api' | 'mcp'. */
  actor_type: string;
  actor_key_prefix: Nullable<string>;
  actor_key_name: Nullable<string>;
  api_key_id: Nullable<number>;
  request_id: Nullable<string>;
  /** No FK: the event outlives the alert. */
  alert_id: Nullable<number>;
  references: JsonDefault;
  created_at: TimestampDefault;
}

export interface IncidentFindingsTable {
  id: Id;
  uuid: Defaulted<string>;
  incident_id: number;
  agent_name: string;
  summary: string;
  confidence: Nullable<string>;
  recommended_action: Nullable<string>;
  evidence: NullableJson;
  posted_by: NullableJson;
  posted_at: TimestampDefault;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

// ---------------------------------------------------------------- 0019_incident_delivery

/** Per (incident, agent): a `deliver-incident` job is scheduled for `due_at` and has not cut its revision yet. */
export interface IncidentDeliveryCursorsTable {
  incident_id: number;
  agent_registration_id: number;
  due_at: NullableTimestamp;
}

/** One revision of an incident delivered to a per-incident agent (unique per incident, agent, revision). */
export interface IncidentDeliveriesTable {
  id: Id;
  uuid: Defaulted<string>;
  incident_id: number;
  agent_registration_id: number;
  revision: number;
  /** 'incident.opened' (revision 1) | 'incident.updated'. */
  event: string;
  idempotency_key: string;
  /** Member alert ids this revision covers, and those new since the previous one (JSON arrays: write JSON.stringify). */
  alert_ids: ColumnType<number[], string, string>;
  added_alert_ids: ColumnType<number[], string, string>;
  status: Defaulted<string>;
  attempt_count: Defaulted<number>;
  attempts: ColumnType<JsonObject[], string | undefined, string>;
  /** Liveness id of the process making the current attempt. */
  claimed_by: Nullable<number>;
  next_attempt_at: NullableTimestamp;
  request_payload: NullableJson;
  payload_bytes: Nullable<number>;
  token_count: Nullable<number>;
  response_status_code: Nullable<number>;
  response_body: NullableJson;
  error: Nullable<string>;
  duration_ms: Nullable<number>;
  started_at: NullableTimestamp;
  completed_at: NullableTimestamp;
  created_at: TimestampDefault;
  updated_at: TimestampDefault;
}

// ---------------------------------------------------------------- database

export interface Database {
  detection_rules: DetectionRulesTable;
  alerts: AlertsTable;
  alert_fingerprints: AlertFingerprintsTable;
  indicators: IndicatorsTable;
  alert_indicators: AlertIndicatorsTable;
  indicator_history: IndicatorHistoryTable;
  api_keys: ApiKeysTable;
  source_integrations: SourceIntegrationsTable;
  indicator_field_mappings: IndicatorFieldMappingsTable;
  rate_limit_buckets: RateLimitBucketsTable;
  settings: SettingsTable;
  enrichment_providers: EnrichmentProvidersTable;
  enrichment_field_extractions: EnrichmentFieldExtractionsTable;
  enrichment_cache: EnrichmentCacheTable;
  enrichment_inflight: EnrichmentInflightTable;
  provider_rate_state: ProviderRateStateTable;
  context_documents: ContextDocumentsTable;
  context_document_versions: ContextDocumentVersionsTable;
  workflows: WorkflowsTable;
  workflow_code_versions: WorkflowCodeVersionsTable;
  workflow_runs: WorkflowRunsTable;
  workflow_approval_requests: WorkflowApprovalRequestsTable;
  workflow_secrets: WorkflowSecretsTable;
  agent_registrations: AgentRegistrationsTable;
  agent_runs: AgentRunsTable;
  activity_events: ActivityEventsTable;
  users: UsersTable;
  sessions: SessionsTable;
  oidc_logins: OidcLoginsTable;
  incidents: IncidentsTable;
  incident_alerts: IncidentAlertsTable;
  incident_correlation_keys: IncidentCorrelationKeysTable;
  incident_events: IncidentEventsTable;
  incident_findings: IncidentFindingsTable;
  incident_delivery_cursors: IncidentDeliveryCursorsTable;
  incident_deliveries: IncidentDeliveriesTable;
}

// ---------------------------------------------------------------- row aliases

export type DetectionRuleRow = Selectable<DetectionRulesTable>;
export type NewDetectionRuleRow = Insertable<DetectionRulesTable>;
export type DetectionRuleRowUpdate = Updateable<DetectionRulesTable>;

export type AlertRow = Selectable<AlertsTable>;
export type NewAlertRow = Insertable<AlertsTable>;
export type AlertRowUpdate = Updateable<AlertsTable>;

export type IndicatorRow = Selectable<IndicatorsTable>;
export type NewIndicatorRow = Insertable<IndicatorsTable>;
export type IndicatorRowUpdate = Updateable<IndicatorsTable>;

export type AlertIndicatorRow = Selectable<AlertIndicatorsTable>;
export type NewAlertIndicatorRow = Insertable<AlertIndicatorsTable>;
export type AlertIndicatorRowUpdate = Updateable<AlertIndicatorsTable>;

export type ApiKeyRow = Selectable<ApiKeysTable>;
export type NewApiKeyRow = Insertable<ApiKeysTable>;
export type ApiKeyRowUpdate = Updateable<ApiKeysTable>;

export type SourceIntegrationRow = Selectable<SourceIntegrationsTable>;
export type NewSourceIntegrationRow = Insertable<SourceIntegrationsTable>;
export type SourceIntegrationRowUpdate = Updateable<SourceIntegrationsTable>;

export type IndicatorFieldMappingRow = Selectable<IndicatorFieldMappingsTable>;
export type NewIndicatorFieldMappingRow = Insertable<IndicatorFieldMappingsTable>;
export type IndicatorFieldMappingRowUpdate = Updateable<IndicatorFieldMappingsTable>;

export type RateLimitBucketRow = Selectable<RateLimitBucketsTable>;
export type NewRateLimitBucketRow = Insertable<RateLimitBucketsTable>;
export type RateLimitBucketRowUpdate = Updateable<RateLimitBucketsTable>;

export type SettingRow = Selectable<SettingsTable>;
export type NewSettingRow = Insertable<SettingsTable>;
export type SettingRowUpdate = Updateable<SettingsTable>;

export type EnrichmentProviderRow = Selectable<EnrichmentProvidersTable>;
export type NewEnrichmentProviderRow = Insertable<EnrichmentProvidersTable>;
export type EnrichmentProviderRowUpdate = Updateable<EnrichmentProvidersTable>;

export type EnrichmentFieldExtractionRow = Selectable<EnrichmentFieldExtractionsTable>;
export type NewEnrichmentFieldExtractionRow = Insertable<EnrichmentFieldExtractionsTable>;
export type EnrichmentFieldExtractionRowUpdate = Updateable<EnrichmentFieldExtractionsTable>;

export type EnrichmentCacheRow = Selectable<EnrichmentCacheTable>;
export type NewEnrichmentCacheRow = Insertable<EnrichmentCacheTable>;
export type EnrichmentCacheRowUpdate = Updateable<EnrichmentCacheTable>;

export type EnrichmentInflightRow = Selectable<EnrichmentInflightTable>;
export type NewEnrichmentInflightRow = Insertable<EnrichmentInflightTable>;
export type EnrichmentInflightRowUpdate = Updateable<EnrichmentInflightTable>;

export type ProviderRateStateRow = Selectable<ProviderRateStateTable>;
export type NewProviderRateStateRow = Insertable<ProviderRateStateTable>;
export type ProviderRateStateRowUpdate = Updateable<ProviderRateStateTable>;

export type ContextDocumentRow = Selectable<ContextDocumentsTable>;
export type NewContextDocumentRow = Insertable<ContextDocumentsTable>;
export type ContextDocumentRowUpdate = Updateable<ContextDocumentsTable>;

export type ContextDocumentVersionRow = Selectable<ContextDocumentVersionsTable>;
export type NewContextDocumentVersionRow = Insertable<ContextDocumentVersionsTable>;
export type ContextDocumentVersionRowUpdate = Updateable<ContextDocumentVersionsTable>;

export type WorkflowRow = Selectable<WorkflowsTable>;
export type NewWorkflowRow = Insertable<WorkflowsTable>;
export type WorkflowRowUpdate = Updateable<WorkflowsTable>;

export type WorkflowCodeVersionRow = Selectable<WorkflowCodeVersionsTable>;
export type NewWorkflowCodeVersionRow = Insertable<WorkflowCodeVersionsTable>;
export type WorkflowCodeVersionRowUpdate = Updateable<WorkflowCodeVersionsTable>;

export type WorkflowRunRow = Selectable<WorkflowRunsTable>;
export type NewWorkflowRunRow = Insertable<WorkflowRunsTable>;
export type WorkflowRunRowUpdate = Updateable<WorkflowRunsTable>;

export type WorkflowApprovalRequestRow = Selectable<WorkflowApprovalRequestsTable>;
export type NewWorkflowApprovalRequestRow = Insertable<WorkflowApprovalRequestsTable>;
export type WorkflowApprovalRequestRowUpdate = Updateable<WorkflowApprovalRequestsTable>;

export type WorkflowSecretRow = Selectable<WorkflowSecretsTable>;
export type NewWorkflowSecretRow = Insertable<WorkflowSecretsTable>;
export type WorkflowSecretRowUpdate = Updateable<WorkflowSecretsTable>;

export type AgentRegistrationRow = Selectable<AgentRegistrationsTable>;
export type NewAgentRegistrationRow = Insertable<AgentRegistrationsTable>;
export type AgentRegistrationRowUpdate = Updateable<AgentRegistrationsTable>;

export type AgentRunRow = Selectable<AgentRunsTable>;
export type NewAgentRunRow = Insertable<AgentRunsTable>;
export type AgentRunRowUpdate = Updateable<AgentRunsTable>;

export type ActivityEventRow = Selectable<ActivityEventsTable>;
export type NewActivityEventRow = Insertable<ActivityEventsTable>;
export type ActivityEventRowUpdate = Updateable<ActivityEventsTable>;

export type IncidentRow = Selectable<IncidentsTable>;
export type NewIncidentRow = Insertable<IncidentsTable>;
export type IncidentRowUpdate = Updateable<IncidentsTable>;

export type IncidentAlertRow = Selectable<IncidentAlertsTable>;
export type NewIncidentAlertRow = Insertable<IncidentAlertsTable>;
export type IncidentAlertRowUpdate = Updateable<IncidentAlertsTable>;

export type IncidentCorrelationKeyRow = Selectable<IncidentCorrelationKeysTable>;
export type NewIncidentCorrelationKeyRow = Insertable<IncidentCorrelationKeysTable>;
export type IncidentCorrelationKeyRowUpdate = Updateable<IncidentCorrelationKeysTable>;

export type IncidentEventRow = Selectable<IncidentEventsTable>;
export type NewIncidentEventRow = Insertable<IncidentEventsTable>;
export type IncidentEventRowUpdate = Updateable<IncidentEventsTable>;

export type IncidentFindingRow = Selectable<IncidentFindingsTable>;
export type NewIncidentFindingRow = Insertable<IncidentFindingsTable>;
export type IncidentFindingRowUpdate = Updateable<IncidentFindingsTable>;

/** A Kysely handle (or transaction) on this schema: the one `Db` type every package uses. */
export type Db = Kysely<Database>;
