import type { PageQuery } from '@calseta/schema';
import type { SelectQueryBuilder } from 'kysely';

/** Timestamps leave core as ISO-8601 UTC strings. */
export function iso(date: Date): string;
export function iso(date: Date | null): string | null;
export function iso(date: Date | null): string | null {
  return date ? date.toISOString() : null;
}

/**
 * One page of a list, as list verbs return it. Transports shape it (REST: `{data, meta}` in
 * apps/api/src/envelope.ts; MCP: `{<items>, total, page, page_size}`).
 */
export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  page_size: number;
  /** Set when `total` is an estimate (alert lists, ADR 0007). */
  total_is_estimate?: true;
}

/** The page `query` asked for, holding `items` out of `total`. */
export function pageOf<T>(items: T[], total: number, query: PageQuery): Page<T> {
  return { items, total, page: query.page, page_size: query.page_size };
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

/**
 * One page of `base` and the total it pages through, in parallel: `rows` adds the columns and the
 * order to `base`; the page's limit and offset and the count are added here.
 */
export async function paginate<DB, TB extends keyof DB, O, T>(
  base: SelectQueryBuilder<DB, TB, object>,
  page: PageQuery,
  rows: (query: SelectQueryBuilder<DB, TB, object>) => SelectQueryBuilder<DB, TB, O>,
  map: (row: O) => T,
): Promise<Page<T>> {
  const [found, count] = await Promise.all([
    rows(base)
      .limit(page.page_size)
      .offset((page.page - 1) * page.page_size)
      .execute(),
    base.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow() as Promise<{ n: string }>,
  ]);
  return pageOf(found.map(map), Number(count.n), page);
}
