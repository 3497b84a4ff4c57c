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
  const record = isRecord(value);
  if (record && Object.hasOwn(value, path)) return value[path];
  if (!record && !Array.isArray(value)) return undefined;
  for (const [head, rest] of splitsOf(path)) {
    let next: unknown;
    if (record) {
      if (!Object.hasOwn(value, head)) continue;
      next = value[head];
    } else if (/^\d+$/.test(head)) next = (value as unknown[])[Number(head)];
    else continue;
    const found = getPath(next, rest);
    if (found !== undefined) return found;
  }
  return undefined;
}

/**
 * `compute` remembered by key, for the constants a process reads again and again (a plugin's paths,
 * a provider's templates). Bounded: a key over `maxKeyLength` is computed afresh, a full table is
 * cleared. What `compute` throws is not kept. Internal: not exported by the package.
 */
export function boundedMemo<T>(
  compute: (key: string) => T,
  maxEntries: number,
  maxKeyLength: number,
): (key: string) => T {
  const table = new Map<string, T>();
  return (key) => {
    if (key.length > maxKeyLength) return compute(key);
    let value = table.get(key);
    if (value === undefined) {
      value = compute(key);
      if (table.size >= maxEntries) table.clear();
      table.set(key, value);
    }
    return value;
  };
}

type Split = readonly [head: string, rest: string];
/**
 * Each path's splits at its dots, the longest head first (a flat dotted key wins; an array index is
 * all digits). Ingest reads a few hundred paths per alert, the same plugin and mapping constants
 * every time: they are split once (paths up to 256 characters, 4,096 of them).
 */
const splitsOf = boundedMemo(
  (path): readonly Split[] => {
    const splits: Split[] = [];
    for (let dot = path.lastIndexOf('.'); dot >= 0; dot = dot === 0 ? -1 : path.lastIndexOf('.', dot - 1)) {
      splits.push([path.slice(0, dot), path.slice(dot + 1)]);
    }
    return splits;
  },
  4_096,
  256,
);

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

/**
 * How a number is read by `normalizeSeverity`; higher always means more severe except `priority`.
 * - `level`: 1 Informational, 2 Low, 3 Medium, 4 High, 5 Critical (0 Informational) — Falcon's
 *   legacy `Severity`, most 1–5 scales.
 * - `priority`: 1 Critical … 5 Informational — P1–P5 ticket priorities.
 * - `risk_score`: Elastic's documented bands, 0–21 Low, 22–47 Medium, 48–73 High, 74–100 Critical.
 * - `falcon`: Falcon's 1–100 severity (named values 10/30/50/70/90): <20 Informational, 20–39 Low,
 *   40–59 Medium, 60–79 High, ≥80 Critical.
 * - `splunk`: Splunk's `alert.severity` 1 debug, 2 info, 3 warn, 4 error, 5 severe, 6 fatal.
 * - `auto` (default): 0–5 as `level`, 6–100 as `risk_score`.
 */
export type SeverityScale = 'auto' | 'level' | 'priority' | 'risk_score' | 'falcon' | 'splunk';

/**
 * What `normalizeSeverity` made of a value. `status`: `mapped` (a severity was read), `unmapped` (the
 * source sent something we cannot read: `severity` is the visible default, never Pending), `absent`
 * (the source said nothing: Pending). `raw` is the vendor's value as text (≤ 64 chars), null when absent.
 */
export interface SeverityResult {
  severity: AlertSeverity;
  mapped: boolean;
  status: 'mapped' | 'unmapped' | 'absent';
  raw: string | null;
}

export interface NormalizeSeverityOptions {
  /** How numbers (and numeric strings) are read. Default `auto`. */
  scale?: SeverityScale;
  /** The severity given to a value that is present but unreadable. Default `Medium`: visible, not demoted. */
  unmapped?: Exclude<AlertSeverity, 'Pending'>;
}

/** Severity words and synonyms (syslog levels included), lowercase. No prototype: payload words stay data. */
const SEVERITY_WORDS: Readonly<Record<string, AlertSeverity>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, AlertSeverity>, {
    critical: 'Critical',
    crit: 'Critical',
    fatal: 'Critical',
    emergency: 'Critical',
    emerg: 'Critical',
    alert: 'Critical',
    highest: 'Critical',
    'very high': 'Critical',
    high: 'High',
    severe: 'High',
    major: 'High',
    error: 'High',
    err: 'High',
    important: 'High',
    medium: 'Medium',
    med: 'Medium',
    moderate: 'Medium',
    warning: 'Medium',
    warn: 'Medium',
    elevated: 'Medium',
    low: 'Low',
    minor: 'Low',
    notice: 'Low',
    lowest: 'Informational',
    informational: 'Informational',
    information: 'Informational',
    info: 'Informational',
    debug: 'Informational',
    trace: 'Informational',
    // Our own value, sent back by an export: it means "not set".
    pending: 'Pending',
  }),
);

