/**
 * @calseta/enrichment-engine — runs database-defined enrichment providers against indicators.
 * Pure: no database, queue or network of its own; everything goes through the ports. Named exports only.
 */

export type { AggregateOptions, AggregateVerdict, AnalystOverride } from './aggregate.js';
export { aggregateVerdict, isDeferred, worstVerdict } from './aggregate.js';
export { checkHttpConfig, requiredAuthKeys } from './check.js';
export type {
  AuthResolver,
  EnrichIndicatorInput,
  EnrichIndicatorOutcome,
  EnrichOptions,
  ProviderRun,
  RunProviderInput,
  TestProviderInput,
} from './engine.js';
export {
  cacheKey,
  cacheTtlSeconds,
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_NEGATIVE_TTL_CAP_SECONDS,
  DEFAULT_TTL_BY_TYPE,
  defineProvider,
  enrichIndicator,
  runProvider,
  testProvider,
} from './engine.js';
export type { Enrichability, EnrichabilityOptions, IpClassification } from './enrichable.js';
export { checkEnrichable, classifyIp, INTERNAL_DOMAIN_SUFFIXES, isGlobalIp, parseIp } from './enrichable.js';
export type { Coerced } from './extract.js';
export { coerce, extractFields, toFloat } from './extract.js';
export type { MaliceEvaluation, VerdictContext } from './malice.js';
export { evaluateMalice, jsonEqual, matchesOperator, notFoundVerdict } from './malice.js';
export { isSensitiveName } from './mask.js';
export { resolvePath, splitPath } from './path.js';
export type {
  CachePort,
  CoalescePort,
  EnginePorts,
  HttpPort,
  HttpRequest,
  HttpResponse,
  IndicatorRef,
  PortErrorCode,
  RateDecision,
  RatePort,
} from './ports.js';
export { PortError } from './ports.js';
export type { RedactOptions } from './redact.js';
export { REDACTED, redactCredentials, redactText } from './redact.js';
export type { RateLimitHint, RunStepsInput, StepFailure, StepsOutcome } from './steps.js';
export {
  DEFAULT_RETRY_AFTER_MS,
  DEFAULT_STEP_TIMEOUT_MS,
  decodeBody,
  parseRetryAfter,
  runSteps,
  stepName,
  stepTimeoutMs,
  stepUrlTemplate,
} from './steps.js';
export type {
  Placeholder,
  RenderOptions,
  TemplateErrorCode,
  TemplateFilter,
  TemplatePosition,
  TemplateRef,
  TemplateScope,
  TemplateToken,
} from './template.js';
export {
  encodeComponent,
  MASK,
  parsePlaceholder,
  parseTemplate,
  placeholdersOf,
  renderJson,
  renderTemplate,
  TEMPLATE_FILTERS,
  TemplateError,
} from './template.js';
