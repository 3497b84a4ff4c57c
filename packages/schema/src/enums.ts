import { z } from 'zod';

/** Enumerations of the domain. Values are the exact wire strings of the reference API (v1.1.0). */

export const AlertStatusSchema = z.enum(['Open', 'Triaging', 'Escalated', 'Closed']);
export type AlertStatus = z.infer<typeof AlertStatusSchema>;

export const AlertSeveritySchema = z.enum(['Pending', 'Informational', 'Low', 'Medium', 'High', 'Critical']);
export type AlertSeverity = z.infer<typeof AlertSeveritySchema>;

/** Sort/compare weight of a severity: Critical 5 … Informational 1, Pending 0. */
export const SEVERITY_WEIGHT: Readonly<Record<AlertSeverity, number>> = {
  Pending: 0,
  Informational: 1,
  Low: 2,
  Medium: 3,
  High: 4,
  Critical: 5,
};

/** `Partial` is ours: some providers succeeded and some failed (the reference said `Enriched` for both). */
export const EnrichmentStatusSchema = z.enum(['Pending', 'Enriched', 'Partial', 'Failed', 'Skipped']);
export type EnrichmentStatus = z.infer<typeof EnrichmentStatusSchema>;

export const CloseClassificationSchema = z.enum([
  'True Positive - Suspicious Activity',
  'Benign Positive - Suspicious but Expected',
  'False Positive - Incorrect Detection Logic',
  'False Positive - Inaccurate Data',
  'Undetermined',
  'Duplicate',
  'Not Applicable',
]);
export type CloseClassification = z.infer<typeof CloseClassificationSchema>;

/**
 * `Pending`: not enriched yet (or waiting on a rate-limited provider). Ours, after enrichment finished:
 * `Unknown` — no provider could judge the value (none answered, or answers carried no judgement);
 * `Context` — providers described it (identity providers: Okta, Entra) but none judges maliciousness.
 */
export const MaliceLevelSchema = z.enum(['Pending', 'Unknown', 'Context', 'Benign', 'Suspicious', 'Malicious']);
export type MaliceLevel = z.infer<typeof MaliceLevelSchema>;

/** Worst-of order: any judgement outranks a description, a description outranks "could not judge". */
export const MALICE_WEIGHT: Readonly<Record<MaliceLevel, number>> = {
  Pending: 0,
  Unknown: 1,
  Context: 2,
  Benign: 3,
  Suspicious: 4,
  Malicious: 5,
};

export const IndicatorTypeSchema = z.enum([
  'ip',
  'domain',
  'hash_md5',
  'hash_sha1',
  'hash_sha256',
  'url',
  'email',
  'account',
]);
export type IndicatorType = z.infer<typeof IndicatorTypeSchema>;
export const INDICATOR_TYPES = IndicatorTypeSchema.options;

export const ScopeSchema = z.enum([
  'alerts:read',
  'alerts:write',
  'enrichments:read',
  'workflows:read',
  'workflows:write',
  'workflows:execute',
  'approvals:write',
  'agents:read',
  'agents:write',
  'admin',
]);
export type Scope = z.infer<typeof ScopeSchema>;
export const SCOPES = ScopeSchema.options;

export const ApiKeyTypeSchema = z.enum(['human', 'agent']);
export type ApiKeyType = z.infer<typeof ApiKeyTypeSchema>;

export const IndicatorMappingTargetSchema = z.enum(['normalized', 'raw_payload']);
export type IndicatorMappingTarget = z.infer<typeof IndicatorMappingTargetSchema>;

export const ActorTypeSchema = z.enum(['system', 'api', 'mcp']);
export type ActorType = z.infer<typeof ActorTypeSchema>;

export const ActivityEventTypeSchema = z.enum([
  'alert_ingested',
  'alert_deduplicated',
  'alert_escalated',
  'alert_indicators_extracted',
  'alert_enrichment_completed',
  'alert_status_updated',
  'alert_closed',
  'alert_severity_updated',
  'alert_tags_updated',
  'alert_classification_updated',
  'alert_deleted',
  'indicator_mapping_created',
  'indicator_mapping_updated',
  'indicator_mapping_deleted',
  'alert_finding_added',
  'alert_indicators_added',
  'alert_malice_updated',
  'indicator_malice_updated',
  'workflow_executed',
  'workflow_approval_requested',
  'workflow_approval_responded',
  'agent_webhook_dispatched',
  'alert_workflow_triggered',
  'detection_rule_created',
  'detection_rule_updated',
  'api_key_created',
  'api_key_updated',
  'api_key_revoked',
  'auth_failed',
  'user_signed_in',
  'user_sign_in_refused',
  'user_updated',
  'user_sessions_revoked',
  'enrichment_provider_created',
  'enrichment_provider_updated',
  'enrichment_provider_deleted',
  'enrichment_extraction_created',
  'enrichment_extraction_updated',
  'enrichment_extraction_deleted',
  'detection_rule_deleted',
  'context_document_created',
  'context_document_updated',
  'context_document_deleted',
  'agent_created',
  'agent_updated',
  'agent_deleted',
  'agent_signing_secret_rotated',
  'workflow_created',
  'workflow_updated',
  'workflow_deleted',
  'workflow_secret_set',
  'api_write',
]);
export type ActivityEventType = z.infer<typeof ActivityEventTypeSchema>;

export const FindingConfidenceSchema = z.enum(['low', 'medium', 'high']);
export type FindingConfidence = z.infer<typeof FindingConfidenceSchema>;
