/**
 * Small building blocks shared by the first-party sources. Internal: not exported from the package.
 * Everything here is total (never throws) over any JSON value.
 */

import type { AlertSeverity, IndicatorType, PayloadIssue, SeverityResult, ValidationResult } from '@calseta/plugin-sdk';
import { getPath, str } from '@calseta/plugin-sdk';
import type { NormalizedAlertInput } from '@calseta/schema';

/** A trimmed non-empty string. Unlike `str`, numbers are not accepted (indicators must be strings). */
export function text(value: unknown): string | undefined {
  if (typeof value !== 'string') {
    return undefined;
  }
  const trimmed = value.trim();
  return trimmed === '' ? undefined : trimmed;
}

/** Trimmed non-empty strings from a string or an array (non-string members dropped). */
export function textValues(value: unknown): string[] {
  const list: unknown[] = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const item of list) {
    const t = text(item);
    if (t !== undefined) {
      out.push(t);
    }
  }
  return out;
}

/** The first string (first member, for arrays) found at any of `paths`, in order. */
export function firstText(raw: unknown, paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const found = textValues(getPath(raw, path))[0];
    if (found !== undefined) {
      return found;
    }
  }
  return undefined;
}

/** The first value at any of `paths` that `str` accepts (non-blank string or finite number). */
export function firstStr(raw: unknown, paths: readonly string[]): string | undefined {
  for (const path of paths) {
    const found = str(getPath(raw, path));
    if (found !== undefined) {
      return found;
    }
  }
  return undefined;
}

/** Unique strings, first occurrence kept. */
export function unique(values: readonly string[]): string[] {
  return [...new Set(values)];
}

function scalar(value: unknown): string | number | boolean | undefined {
  if (typeof value === 'string') {
    return value.trim() === '' ? undefined : value;
  }
  if (typeof value === 'number') {
    return Number.isFinite(value) ? value : undefined;
  }
  if (typeof value === 'boolean') {
    return value;
  }
  return undefined;
}

/**
 * A value worth keeping in `extra`: a non-blank string, a finite number or a boolean, kept exactly as the
 * source sent it, or a non-empty array of those. Objects and nulls are not facts (they would drag in
 * whole sub-documents; `raw_payload` keeps everything).
 */
export function fact(value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = value.map(scalar).filter((v) => v !== undefined);
    return items.length > 0 ? items : undefined;
  }
  return scalar(value);
}

/** Mutable bag of `extra` facts that silently ignores empty values. */
export class Facts {
  // A plain object, not a Map: `toObject` then copies it at once (`__proto__` is never a key).
  readonly #out: Record<string, unknown> = {};

  /** Set `key` to `value` when it is a fact (see `fact`); a key already set is not overwritten. */
  set(key: string, value: unknown): this {
    if (key !== '__proto__' && !Object.hasOwn(this.#out, key)) {
      const v = fact(value);
      if (v !== undefined) {
        this.#out[key] = v;
      }
    }
    return this;
  }

  /**
   * Set `key` to a structured value the plugin assembled itself (a summary, a count map), as is;
   * empty arrays and objects are skipped.
   */
  put(key: string, value: Record<string, unknown> | readonly unknown[]): this {
    const empty = Array.isArray(value) ? value.length === 0 : Object.keys(value).length === 0;
    if (!empty && key !== '__proto__' && !Object.hasOwn(this.#out, key)) {
      this.#out[key] = value;
    }
    return this;
  }

  /** Set `key` from the first of `paths` in `raw` that holds a fact. */
  pick(raw: unknown, key: string, paths: readonly string[]): this {
    return this.#pick(raw, key, paths, 0);
  }

  /** Apply a table of `[key, ...paths]` rows. */
  pickAll(raw: unknown, table: ReadonlyArray<readonly [string, ...string[]]>): this {
    for (const row of table) {
      this.#pick(raw, row[0], row, 1);
    }
    return this;
  }

  #pick(raw: unknown, key: string, paths: readonly string[], from: number): this {
    if (key === '__proto__' || Object.hasOwn(this.#out, key)) {
      return this;
    }
    for (let i = from; i < paths.length; i++) {
      const v = fact(getPath(raw, paths[i] as string));
      if (v !== undefined) {
        this.#out[key] = v;
        return this;
      }
    }
    return this;
  }

  toObject(): Record<string, unknown> {
    return { ...this.#out };
  }
}

/**
 * A severity table with no prototype, so that payload words such as `constructor` or `__proto__`
 * cannot resolve to `Object.prototype` members inside `mapSeverity`.
 */
export function severityTable(
  entries: Readonly<Record<string, AlertSeverity>>,
): Readonly<Record<string, AlertSeverity>> {
  return Object.freeze(Object.assign(Object.create(null) as Record<string, AlertSeverity>, entries));
}

/** A validation result from a list of issues. */
export function result(issues: readonly PayloadIssue[]): ValidationResult {
  return issues.length === 0 ? { ok: true } : { ok: false, issues: [...issues] };
}

/** The issue every source raises for a payload that is not a JSON object. */
export function notAnObject(what: string, value: unknown): PayloadIssue {
  const got = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
  return { path: '', message: `${what} must be a JSON object, got ${got}` };
}

type IndicatorFieldName =
  | 'src_ip'
  | 'dst_ip'
  | 'src_hostname'
  | 'dst_hostname'
  | 'file_hash_md5'
  | 'file_hash_sha1'
  | 'file_hash_sha256'
  | 'actor_email'
  | 'actor_username'
  | 'dns_query'
  | 'http_url'
  | 'http_hostname'
  | 'email_from'
  | 'email_reply_to';

export type IndicatorFields = Partial<Record<IndicatorFieldName, string | undefined>>;

/** The normalized indicator-bearing fields with the empty ones left out (so they are absent, not undefined). */
export function indicatorFields(fields: IndicatorFields): Pick<NormalizedAlertInput, IndicatorFieldName> {
  const out: Pick<NormalizedAlertInput, IndicatorFieldName> = {};
  for (const [key, value] of Object.entries(fields) as Array<[IndicatorFieldName, string | undefined]>) {
    if (value !== undefined) {
      out[key] = value;
    }
  }
  return out;
}

/** Seconds from `from` to `to` (ISO strings from `parseTimestamp`), or undefined when either is missing. */
export function secondsBetween(from: string | null, to: string | null): number | undefined {
  if (from === null || to === null) {
    return undefined;
  }
  const seconds = (Date.parse(to) - Date.parse(from)) / 1000;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : undefined;
}

/**
 * The hash type of a hex digest by its length (MD5 32, SHA-1 40, SHA-256 64), for fields that say
 * "hash" without saying which; undefined for anything else (validation refuses it anyway).
 */
export function hashType(value: string): IndicatorType | undefined {
  if (!/^[0-9a-f]+$/i.test(value)) {
    return undefined;
  }
  return value.length === 32
    ? 'hash_md5'
    : value.length === 40
      ? 'hash_sha1'
      : value.length === 64
        ? 'hash_sha256'
        : undefined;
}

/**
 * The vendor's own severity value (`severity_raw`) and whether it could not be read (`severity_unmapped`),
 * from a `normalizeSeverity` result; absent values are left out.
 */
export function severityFlags(
  result: SeverityResult,
): Pick<NormalizedAlertInput, 'severity_raw' | 'severity_unmapped'> {
  return {
    ...(result.raw === null ? {} : { severity_raw: result.raw }),
    ...(result.status === 'unmapped' ? { severity_unmapped: true } : {}),
  };
}
