/**
 * Generic webhook: any system that can POST a small JSON document. The payload shape is Calseta's own:
 *
 * ```json
 * {
 *   "title": "…",                                   // required
 *   "severity": "high",                             // critical|high|medium|low|informational|info|pending
 *   "occurred_at": "2024-01-15T10:29:50Z",          // ISO-8601 or Unix epoch (s or ms)
 *   "description": "…",
 *   "tags": ["…"],
 *   "rule_id": "…", "rule_name": "…", "rule_description": "…",
 *   "mitre_tactics": ["TA0001"], "mitre_techniques": ["T1078"],
 *   "indicators": [{ "type": "ip", "value": "1.2.3.4" }],
 *   "src_ip": "…", "dest_ip": "…", "user": "…", …  // see EXTRACTIONS and NORMALIZED below
 *   "extra": { "any": "facts" }
 * }
 * ```
 *
 * Optional HMAC: when a secret is configured for the source, the sender signs the raw body with
 * HMAC-SHA256 and sends the hex digest (optionally prefixed `sha256=`) in `X-Calseta-Signature`.
 */

import type { ExtractedIndicator, IndicatorType, ValidationResult } from '@calseta/plugin-sdk';
import {
  collectIndicators,
  defineAlertSource,
  detectionRuleRef,
  hmacSignature,
  indicator,
  isRecord,
  mapSeverity,
  parseTimestamp,
  str,
} from '@calseta/plugin-sdk';
import type { DetectionRuleRef, NormalizedAlertInput } from '@calseta/schema';
import type { IndicatorFields } from './shared.js';
import { Facts, indicatorFields, notAnObject, result, severityTable, text, textValues } from './shared.js';

const NAME = 'generic';
const SIGNATURE_HEADER = 'x-calseta-signature';

const SEVERITY = severityTable({
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  informational: 'Informational',
  info: 'Informational',
  pending: 'Pending',
});

/** Pass-1 top-level string fields, in extraction order (after the explicit `indicators` array). */
const EXTRACTIONS: ReadonlyArray<{ field: string; type: IndicatorType }> = [
  { field: 'src_ip', type: 'ip' },
  { field: 'dest_ip', type: 'ip' },
  { field: 'source_ip', type: 'ip' },
  { field: 'destination_ip', type: 'ip' },
  { field: 'ip', type: 'ip' },
  { field: 'domain', type: 'domain' },
  { field: 'hostname', type: 'domain' },
  { field: 'url', type: 'url' },
  { field: 'user', type: 'account' },
  { field: 'username', type: 'account' },
  { field: 'email', type: 'email' },
  { field: 'md5', type: 'hash_md5' },
  { field: 'sha1', type: 'hash_sha1' },
  { field: 'sha256', type: 'hash_sha256' },
  { field: 'hash', type: 'hash_sha256' },
];

/**
 * Normalized indicator fields: the field's own name is accepted as is, then the listed aliases, first
 * value wins. (`domain` has no normalized counterpart; Pass 1 still extracts it.)
 */
const NORMALIZED: Readonly<Record<keyof IndicatorFields, readonly string[]>> = {
  src_ip: ['src_ip', 'source_ip', 'ip'],
  dst_ip: ['dst_ip', 'dest_ip', 'destination_ip'],
  src_hostname: ['src_hostname', 'hostname'],
  dst_hostname: ['dst_hostname'],
  file_hash_md5: ['file_hash_md5', 'md5'],
  file_hash_sha1: ['file_hash_sha1', 'sha1'],
  file_hash_sha256: ['file_hash_sha256', 'sha256', 'hash'],
  actor_email: ['actor_email', 'email'],
  actor_username: ['actor_username', 'username', 'user'],
  dns_query: ['dns_query'],
  http_url: ['http_url', 'url'],
  http_hostname: ['http_hostname'],
  email_from: ['email_from'],
  email_reply_to: ['email_reply_to'],
};

