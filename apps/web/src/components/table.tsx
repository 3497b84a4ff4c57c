import type { PageMeta } from '@calseta/schema';
import { memo, type ReactNode, useCallback } from 'react';
import { useSearchParams } from 'react-router';
import { Empty } from './feedback.js';
import { Select } from './form.js';

export interface Column<T> {
  id: string;
  header: string;
  cell(row: T): ReactNode;
  /** `sort_by` value when the API can sort by this column. */
  sort?: string;
  className?: string;
}

export interface Sort {
  by: string;
  order: 'asc' | 'desc';
}

/**
 * A plain semantic table (no virtualisation: 50 rows of simple cells render in a few ms). Rows are
 * memoised so a live refresh that returns equal rows re-renders nothing but the changed ones.
 */
export function DataTable<T>({
  columns,
  rows,
  rowKey,
  sort,
  onSort,
  caption,
  empty = 'Nothing here yet.',
}: {
  columns: Column<T>[];
  rows: readonly T[];
  rowKey(row: T): string;
  sort?: Sort | null;
  onSort?(sort: Sort): void;
  caption: string;
  empty?: ReactNode;
}) {
  if (rows.length === 0) return <Empty>{empty}</Empty>;
  return (
    <div className="table-wrap">
      <table className="data-table">
        <caption className="sr-only">{caption}</caption>
        <thead>
          <tr>
            {columns.map((col) => {
              const active = sort && col.sort === sort.by;
              return (
                <th
                  key={col.id}
                  scope="col"
                  className={col.className}
                  aria-sort={active ? (sort.order === 'asc' ? 'ascending' : 'descending') : undefined}
                >
                  {col.sort && onSort ? (
                    <button
                      type="button"
                      className="sort"
                      onClick={() =>
                        onSort({ by: col.sort as string, order: active && sort.order === 'desc' ? 'asc' : 'desc' })
                      }
                    >
                      {col.header}
                      <span aria-hidden="true">{active ? (sort.order === 'asc' ? ' ▲' : ' ▼') : ' ↕'}</span>
                    </button>
                  ) : (
                    col.header
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <Row key={rowKey(row)} row={row} columns={columns as Column<unknown>[]} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

const Row = memo(function Row({ row, columns }: { row: unknown; columns: Column<unknown>[] }) {
  return (
    <tr>
      {columns.map((col) => (
        <td key={col.id} className={col.className}>
          {col.cell(row)}
        </td>
      ))}
    </tr>
  );
});

const PAGE_SIZES = ['25', '50', '100', '200'] as const;
const PAGE_SIZE_KEY = 'calseta_page_size';

export function Pagination({
  meta,
  onPage,
  onPageSize,
}: {
  meta: PageMeta;
  onPage(page: number): void;
  onPageSize(size: number): void;
}) {
  const last = Math.max(1, meta.total_pages);
  return (
    <nav className="pagination" aria-label="Pagination">
      <span className="muted">
        {meta.total.toLocaleString()} total · page {meta.page} of {last}
      </span>
      <button type="button" onClick={() => onPage(1)} disabled={meta.page <= 1} aria-label="First page">
        «
      </button>
      <button type="button" onClick={() => onPage(meta.page - 1)} disabled={meta.page <= 1} aria-label="Previous page">
        ‹
      </button>
      <button type="button" onClick={() => onPage(meta.page + 1)} disabled={meta.page >= last} aria-label="Next page">
        ›
      </button>
      <button type="button" onClick={() => onPage(last)} disabled={meta.page >= last} aria-label="Last page">
        »
      </button>
      <Select
        ariaLabel="Rows per page"
        value={String(meta.page_size) as (typeof PAGE_SIZES)[number]}
        options={PAGE_SIZES.map((s) => ({ value: s, label: `${s} / page` }))}
        onChange={(v) => onPageSize(Number(v))}
      />
    </nav>
  );
}

/**
 * List state in the URL (`?page=&page_size=&sort_by=&sort_order=&<filter>=a,b`), so filters survive
 * reloads and can be shared; the page size is remembered across lists.
 */
export function useListParams(filterNames: readonly string[] = []) {
  const [params, setParams] = useSearchParams();
  const page = Number(params.get('page') ?? 1) || 1;
  const pageSize = Number(params.get('page_size') ?? localStorage.getItem(PAGE_SIZE_KEY) ?? 50) || 50;
  const sortBy = params.get('sort_by');
  const sort: Sort | null = sortBy ? { by: sortBy, order: params.get('sort_order') === 'asc' ? 'asc' : 'desc' } : null;
  const filters = Object.fromEntries(filterNames.map((n) => [n, (params.get(n) ?? '').split(',').filter(Boolean)]));
  const update = useCallback(
    (changes: Record<string, string | null>) => {
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          for (const [k, v] of Object.entries(changes)) {
            if (v === null || v === '') next.delete(k);
            else next.set(k, v);
          }
          return next;
        },
        { replace: true },
      );
    },
    [setParams],
  );
  return {
    page,
    pageSize,
    sort,
    filters: filters as Record<string, string[]>,
    setPage: (p: number) => update({ page: String(p) }),
    setPageSize: (s: number) => {
      localStorage.setItem(PAGE_SIZE_KEY, String(s));
      update({ page_size: String(s), page: null });
    },
    setSort: (s: Sort) => update({ sort_by: s.by, sort_order: s.order, page: null }),
    setFilter: (name: string, values: string[]) => update({ [name]: values.join(','), page: null }),
    /** The API query for this state. */
    apiParams: {
      page,
      page_size: pageSize,
      sort_by: sort?.by,
      sort_order: sort?.order,
      ...Object.fromEntries(Object.entries(filters).map(([k, v]) => [k, v.join(',') || undefined])),
    } as Record<string, string | number | undefined>,
  };
}

/**
 * A "between two days" filter (inclusive), as local dates in the URL (`?from=&to=`); `apiParams` are the
 * `from_time`/`to_time` the list endpoints take. Changing it goes back to the first page.
 */
export function useDateRange() {
  const [params, setParams] = useSearchParams();
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const set = (key: 'from' | 'to', value: string) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (value) next.set(key, value);
        else next.delete(key);
        next.delete('page');
        return next;
      },
      { replace: true },
    );
  return {
    from,
    to,
    set,
    apiParams: {
      from_time: from ? new Date(`${from}T00:00:00`).toISOString() : undefined,
      to_time: to ? new Date(`${to}T23:59:59.999`).toISOString() : undefined,
    },
  };
}

/** The two date inputs of `useDateRange` (for a list's toolbar). */
export function DateRangeFilter({ range, label = 'From' }: { range: ReturnType<typeof useDateRange>; label?: string }) {
  return (
    <>
      <label className="row small">
        {label}
        <input type="date" value={range.from} onChange={(e) => range.set('from', e.target.value)} />
      </label>
      <label className="row small">
        to
        <input type="date" value={range.to} onChange={(e) => range.set('to', e.target.value)} />
      </label>
    </>
  );
}
