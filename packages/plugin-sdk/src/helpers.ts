import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import {
  type AlertSeverity,
  type DetectionRuleRef,
  type ExtractedIndicator,
  type IndicatorType,
  IndicatorTypeSchema,
} from '@calseta/schema';
import type { WebhookRequest } from './alert-source.js';

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Read a dotted path from a payload. At each level an exact flat key (`"kibana.alert.rule.name"`,
 * as Elastic sends) wins over nested traversal, so both shapes work. Array indexes are numeric
 * segments (`hosts.0.name`).
 */
export function getPath(value: unknown, path: string): unknown {
  if (path === '') return value;
  if (isRecord(value) && Object.hasOwn(value, path)) return value[path];
  const segments = path.split('.');
  for (let i = segments.length - 1; i >= 1; i--) {
    const head = segments.slice(0, i).join('.');
    let next: unknown;
    if (isRecord(value) && Object.hasOwn(value, head)) next = value[head];
    else if (Array.isArray(value) && i === 1 && /^\d+$/.test(head)) next = value[Number(head)];
    else continue;
    const found = getPath(next, segments.slice(i).join('.'));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** The first of `paths` whose value is neither null nor undefined. */
export function firstPath(value: unknown, paths: readonly string[]): unknown {
  for (const path of paths) {
    const found = getPath(value, path);
    if (found !== undefined && found !== null) return found;
  }
  return undefined;
}

/** A trimmed non-empty string, or undefined. Numbers are stringified; anything else is undefined. */
export function str(value: unknown): string | undefined {
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Strings from a string or an array of strings (other members dropped). */
export function strings(value: unknown): string[] {
  const list = Array.isArray(value) ? value : [value];
  return list.map(str).filter((s): s is string => s !== undefined);
}

const ISO_WITH_OFFSET = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/i;
const ISO_NAIVE = /^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/**
 * Parse a source timestamp to ISO-8601 UTC (`…Z`). Accepts ISO strings (naive ones are read as
 * UTC, which is what SIEMs mean) and Unix epoch seconds or milliseconds (number or numeric string).
 * Returns null when the value is not a timestamp: callers must not invent one.
 */
export function parseTimestamp(value: unknown): string | null {
  let ms: number | undefined;
  if (typeof value === 'number' && Number.isFinite(value)) {
    ms = value > 1e11 ? value : value * 1000;
  } else if (typeof value === 'string') {
    const s = value.trim();
    if (/^\d+(\.\d+)?$/.test(s)) {
      const n = Number(s);
      ms = n > 1e11 ? n : n * 1000;
    } else if (ISO_WITH_OFFSET.test(s)) {
      ms = Date.parse(s.replace(' ', 'T'));
    } else if (ISO_NAIVE.test(s)) {
      ms = Date.parse(`${s.replace(' ', 'T')}Z`);
    }
  }
  if (ms === undefined || !Number.isFinite(ms)) return null;
  const date = new Date(ms);
  // Reject absurd values (before 1970 or more than a day in the future is a parse accident).
  if (ms < 0 || ms > Date.now() + 86_400_000 * 366 * 50) return null;
  return date.toISOString();
}

/**
 * Map a source severity through a table of lowercase keys. Unknown or missing values map to
 * `fallback` (Pending by default, meaning "the source did not say").
 */
export function mapSeverity(
  value: unknown,
  table: Readonly<Record<string, AlertSeverity>>,
  fallback: AlertSeverity = 'Pending',
): AlertSeverity {
  const key = str(value)?.toLowerCase();
  // Own keys only: "constructor" or "__proto__" from a payload must not reach the prototype.
  return key !== undefined && Object.hasOwn(table, key) ? (table[key] ?? fallback) : fallback;
}

/** The usual lowercase severity words. */
export const COMMON_SEVERITIES: Readonly<Record<string, AlertSeverity>> = {
  critical: 'Critical',
  high: 'High',
  medium: 'Medium',
  low: 'Low',
  informational: 'Informational',
  info: 'Informational',
};

/** Build an indicator from any value: trimmed, non-empty string and known type, else null. */
export function indicator(type: string, value: unknown, sourceField: string): ExtractedIndicator | null {
  const v = str(value);
  const t = IndicatorTypeSchema.safeParse(type.toLowerCase());
  if (v === undefined || !t.success) return null;
  return { type: t.data, value: v, source_field: sourceField };
}

/** Collect indicators, dropping nulls and duplicates by (type, value), first occurrence kept. */
export function collectIndicators(list: ReadonlyArray<ExtractedIndicator | null>): ExtractedIndicator[] {
  const seen = new Set<string>();
  const out: ExtractedIndicator[] = [];
  for (const item of list) {
    if (!item) continue;
    const key = `${item.type}\u0000${item.value}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(item);
  }
  return out;
}

/** Constant-time string comparison: neither the contents nor the lengths leak. */
export function safeEqual(a: string, b: string): boolean {
  // Compare fixed-length digests: the time taken says nothing about either string, its length included.
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Check a hex HMAC-SHA256 signature of the raw body (an optional `sha256=` prefix is accepted),
 * in constant time.
 */
export function verifyHmacSha256(rawBody: Uint8Array, secret: string, signature: string | undefined): boolean {
  if (!signature) return false;
  const given = signature
    .trim()
    .replace(/^sha256=/i, '')
    .toLowerCase();
  const expected = createHmac('sha256', secret).update(rawBody).digest('hex');
  return safeEqual(given, expected);
}

export type { IndicatorType };

/** A header of a webhook request (names are lowercase), or undefined when absent. */
export function webhookHeader(request: WebhookRequest, name: string): string | undefined {
  const headers: unknown = request.headers;
  if (typeof headers !== 'object' || headers === null || !Object.hasOwn(headers, name)) return undefined;
  const value: unknown = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/** `verifySignature` for sources that sign the raw body with hex HMAC-SHA256 in `headerName`. */
export function hmacSignature(headerName: string): (request: WebhookRequest) => boolean {
  const name = headerName.toLowerCase();
  return (request) => {
    try {
      return verifyHmacSha256(request.rawBody, request.secret, webhookHeader(request, name));
    } catch {
      return false;
    }
  };
}

/** `verifySignature` for sources that send the shared secret itself in `headerName`. */
export function sharedSecretHeader(headerName: string): (request: WebhookRequest) => boolean {
  const name = headerName.toLowerCase();
  return (request) => {
    const given = webhookHeader(request, name);
    return given !== undefined && safeEqual(given, request.secret);
  };
}

/** What a plugin may know about a rule; empty values are fine, they are left out. */
export interface DetectionRuleFields {
  source_rule_id: string | undefined;
  name?: string | undefined;
  severity?: string | undefined;
  description?: string | undefined;
  mitre_tactics?: readonly string[] | undefined;
  mitre_techniques?: readonly string[] | undefined;
}

/** A detection-rule reference without empty members (null when there is no rule id). */
export function detectionRuleRef(fields: DetectionRuleFields): DetectionRuleRef | null {
  if (!fields.source_rule_id) return null;
  const ref: DetectionRuleRef = { source_rule_id: fields.source_rule_id };
  if (fields.name) ref.name = fields.name;
  if (fields.severity) ref.severity = fields.severity;
  if (fields.description) ref.description = fields.description;
  const tactics = [...new Set(fields.mitre_tactics ?? [])];
  const techniques = [...new Set(fields.mitre_techniques ?? [])];
  if (tactics.length > 0) ref.mitre_tactics = tactics;
  if (techniques.length > 0) ref.mitre_techniques = techniques;
  return ref;
}
