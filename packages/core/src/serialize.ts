/** Timestamps leave core as ISO-8601 UTC strings. */
export function iso(date: Date): string;
export function iso(date: Date | null): string | null;
export function iso(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}

/** `{ total, page, page_size, total_pages }` for a paginated response. */
export function pageMeta(total: number, page: number, pageSize: number) {
  return { total, page, page_size: pageSize, total_pages: Math.ceil(total / pageSize) };
}

/** Split a comma-separated filter into trimmed, non-empty values. */
export function csv(value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length > 0 ? items : undefined;
}
