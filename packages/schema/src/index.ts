/**
 * @calseta/schema — the zod schemas of the Calseta domain and API. zod is the only dependency.
 * Named exports only: everything public is listed here.
 */

export type {
  DetectionRuleRef,
  ExtractedIndicator,
  NormalizedAlert,
  NormalizedAlertInput,
  RefusedIndicator,
} from './alert.js';
export {
  DetectionRuleRefSchema,
  ExtractedIndicatorSchema,
  NORMALIZED_INDICATOR_FIELDS,
  NormalizedAlertSchema,
  RefusedIndicatorSchema,
} from './alert.js';
export type {
  ActivityEvent,
  Alert,
  AlertIndicator,
  AlertListQuery,
  AlertPatch,
  AlertSummary,
  Finding,
  Indicator,
  IndicatorAddRequest,
  IndicatorAddResult,
  IndicatorDetail,
  IndicatorPatch,
  IngestAccepted,
} from './alerts.js';
export {
  ActivityEventSchema,
  AlertIndicatorSchema,
  AlertIngestRequestSchema,
  AlertListQuerySchema,
  AlertPatchSchema,
  AlertSchema,
  AlertSummarySchema,
  DetectionRuleSummarySchema,
  FindingSchema,
  IndicatorAddRequestSchema,
  IndicatorAddResultSchema,
  IndicatorDetailSchema,
  IndicatorPatchSchema,
  IndicatorSchema,
  IngestAcceptedSchema,
} from './alerts.js';
export type { ApiKey, ApiKeyCreate, ApiKeyCreated, ApiKeyUpdate } from './api-keys.js';
export { ApiKeyCreatedSchema, ApiKeyCreateSchema, ApiKeySchema, ApiKeyUpdateSchema } from './api-keys.js';
export type { PageMeta, PageQuery } from './common.js';
export {
  dataEnvelope,
  PageMetaSchema,
  PageQuerySchema,
  pageEnvelope,
  SortOrderSchema,
  TimestampSchema,
  UuidSchema,
} from './common.js';
export type {
  ActivityEventType,
  ActorType,
  AlertSeverity,
  AlertStatus,
  ApiKeyType,
  CloseClassification,
  EnrichmentStatus,
  FindingConfidence,
  IndicatorMappingTarget,
  IndicatorType,
  MaliceLevel,
  Scope,
} from './enums.js';
export {
  ActivityEventTypeSchema,
  ActorTypeSchema,
  AlertSeveritySchema,
  AlertStatusSchema,
  ApiKeyTypeSchema,
  CloseClassificationSchema,
  EnrichmentStatusSchema,
  FindingConfidenceSchema,
  INDICATOR_TYPES,
  IndicatorMappingTargetSchema,
  IndicatorTypeSchema,
  MALICE_WEIGHT,
  MaliceLevelSchema,
  SCOPES,
  ScopeSchema,
  SEVERITY_WEIGHT,
} from './enums.js';
export type { ErrorCode, ErrorEnvelope } from './errors.js';
export { ErrorCodeSchema, ErrorEnvelopeSchema } from './errors.js';
export type {
  ExtractionPass,
  IndicatorMapping,
  IndicatorMappingCreate,
  IndicatorMappingUpdate,
  TestExtractionResult,
} from './mappings.js';
export {
  ExtractionPassSchema,
  IndicatorMappingCreateSchema,
  IndicatorMappingListQuerySchema,
  IndicatorMappingSchema,
  IndicatorMappingUpdateSchema,
  TestExtractionRequestSchema,
  TestExtractionResultSchema,
} from './mappings.js';

// Enrichment provider definitions and results (enrichment.ts).

export * from './agents.js';
export * from './approvals.js';
export * from './context-api.js';
export type {
  EnrichmentProviderResult,
  EnrichmentRequest,
  EnrichmentSummary,
  ExtractionValueType,
  FailureReason,
  FieldExtraction,
  FieldExtractionInput,
  HttpConfig,
  HttpConfigInput,
  HttpMethod,
  HttpStep,
  MaliceOperator,
  MaliceRule,
  MaliceRules,
  MaliceRulesInput,
  OnDemandEnrichment,
  ProviderDefinition,
  ProviderDefinitionInput,
  ProviderResultSummary,
  ProviderRunStatus,
  ProviderStatus,
  ProviderStepDebug,
  ProviderTally,
  SkipReason,
  VerdictExplanation,
  VerdictReason,
} from './enrichment.js';
export {
  EnrichmentProviderResultSchema,
  EnrichmentRequestSchema,
  EnrichmentSummarySchema,
  ExtractionValueTypeSchema,
  FailureReasonSchema,
  FieldExtractionSchema,
  HttpConfigSchema,
  HttpMethodSchema,
  HttpStepSchema,
  JsonPathSchema,
  MaliceOperatorSchema,
  MaliceRuleSchema,
  MaliceRulesSchema,
  OnDemandEnrichmentSchema,
  ProviderDefinitionSchema,
  ProviderResultSummarySchema,
  ProviderRunStatusSchema,
  ProviderStatusSchema,
  ProviderStepDebugSchema,
  ProviderTallySchema,
  SkipReasonSchema,
  StepNameSchema,
  VerdictExplanationSchema,
  VerdictReasonSchema,
} from './enrichment.js';
// Enrichment provider / field extraction admin API (see enrichment-api.ts).
export * from './enrichment-api.js';
export * from './incident-payload.js';
export * from './incidents.js';
export * from './metrics.js';
export {
  type AgentPayloadDoc,
  AgentPayloadSchema,
  PayloadIndicatorSchema,
  PayloadRelatedAlertSchema,
  ProviderFactsSchema,
  type RelatedAlert,
  RelatedAlertSchema,
  TokenBudgetQuerySchema,
  TrimNoteSchema,
} from './payload.js';
export * from './security.js';
export type { TargetingField, TargetingOp, TargetingRule, TargetingRules } from './targeting.js';
export { TargetingFieldSchema, TargetingOpSchema, TargetingRuleSchema, TargetingRulesSchema } from './targeting.js';
export * from './users.js';
export * from './workflows.js';
