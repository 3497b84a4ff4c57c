/**
 * @calseta/plugin-sdk — what a Calseta plugin is written against: the AlertSource contract and the
 * helpers every source needs (path lookup, timestamps, severities, indicators, signatures), enrichment
 * providers as data (`defineEnrichmentProvider`) with the semantics of their templates, malice rules
 * and field extractions, and `definePlugin` for a plugin package. The conformance kit is
 * `@calseta/plugin-sdk/testing`.
 */

export type { AlertSeverity, IndicatorType } from '@calseta/schema';
export type {
  AlertSource,
  DetectionRuleRef,
  DocumentedExtraction,
  ExtractedIndicator,
  NormalizedAlert,
  NormalizedAlertInput,
  PayloadIssue,
  ValidationResult,
  WebhookRequest,
} from './alert-source.js';
export { defineAlertSource } from './alert-source.js';
export type { BuiltinAuthSpec, BuiltinProvider } from './builtin-provider.js';
export type { EnrichmentProviderPlugin, EnrichmentProviderPluginInput } from './enrichment-provider.js';
export { defineEnrichmentProvider } from './enrichment-provider.js';
export type { DetectionRuleFields, NormalizeSeverityOptions, SeverityResult, SeverityScale } from './helpers.js';
export {
  COMMON_SEVERITIES,
  collectIndicators,
  detectionRuleRef,
  firstPath,
  getPath,
  hmacSignature,
  indicator,
  isRecord,
  mapSeverity,
  normalizeSeverity,
  parseTimestamp,
  pickSeverity,
  safeEqual,
  sharedSecretHeader,
  str,
  strings,
  verifyHmacSha256,
  webhookHeader,
} from './helpers.js';
export type { IndicatorCheck, IndicatorRefusalReason } from './indicator-check.js';
export {
  checkIndicator,
  INDICATOR_MAX_BYTES,
  isDomainName,
  isEmailAddress,
  isIdentifierField,
  isPrivateIp,
  MAX_INDICATORS_PER_ALERT,
} from './indicator-check.js';
export type { CalsetaPlugin, CalsetaPluginInput } from './plugin.js';
export { definePlugin, isCalsetaPlugin } from './plugin.js';
// The meaning of a provider definition: one implementation, used by the enrichment engine and the kit.
export { checkHttpConfig, requiredAuthKeys } from './provider/check.js';
export type { Coerced } from './provider/extract.js';
export { coerce, extractFields, toFloat } from './provider/extract.js';
export type { MaliceEvaluation, VerdictContext } from './provider/malice.js';
export { evaluateMalice, jsonEqual, matchesOperator, notFoundVerdict } from './provider/malice.js';
export { resolvePath, resolveSegments, splitPath } from './provider/path.js';
export { authSentAsCredential, resultSteps, stepName, stepUrlTemplate } from './provider/steps.js';
export type {
  Placeholder,
  RenderOptions,
  TemplateErrorCode,
  TemplateFilter,
  TemplatePosition,
  TemplateRef,
  TemplateScope,
  TemplateToken,
} from './provider/template.js';
export {
  encodeComponent,
  lookup,
  MASK,
  parsePlaceholder,
  parseTemplate,
  placeholdersOf,
  renderJson,
  renderTemplate,
  TEMPLATE_FILTERS,
  TemplateError,
} from './provider/template.js';
