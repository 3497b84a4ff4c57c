import { isRecord } from '@calseta/plugin-sdk';
import { encodeComponent, MASK } from './template.js';

/**
 * Secrets never reach debug output. Three layers:
 * 1. requests for debug output are rendered a second time with every `auth.*` value replaced by `***`;
 * 2. header values and JSON members whose name looks like a credential (`authorization`, `x-apikey`,
 *    `access_token`, `client_secret`, `cookie`…) are replaced by `***` whatever their origin (e.g. a
 *    bearer token taken from an earlier step's response);
 * 3. any remaining occurrence of a credential value (plain, percent-encoded, base64) is replaced.
 */

const SENSITIVE_NAME = /authorization|api[_-]?key|apikey|token|secret|password|passwd|cookie|credential/i;

export function isSensitiveName(name: string): boolean {
  return SENSITIVE_NAME.test(name);
}

/** The forms in which a credential value may appear in a request or response. */
export function secretForms(auth: Readonly<Record<string, string>>): string[] {
  const forms = new Set<string>();
  for (const value of Object.values(auth)) {
    // Very short values ("1", "us") would mask unrelated text; they are not secrets worth the noise.
    if (value.length < 4) continue;
    forms.add(value);
    forms.add(encodeComponent(value));
    forms.add(Buffer.from(value, 'utf8').toString('base64'));
    forms.add(Buffer.from(value, 'utf8').toString('base64url'));
  }
  // Longest first, so a value containing another is replaced whole.
  return [...forms].sort((a, b) => b.length - a.length);
}

export function maskText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) out = out.split(secret).join(MASK);
  return out;
}

/** Deep copy of a JSON-ish value with sensitive members and secret occurrences masked. */
export function maskValue(value: unknown, secrets: readonly string[]): unknown {
  if (typeof value === 'string') return maskText(value, secrets);
  if (Array.isArray(value)) return value.map((item) => maskValue(item, secrets));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      out[key] = isSensitiveName(key) && item !== null && item !== undefined ? MASK : maskValue(item, secrets);
    }
    return out;
  }
  return value;
}

export function maskHeaders(headers: Readonly<Record<string, string>>, secrets: readonly string[]) {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    out[name] = isSensitiveName(name) ? MASK : maskText(value, secrets);
  }
  return out;
}

const MAX_DEBUG_BODY = 50_000;

/** Bodies larger than 50,000 serialized characters are cut to a preview (as the reference does). */
export function truncateBody(value: unknown): unknown {
  if (value === undefined) return null;
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  if (text === undefined || text.length <= MAX_DEBUG_BODY) return value;
  return { _truncated: true, _preview: text.slice(0, MAX_DEBUG_BODY) };
}
