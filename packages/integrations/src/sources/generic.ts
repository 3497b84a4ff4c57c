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
 * Payloads forwarded as the vendor wrote them (a CrowdStrike Falcon `DetectionSummaryEvent`, a Cortex XDR
 * alert, …) are accepted too: the title, severity and time come from the first of the usual keys
 * (TITLE_PATHS, SEVERITY_PATHS, TIME_PATHS), and, as such a document has no `title`, pass 1 also reads
 * indicator-named keys anywhere in it (`SHA256String`, `host_ip`, `events[].user_name`…, see `scanFieldType`); identifiers
 * (`customerIDString`, `HostGroups`, `*_id`) are never read, and core's validation refuses the rest of the
 * junk (truncated hashes, `N/A`, dotless host names).
 *
 * Optional HMAC: when a secret is configured for the source, the sender signs the raw body with
 * HMAC-SHA256 and sends the hex digest (optionally prefixed `sha256=`) in `X-Calseta-Signature`.
 */

import type { ExtractedIndicator, IndicatorType, SeverityScale, ValidationResult } from '@calseta/plugin-sdk';
import {
  collectIndicators,
  defineAlertSource,
  detectionRuleRef,
  firstPath,
  getPath,
  hmacSignature,
  indicator,
  isRecord,
  normalizeSeverity,
  parseTimestamp,
  pickSeverity,
  str,
} from '@calseta/plugin-sdk';
import type { DetectionRuleRef, NormalizedAlertInput } from '@calseta/schema';
import type { IndicatorFields } from './shared.js';
import { Facts, hashType, indicatorFields, notAnObject, result, text, textValues } from './shared.js';

const NAME = 'generic';
const SIGNATURE_HEADER = 'x-calseta-signature';

/** Where a title is found, first non-blank wins: ours, then the usual vendor keys (Cortex `name`, Falcon `DetectName`). */
const TITLE_PATHS = [
  'title',
  'name',
  'alert_name',
  'alertName',
  'rule_name',
  'rule.name',
  'event.DetectName',
  'DetectName',
  'summary',
] as const;

/** Severity candidates in order, each read on its scale (`normalizeSeverity`); the first readable one wins. */
const SEVERITY_PATHS: ReadonlyArray<readonly [string, SeverityScale]> = [
  ['severity', 'auto'],
  ['SeverityName', 'auto'],
  ['event.SeverityName', 'auto'],
  ['severity_name', 'auto'],
  ['Severity', 'level'],
  ['event.Severity', 'level'],
  ['urgency', 'auto'],
  ['risk_score', 'risk_score'],
  ['priority', 'priority'],
];

const TIME_PATHS = [
  'occurred_at',
  'timestamp',
  '@timestamp',
  'detection_timestamp',
  // Falcon: when the detection was raised (ProcessStartTime may be days earlier, e.g. explorer.exe).
  'metadata.eventCreationTime',
] as const;

const DESCRIPTION_PATHS = ['description', 'event.DetectDescription', 'DetectDescription'] as const;

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
  { field: 'hash', type: 'hash_sha256' }, // typed by length when it is an MD5 or SHA-1
];

/** Bounds of the indicator-key scan: deep or huge documents are read only this far. */
const SCAN_MAX_DEPTH = 8;
const SCAN_MAX_NODES = 5_000;

/** `SHA256String` → [sha256, string]; `customerIDString` → [customer, id, string]; `host_ip` → [host, ip]. */
function keyTokens(key: string): string[] {
  return key
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t !== '');
}

const HASH_TOKENS: ReadonlyMap<string, IndicatorType> = new Map([
  ['md5', 'hash_md5'],
  ['sha1', 'hash_sha1'],
  ['sha256', 'hash_sha256'],
]);
const IDENTIFIER_TOKENS = new Set(['id', 'ids', 'uuid', 'guid', 'customer', 'tenant', 'group', 'groups']);

/**
 * The indicator type a key names, read from its words: hashes (`*_sha256`, `MD5String`), IPs (`*_ip`,
 * `*_ip_addresses`), DNS names (`*_domain`, `*_hostname`, `host_name`, `fqdn`, `dns_query_name`), URLs,
 * e-mail addresses and user names. Keys with an identifier word (`customerIDString`, `HostGroups`,
 * `tenant_id`) name no indicator, whatever their values look like.
 */
