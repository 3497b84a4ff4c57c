/**
 * @calseta/plugin-sdk — what a Calseta plugin is written against: the AlertSource contract and the
 * helpers every source needs (path lookup, timestamps, severities, indicators, signatures).
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
export type { DetectionRuleFields } from './helpers.js';
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
  parseTimestamp,
  safeEqual,
  sharedSecretHeader,
  str,
  strings,
  verifyHmacSha256,
  webhookHeader,
} from './helpers.js';
