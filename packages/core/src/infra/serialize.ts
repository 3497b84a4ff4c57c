import type { PageQuery } from '@calseta/schema';
import type { SelectQueryBuilder } from 'kysely';

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

/**
 * One page of `base` and the total it pages through, in parallel: `rows` adds the columns and the
 * order to `base`; the page's limit and offset and the count are added here.
 */
export async function paginate<DB, TB extends keyof DB, O, T>(
  base: SelectQueryBuilder<DB, TB, object>,
  page: PageQuery,
  rows: (query: SelectQueryBuilder<DB, TB, object>) => SelectQueryBuilder<DB, TB, O>,
  map: (row: O) => T,
): Promise<{ data: T[]; meta: ReturnType<typeof pageMeta> }> {
  const [found, count] = await Promise.all([
    rows(base)
      .limit(page.page_size)
      .offset((page.page - 1) * page.page_size)
      .execute(),
    base.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow() as Promise<{ n: string }>,
  ]);
  return { data: found.map(map), meta: pageMeta(Number(count.n), page.page, page.page_size) };
}
