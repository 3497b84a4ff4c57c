/**
 * @calseta/core — the service layer shared by the API, worker and MCP server: one verb per
 * operation, the pipeline steps, the job queue, auth and the activity log. Transports stay thin.
 */

export type { Db } from '@calseta/db';
export { listActivity } from './activity/list.js';
export * from './agents/index.js';
export {
  type AlertDetail,
  alertListStatements,
  getAlert,
  listAlertActivity,
  listAlertIndicators,
  listAlerts,
} from './alerts/read.js';
export { addAlertIndicators, deleteAlert, patchAlert, patchAlertFrom } from './alerts/write.js';
export * from './approvals/index.js';
export {
  createApiKey,
  createPersonalApiKey,
  getApiKey,
  listApiKeys,
  listPersonalApiKeys,
  revokeApiKey,
  revokePersonalApiKey,
  updateApiKey,
} from './auth/api-keys.js';
export { type ApiWrite, type AuthFailure, recordApiWrite, recordAuthFailure } from './auth/audit.js';
export { clientIp, parseTrustedProxies, type TrustedProxies } from './auth/client-ip.js';
export {
  type Admission,
  admit,
  auditWrite,
  checkPermissions,
  countRequest,
  GateEnvSchema,
  type GateOptions,
  type GateRequest,
  type GateSite,
  gateOptionsFrom,
  readCapped,
} from './auth/gate.js';
export { authenticate, generateApiKey, hashApiKey, hasScope, requireScope, usableKeyIds } from './auth/keys.js';
export type { Permission } from './auth/permissions.js';
export { authorize, PERMISSIONS } from './auth/permissions.js';
export {
  hitRateLimit,
  type RateLimitClass,
  type RateLimitConfig,
  type RateLimitResult,
  rateLimitClassOf,
} from './auth/rate-limit.js';
export { ownedKeyScopes, ROLE_SCOPES, scopesOfRoles, scopesWithinRoles } from './auth/roles.js';
export {
  createSession,
  csrfTokenMatches,
  DEFAULT_SESSION_POLICY,
  endSession,
  type ResolvedSession,
  resolveSession,
  SESSION_COOKIE,
  type SessionPolicy,
} from './auth/sessions.js';
export { ProcessEnvSchema, parseProcessEnv, sharedCoreConfig } from './config.js';
export * from './context/index.js';
export { matchesTargeting, type TargetingSubject } from './context/targeting.js';
export { contextFor } from './context-for.js';
export { type Core, type CreateCoreOptions, createCore } from './create-core.js';
// Enrichment provider and field extraction administration.
export * from './enrichment/admin.js';
export { enrichOnDemand, listProviderStatus, requestAlertEnrichment } from './enrichment/on-demand.js';
export { seedBuiltinProviders } from './enrichment/seed.js';
export {
  DEFAULT_INCIDENT_DEBOUNCE_SECONDS,
  dispatchIncidentUpdates,
  EVENT_INCIDENT_OPENED,
  EVENT_INCIDENT_UPDATED,
  type IncidentDispatchResult,
  listIncidentDeliveries,
  runIncidentDelivery,
} from './incidents/delivery.js';
export * from './incidents/index.js';
export {
  buildIncidentPayload,
  composeIncidentPayload,
  DEFAULT_INCIDENT_TOKEN_BUDGET,
  INCIDENT_PAYLOAD_SCHEMA,
  type IncidentPayloadSources,
  type IncidentRevision,
  loadIncidentPayloadSources,
} from './incidents/payload.js';
export { findIndicator, getIndicator, patchIndicator } from './indicators/indicators.js';
export { recordActivity, redact } from './infra/activity.js';
export type { Actor, AuthenticatedKey, CoreConfig, CoreDeps, ServiceContext } from './infra/context.js';
export { SYSTEM } from './infra/context.js';
export {
  type BuiltinAuthSpec,
  type BuiltinProvider,
  missingBuiltinAuth,
  resolveBuiltinAuth,
} from './infra/enrichment/builtin-auth.js';
export type { LoadedProvider, ResolvedAuth } from './infra/enrichment/registry.js';
export {
  PROVIDERS_CHANNEL,
  ProviderRegistry,
  providerDefinition,
  resolveProviderAuth,
} from './infra/enrichment/registry.js';
export type { EnrichmentConfig } from './infra/enrichment/runtime.js';
export {
  EnrichmentRuntime,
  PROVIDER_ENV_PREFIX,
  parseAllowedHosts,
  providerEnvFrom,
  safeHttpPort,
} from './infra/enrichment/runtime.js';
export { ERROR_STATUS, notFound, ServiceError } from './infra/errors.js';
export {
  checkOutboundUrl,
  createSafeFetch,
  OUTBOUND_PURPOSES,
  OutboundBlockedError,
  type OutboundConfig,
  type OutboundPolicy,
  type OutboundPurpose,
  OutboundRequestError,
  policyFor,
} from './infra/http/index.js';
export { isUuid, newUuid } from './infra/ids.js';
export {
  type ApprovalEvent,
  type ApprovalNotifier,
  type GenerationConfig,
  type Integrations,
  NO_INTEGRATIONS,
  type WorkflowIntegration,
  type WorkflowModel,
  type WorkflowModelConnector,
} from './infra/integrations.js';
export type { JobName, JobPayload } from './infra/jobs/catalogue.js';
export { JOB_NAMES, JOBS } from './infra/jobs/catalogue.js';
export type { Job, JobOutcome } from './infra/jobs/queue.js';
export { JobQueue } from './infra/jobs/queue.js';
export { onApiKeysChanged } from './infra/key-cache.js';
export type { Logger } from './infra/logger.js';
export { createLogger } from './infra/logger.js';
export { isSealed, parseEncryptionKey, type SealedSecret, SecretBox, SecretError } from './infra/secrets/box.js';
export type { Page } from './infra/serialize.js';
export { SourceRegistry } from './infra/source-registry.js';
export {
  collectProcessMetrics,
  metricsRegistry,
  observeHttpRequest,
  renderMetrics,
} from './infra/telemetry/metrics.js';
export type { OpsServer, OpsServerOptions } from './infra/telemetry/ops-server.js';
export { OPS_DEFAULT_PORTS, opsEnvShape, startOpsServer } from './infra/telemetry/ops-server.js';
export type { Tracing, TracingConfig, TracingEnv } from './infra/telemetry/tracing.js';
export {
  serveRequest,
  startTracing,
  TracingEnvSchema,
  tracingConfigFrom,
  withSpan,
} from './infra/telemetry/tracing.js';
export { extractIndicators } from './ingest/extract.js';
export { extractAlertIndicators } from './ingest/extract-alert-indicators.js';
export { fingerprint } from './ingest/fingerprint.js';
export type { IngestInput } from './ingest/ingest-alert.js';
export { ingestAlert } from './ingest/ingest-alert.js';
export {
  createIndicatorMapping,
  deleteIndicatorMapping,
  getIndicatorMapping,
  listIndicatorMappings,
  sourcePluginFields,
  testExtraction,
  updateIndicatorMapping,
} from './mappings/verbs.js';
export * from './metrics/index.js';
export {
  buildAlertPayload,
  DEFAULT_TOKEN_BUDGET,
  type PayloadOptions,
  relatedAlerts,
} from './payload/build.js';
export {
  type AgentPayload,
  composePayload,
  type PayloadDetail,
  type PayloadSources,
  type TrimNote,
} from './payload/compose.js';
export { type KeyFacts, missingFacts } from './payload/facts.js';
export { tokensOf, untrusted } from './payload/text.js';
export { getAlertContext, listRelatedAlerts } from './payload/verbs.js';
export {
  ALERT_ENRICHED_CHANNEL,
  type AlertEnrichedEvent,
  enrichmentStatus,
  mergeResults,
  onAlertEnriched,
} from './pipeline/enrich-alert.js';
export { JOB_HANDLERS } from './pipeline/handlers.js';
export { processAlert } from './pipeline/process-alert.js';
export type { InstalledProviders, LoadedPlugins, LoadPluginsOptions } from './plugins.js';
export { installPluginProviders, loadPlugins, NO_PLUGINS, parsePluginList } from './plugins.js';
export { DEFAULT_APPROVAL_TIMEOUT_SECONDS, getApprovalDefaults } from './settings/approval-defaults.js';
export {
  createSource,
  deleteSource,
  getSource,
  listSources,
  sourceIngestPolicy,
  updateSource,
} from './sources/integrations.js';
export { EXIT_CONFIG, exitOnConfigError } from './startup.js';
export { seedSystemRows } from './system/bootstrap.js';
export type { Health } from './system/health.js';
export { checkHealth, probeHealth } from './system/health.js';
export type { CheckResult, Readiness, ReadinessOptions } from './system/readiness.js';
export { checkReadiness, LIVE, probeReadiness, readinessStatus } from './system/readiness.js';
export { OidcClient, type OidcSettings, type SignInError, safeReturnPath } from './users/oidc.js';
export { claimValues, parseRoleMap, type RoleRule, rolesFromClaims } from './users/role-map.js';
export { getMe, grantAdmin, listUsers, patchUser, revokeUserSessions, signInUser } from './users/users.js';
export * from './workflows/index.js';
