import type { ExtractionValueType, FieldExtraction } from '@calseta/schema';
import { isRecord } from '../helpers.js';
import { resolvePath } from './path.js';

export type Coerced = { ok: true; value: unknown } | { ok: false };

const INT_TEXT = /^[+-]?\d+$/;
const FLOAT_TEXT = /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/**
 * A number from a value the way Python's `float()` reads it: numbers, booleans (1/0) and numeric
 * text (surrounding whitespace allowed, `inf`/`nan` spelled out); anything else is null.
 */
export function toFloat(value: unknown): number | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (FLOAT_TEXT.test(text)) return Number(text);
  if (/^[+-]?(inf|infinity)$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(text)) return Number.NaN;
  return null;
}

/** Python truthiness of a JSON value. */
function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (isRecord(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}

/**
 * Coerce an extracted value (reference §4.6 semantics, except where noted):
 * - `string`: text as is; numbers/booleans stringified; lists/objects as JSON text.
 * - `int`: integers; floats truncate (3.7 → 3); text must be an integer ("3.5" fails); booleans 1/0.
 * - `float` / `number`: as `toFloat`, finite only (JSON has no inf/nan). The reference passed `number`
 *   through unchecked; here it is a number.
 * - `bool`: text "true"/"1"/"yes" (any case, trimmed) is true, other text false; other values by truthiness.
 * - `list` / `dict`: the value only if it is an array / object (the reference did not check).
 * - `any`: as is.
 */
export function coerce(value: unknown, type: ExtractionValueType): Coerced {
  switch (type) {
    case 'string':
      if (typeof value === 'string') return { ok: true, value };
      if (typeof value === 'number' || typeof value === 'boolean') return { ok: true, value: String(value) };
      return { ok: true, value: JSON.stringify(value) };
    case 'int': {
      if (typeof value === 'boolean') return { ok: true, value: value ? 1 : 0 };
      if (typeof value === 'number')
        return Number.isFinite(value) ? { ok: true, value: Math.trunc(value) } : { ok: false };
      if (typeof value === 'string' && INT_TEXT.test(value.trim())) return { ok: true, value: Number(value.trim()) };
      return { ok: false };
    }
    case 'float':
    case 'number': {
      const n = toFloat(value);
      return n !== null && Number.isFinite(n) ? { ok: true, value: n } : { ok: false };
    }
    case 'bool':
      if (typeof value === 'string')
        return { ok: true, value: ['true', '1', 'yes'].includes(value.trim().toLowerCase()) };
      return { ok: true, value: truthy(value) };
    case 'list':
      return Array.isArray(value) ? { ok: true, value } : { ok: false };
    case 'dict':
      return isRecord(value) ? { ok: true, value } : { ok: false };
    case 'any':
      return { ok: true, value };
  }
}

/**
 * Apply the provider's field extractions to a raw response. Only active extractions whose
 * `indicator_type` is the type being enriched are used (the reference applied all of a provider's
 * extractions to every type). Missing/null values and failed coercions leave the key out; when two
 * extractions write the same key, the later one wins.
 */
export function extractFields(
  raw: unknown,
  extractions: readonly FieldExtraction[],
  indicatorType: string,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const extraction of extractions) {
    if (!extraction.is_active || extraction.indicator_type !== indicatorType) continue;
    const found = resolvePath(raw, extraction.source_path);
    if (found === undefined || found === null) continue;
    const coerced = coerce(found, extraction.value_type);
    if (coerced.ok) out[extraction.target_key] = coerced.value;
  }
  return out;
}
