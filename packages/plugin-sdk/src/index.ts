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
export {
  COMMON_SEVERITIES,
  collectIndicators,
  firstPath,
  getPath,
  indicator,
  isRecord,
  mapSeverity,
  parseTimestamp,
  safeEqual,
  str,
  strings,
  verifyHmacSha256,
} from './helpers.js';