/** Values that say "no severity": the alert carries nothing, so Pending is the truth. */
const NO_SEVERITY = new Set([
  '',
  'none',
  'unknown',
  'unset',
  'n/a',
  'na',
  '-',
  'null',
  'undefined',
  'unknownfuturevalue',
]);

const LEVELS: readonly AlertSeverity[] = ['Informational', 'Informational', 'Low', 'Medium', 'High', 'Critical'];

function severityFromNumber(n: number, scale: SeverityScale): AlertSeverity | undefined {
  if (!Number.isFinite(n) || n < 0) return undefined;
  const whole = Number.isInteger(n);
  switch (scale) {
    case 'level':
      return whole && n <= 5 ? LEVELS[n] : undefined;
    case 'priority':
      return whole && n >= 1 && n <= 5 ? LEVELS[6 - n] : undefined;
    case 'splunk':
      return whole && n >= 1 && n <= 6
        ? (['Informational', 'Informational', 'Medium', 'High', 'High', 'Critical'] as const)[n - 1]
        : undefined;
    case 'risk_score':
      if (n > 100) return undefined;
      return n <= 21 ? 'Low' : n <= 47 ? 'Medium' : n <= 73 ? 'High' : 'Critical';
    case 'falcon':
      if (n > 100) return undefined;
      return n < 20 ? 'Informational' : n < 40 ? 'Low' : n < 60 ? 'Medium' : n < 80 ? 'High' : 'Critical';
    default:
      return whole && n <= 5 ? LEVELS[n] : severityFromNumber(n, 'risk_score');
  }
}

/**
 * Read a vendor severity as a person would: words and synonyms in any case (`CRITICAL`, `crit`, `fatal`,
 * `severe`, `moderate`, `minor`, `info`, `notice`, …), vendor-prefixed words (`SEV_040_HIGH`,
 * `severity-high`), and numbers on the given `scale`. An array is read by its first member (Splunk
 * multi-value fields). `Pending` only when nothing was sent (missing, null, blank, `unknown`, `none`);
 * a value that is present but unreadable is `unmapped` and gets the visible `unmapped` default.
 */
export function normalizeSeverity(value: unknown, options: NormalizeSeverityOptions = {}): SeverityResult {
  const scale = options.scale ?? 'auto';
  const fallback = options.unmapped ?? 'Medium';
  const first = Array.isArray(value) ? value.find((v) => v !== null && v !== undefined && v !== '') : value;
  const absent: SeverityResult = { severity: 'Pending', mapped: false, status: 'absent', raw: null };
  if (typeof first === 'boolean' || (typeof first !== 'string' && typeof first !== 'number')) return absent;
  const raw = String(first).trim().slice(0, 64);
  const key = raw.toLowerCase().replace(/\s+/g, ' ');
  if (NO_SEVERITY.has(key)) return absent;
  const mapped = (severity: AlertSeverity): SeverityResult =>
    severity === 'Pending' ? absent : { severity, mapped: true, status: 'mapped', raw };
  const word = SEVERITY_WORDS[key];
  if (word !== undefined) return mapped(word);
  if (/^\d+(\.\d+)?$/.test(key)) {
    const fromNumber = severityFromNumber(Number(key), scale);
    if (fromNumber !== undefined) return mapped(fromNumber);
  } else {
    // `SEV_040_HIGH`, `severity-high`, `P1 - Critical`: the last word that is a severity word.
    const words = key.split(/[^a-z]+/).filter((w) => w !== '');
    for (let i = words.length - 1; i >= 0; i--) {
      const found = SEVERITY_WORDS[words[i] ?? ''];
      if (found !== undefined && found !== 'Pending') return mapped(found);
    }
  }
  return { severity: fallback, mapped: false, status: 'unmapped', raw };
}

/**
 * The first `mapped` result of several candidates (e.g. a severity word, then a risk score); failing
 * that the first `unmapped` one (so it stays visible and flagged); failing that `absent`.
 */
export function pickSeverity(...results: readonly SeverityResult[]): SeverityResult {
  return (
    results.find((r) => r.status === 'mapped') ??
    results.find((r) => r.status === 'unmapped') ?? { severity: 'Pending', mapped: false, status: 'absent', raw: null }
  );
}
