import { isRecord } from '../helpers.js';

/**
 * Dot paths shared by templates, field extraction and malice rules.
 *
 * - `a.b.c` — object keys by name (own keys only).
 * - `a.0.b` or `a[0].b` — array elements by integer index.
 * - `a.*.b` or `a[*].b` — wildcard: every element of an array (or every value of an object); the
 *   result is a list of what the rest of the path finds in each element, missing ones left out.
 *   A later wildcard flattens into the same list (`a.*.b.*` → all `b` members of all `a`).
 * - `null` anywhere counts as missing (the result is `undefined`).
 */
export function splitPath(path: string): string[] {
  const normalized = path.replace(/\[(\d+|\*)\]/g, '.$1').replace(/^\./, '');
  return normalized === '' ? [] : normalized.split('.');
}

export function resolvePath(root: unknown, path: string): unknown {
  return resolveSegments(root, splitPath(path));
}

export function resolveSegments(value: unknown, segments: readonly string[]): unknown {
  if (value === null || value === undefined) return undefined;
  const [head, ...rest] = segments;
  if (head === undefined) return value;
  if (head === '*') {
    const members = Array.isArray(value) ? value : isRecord(value) ? Object.values(value) : undefined;
    if (members === undefined) return undefined;
    const flatten = rest.includes('*');
    const out: unknown[] = [];
    for (const member of members) {
      const found = resolveSegments(member, rest);
      if (found === undefined) continue;
      if (flatten && Array.isArray(found)) out.push(...found);
      else out.push(found);
    }
    return out;
  }
  if (Array.isArray(value)) {
    if (!/^\d+$/.test(head)) return undefined;
    return resolveSegments(value[Number(head)], rest);
  }
  if (isRecord(value)) {
    return Object.hasOwn(value, head) ? resolveSegments(value[head], rest) : undefined;
  }
  return undefined;
}