export function scanFieldType(key: string, parent = ''): IndicatorType | undefined {
  // ECS-style objects: `user.name` is an account, `host.name` a host.
  if (key === 'name' && (parent === 'user' || parent === 'account')) return 'account';
  if (key === 'name' && parent === 'host') return 'domain';
  const tokens = keyTokens(key);
  // Identifiers, and flags such as Cortex's `contains_featured_ip: "NO"`.
  if (tokens.some((t) => IDENTIFIER_TOKENS.has(t)) || ['contains', 'is', 'has'].includes(tokens[0] ?? '')) {
    return undefined;
  }
  const words = tokens.filter((t) => t !== 'string' && t !== 'v4' && t !== 'v6' && t !== 'value');
  const last = words[words.length - 1] ?? '';
  const pair = words.slice(-2).join('_');
  for (const word of words) {
    const hash = HASH_TOKENS.get(word);
    if (hash) return hash;
  }
  if (last === 'ip' || last === 'ips' || pair === 'ip_address' || pair === 'ip_addresses') return 'ip';
  if (['domain', 'hostname', 'fqdn'].includes(last) || ['host_name', 'computer_name', 'query_name'].includes(pair)) {
    return 'domain';
  }
  if (last === 'url' || last === 'urls') return 'url';
  if (last === 'email' || pair === 'email_sender' || pair === 'email_recipient' || last === 'sender') return 'email';
  if (last === 'username' || pair === 'user_name' || key === 'user' || key === 'src_user' || key === 'dest_user') {
    return 'account';
  }
  return undefined;
}

/** Indicator-named keys anywhere in the document (bounded), with their dotted path. */
function scanIndicators(payload: Record<string, unknown>): Array<ExtractedIndicator | null> {
  const found: Array<ExtractedIndicator | null> = [];
  let nodes = 0;
  const visit = (value: unknown, path: string, key: string, depth: number, parent: string): void => {
    if (++nodes > SCAN_MAX_NODES || depth > SCAN_MAX_DEPTH) return;
    if (typeof value === 'string' || (Array.isArray(value) && value.every((v) => typeof v === 'string'))) {
      const type = key === '' ? undefined : scanFieldType(key, parent);
      if (type) {
        for (const v of textValues(value)) found.push(indicator(type, v, path));
      }
      return;
    }
    if (Array.isArray(value)) {
      for (const [i, item] of value.entries()) {
        visit(item, `${path}.${i}`, key, depth + 1, parent);
      }
    } else if (isRecord(value)) {
      for (const [k, v] of Object.entries(value)) {
        // Our own envelope's explicit parts are read elsewhere.
        if (depth === 0 && (k === 'indicators' || k === 'extra')) continue;
        visit(v, path === '' ? k : `${path}.${k}`, k, depth + 1, key);
      }
    }
  };
  visit(payload, '', '', 0, '');
  return found;
}

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
  ...TITLE_PATHS,
  ...SEVERITY_PATHS.map(([path]) => path),
  ...TIME_PATHS,
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
    const value = text(payload[field]);
    found.push(indicator(field === 'hash' && value ? (hashType(value) ?? type) : type, value, field));
  }
  // Our own shape (it has a `title`) keeps the reference's pass 1 exactly; a vendor document forwarded as
  // is has no fixed places, so its indicator-named keys are read wherever they are.
  if (str(payload.title) === undefined) {
    found.push(...scanIndicators(payload));
  }
  return collectIndicators(found);
}

function titleOf(payload: Record<string, unknown>): string | undefined {
  for (const path of TITLE_PATHS) {
    const title = str(getPath(payload, path));
    if (title !== undefined) return title;
  }
  return undefined;
}

function validate(raw: unknown): ValidationResult {
  if (!isRecord(raw)) {
    return result([notAnObject('A generic webhook payload', raw)]);
  }
  if (titleOf(raw) === undefined) {
    return result([
      {
        path: 'title',
        message: `Generic webhook payloads need a non-empty title (or one of ${TITLE_PATHS.slice(1).join(', ')})`,
      },
    ]);
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
  const severity = pickSeverity(
    ...SEVERITY_PATHS.map(([path, scale]) => normalizeSeverity(getPath(payload, path), { scale })),
  );
  return {
    title: titleOf(payload) ?? 'Untitled Alert',
    severity: severity.severity,
    severity_raw: severity.raw,
    severity_unmapped: severity.status === 'unmapped',
    occurred_at: parseTimestamp(firstPath(payload, TIME_PATHS)),
    source_name: NAME,
    description: str(firstPath(payload, DESCRIPTION_PATHS)) ?? null,
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
    {
      field_path: '**',
      indicator_type: 'hash_sha256',
      description:
        'Documents without a title (vendor shapes): indicator-named keys anywhere, all types (…_ip, …_sha256, MD5String, …_domain, host_name, …_url, …_email, user_name); never identifier keys (…_id, customer…, tenant…, …groups)',
    },
  ],
});
