import { z } from 'zod';
import { AlertSeveritySchema, IndicatorTypeSchema } from './enums.js';

/**
 * The agent-native alert every source plugin normalizes to. The optional indicator-bearing fields
 * (`src_ip` … `email_reply_to`) feed the system indicator mappings (extraction pass 2), so plugins
 * should fill every one they can.
 */
export const NormalizedAlertSchema = z.object({
  title: z.string().min(1),
  severity: AlertSeveritySchema,
  /**
   * The vendor's own severity value as text (see `normalizeSeverity`); absent or null when the source
   * sent none. Core re-reads it when `severity` is Pending: Pending is kept only when nothing was sent.
   */
  severity_raw: z.string().nullable().optional(),
  /** True when `severity_raw` was present but unreadable (`severity` then holds a visible default). */
  severity_unmapped: z.boolean().optional(),
  /** ISO-8601 with offset, or null when the source gave no parseable time. Never silently "now". */
  occurred_at: z.string().datetime({ offset: true }).nullable(),
  source_name: z.string().min(1),
  description: z.string().nullable().default(null),
  src_ip: z.string().optional(),
  dst_ip: z.string().optional(),
  src_hostname: z.string().optional(),
  dst_hostname: z.string().optional(),
  file_hash_md5: z.string().optional(),
  file_hash_sha1: z.string().optional(),
  file_hash_sha256: z.string().optional(),
  actor_email: z.string().optional(),
  actor_username: z.string().optional(),
  dns_query: z.string().optional(),
  http_url: z.string().optional(),
  http_hostname: z.string().optional(),
  email_from: z.string().optional(),
  email_reply_to: z.string().optional(),
  tags: z.array(z.string()).default([]),
  /** Source facts an analyst or agent needs that have no dedicated field (process lineage, counts…). */
  extra: z.record(z.string(), z.unknown()).default({}),
});
export type NormalizedAlert = z.infer<typeof NormalizedAlertSchema>;
export type NormalizedAlertInput = z.input<typeof NormalizedAlertSchema>;

/** The 14 normalized fields that carry indicators, with their indicator type (system mappings). */
export const NORMALIZED_INDICATOR_FIELDS = [
  ['src_ip', 'ip'],
  ['dst_ip', 'ip'],
  ['src_hostname', 'domain'],
  ['dst_hostname', 'domain'],
  ['file_hash_md5', 'hash_md5'],
  ['file_hash_sha256', 'hash_sha256'],
  ['file_hash_sha1', 'hash_sha1'],
  ['actor_email', 'email'],
  ['actor_username', 'account'],
  ['dns_query', 'domain'],
  ['http_url', 'url'],
  ['http_hostname', 'domain'],
  ['email_from', 'email'],
  ['email_reply_to', 'email'],
] as const satisfies ReadonlyArray<readonly [keyof NormalizedAlert, z.infer<typeof IndicatorTypeSchema>]>;

export const ExtractedIndicatorSchema = z.object({
  type: IndicatorTypeSchema,
  value: z.string().min(1),
  /** Where the value was found, e.g. `Entities.ip`, `normalized.src_ip`, `raw_payload.a.b`. */
  source_field: z.string(),
});
export type ExtractedIndicator = z.infer<typeof ExtractedIndicatorSchema>;

/** A candidate indicator the per-type validation refused before storage, and why. */
export const RefusedIndicatorSchema = z.object({
  type: IndicatorTypeSchema,
  /** The candidate value, cut to 256 characters. */
  value: z.string(),
  /** Where it was found, as `source_field` of an indicator. */
  field: z.string(),
  pass_name: z.enum(['source_plugin', 'normalized_mappings', 'raw_payload_mappings']),
  /** e.g. `hash_length`, `hash_placeholder`, `id_field`, `domain_invalid`, `too_long`, `placeholder`. */
  reason: z.string(),
  detail: z.string(),
});
export type RefusedIndicator = z.infer<typeof RefusedIndicatorSchema>;

/** What a plugin knows about the detection rule that fired. */
export const DetectionRuleRefSchema = z.object({
  source_rule_id: z.string().min(1),
  /** Human name of the rule; stubs are named after it rather than after a GUID. */
  name: z.string().min(1).optional(),
  severity: z.string().optional(),
  description: z.string().optional(),
  mitre_tactics: z.array(z.string()).optional(),
  mitre_techniques: z.array(z.string()).optional(),
});
export type DetectionRuleRef = z.infer<typeof DetectionRuleRefSchema>;