/** Top-level fields with a dedicated home; every other top-level scalar is kept in `extra`. */
const CONSUMED = new Set<string>([
  'title',
  'severity',
  'occurred_at',
  'description',
  'tags',
  'indicators',
  'extra',
  'rule_id',
  'rule_name',
  'rule_description',
  ...EXTRACTIONS.map((e) => e.field),
  ...Object.values(NORMALIZED).flat(),
]);

function record(raw: unknown): Record<string, unknown> {
  return isRecord(raw) ? raw : {};
}

function extractIndicators(raw: unknown): ExtractedIndicator[] {
  const payload = record(raw);
  const found: Array<ExtractedIndicator | null> = [];
  const explicit = Array.isArray(payload.indicators) ? payload.indicators : [];
  for (const item of explicit) {
    if (isRecord(item) && typeof item.type === 'string') {
      found.push(indicator(item.type.trim(), text(item.value), 'indicators[]'));
    }
  }
  for (const { field, type } of EXTRACTIONS) {
    found.push(indicator(type, text(payload[field]), field));
  }
  return collectIndicators(found);
}

function validate(raw: unknown): ValidationResult {
  if (!isRecord(raw)) {
    return result([notAnObject('A generic webhook payload', raw)]);
  }
  if (str(raw.title) === undefined) {
    return result([{ path: 'title', message: 'Generic webhook payloads need a non-empty title' }]);
  }
  return result([]);
}

function extra(payload: Record<string, unknown>): Record<string, unknown> {
  const facts = new Facts();
  for (const [key, value] of Object.entries(payload)) {
    if (!CONSUMED.has(key)) {
      facts.set(key, value);
    }
  }
  const out = facts.toObject();
  // The sender's own `extra` object is kept as sent and wins over top-level leftovers.
  if (isRecord(payload.extra)) {
    for (const [key, value] of Object.entries(payload.extra)) {
      if (key !== '__proto__' && value !== null && value !== undefined) {
        out[key] = value;
      }
    }
  }
  return out;
}

function normalize(raw: unknown): NormalizedAlertInput {
  const payload = record(raw);
  const fields: IndicatorFields = {};
  for (const [name, aliases] of Object.entries(NORMALIZED) as Array<[keyof IndicatorFields, readonly string[]]>) {
    fields[name] = aliases.map((alias) => textValues(payload[alias])[0]).find((v) => v !== undefined);
  }
  return {
    title: str(payload.title) ?? 'Untitled Alert',
    severity: mapSeverity(payload.severity, SEVERITY),
    occurred_at: parseTimestamp(payload.occurred_at),
    source_name: NAME,
    description: str(payload.description) ?? null,
    ...indicatorFields(fields),
    tags: Array.isArray(payload.tags) ? payload.tags.map(str).filter((t): t is string => t !== undefined) : [],
    extra: extra(payload),
  };
}

function detectionRule(raw: unknown): DetectionRuleRef | null {
  const payload = record(raw);
  return detectionRuleRef({
    source_rule_id: str(payload.rule_id) ?? str(payload.rule_name),
    name: str(payload.rule_name),
    description: str(payload.rule_description),
    mitre_tactics: textValues(payload.mitre_tactics),
    mitre_techniques: textValues(payload.mitre_techniques),
  });
}

export const genericSource = defineAlertSource({
  name: NAME,
  displayName: 'Generic Webhook',
  validate,
  normalize,
  extractIndicators,
  detectionRule,
  /** HMAC-SHA256 (hex) of the raw body in `X-Calseta-Signature`; checked only when a secret is configured. */
  verifySignature: hmacSignature(SIGNATURE_HEADER),
  documentedExtractions: [
    {
      field_path: 'indicators[]',
      indicator_type: 'ip',
      description: 'Explicit array (all types): [{type, value}] with type one of the 8 indicator types',
    },
    ...EXTRACTIONS.map(({ field, type }) => ({
      field_path: field,
      indicator_type: type,
      description: `Top-level ${field} (string)`,
    })),
  ],
});
