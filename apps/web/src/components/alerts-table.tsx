import {
  AlertSeveritySchema,
  AlertStatusSchema,
  type AlertSummary,
  EnrichmentStatusSchema,
  MaliceLevelSchema,
} from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { alertQueries } from '../api/queries/alerts.js';
import { Badge, ErrorBanner, Loading, Time } from './feedback.js';
import { Checkbox, MultiFilter } from './form.js';
import { SOURCE_PLUGINS } from './sources.js';
import { type Column, DataTable, DateRangeFilter, Pagination, useDateRange, useListParams } from './table.js';

const FILTERS = ['malice', 'status', 'severity', 'source_name', 'enrichment_status'] as const;

const COLUMNS: Column<AlertSummary>[] = [
  {
    id: 'title',
    header: 'Title',
    sort: 'title',
    className: 'wrap',
    cell: (a) => <Link to={`/alerts/${a.uuid}`}>{a.title}</Link>,
  },
  { id: 'malice', header: 'Verdict', sort: 'malice', cell: (a) => <Badge value={a.malice} /> },
  {
    id: 'indicators',
    header: 'Indicators',
    className: 'num',
    cell: (a) => a.indicator_count,
  },
  { id: 'severity', header: 'Severity', sort: 'severity', cell: (a) => <Badge value={a.severity} /> },
  { id: 'status', header: 'Status', sort: 'status', cell: (a) => <Badge value={a.status} /> },
  { id: 'enrichment', header: 'Enrichment', cell: (a) => <Badge value={a.enrichment_status} /> },
  { id: 'source', header: 'Source', sort: 'source_name', cell: (a) => a.source_name },
  {
    id: 'dups',
    header: 'Dup.',
    className: 'num',
    cell: (a) => (a.duplicate_count > 0 ? a.duplicate_count : ''),
  },
  { id: 'occurred', header: 'Occurred', sort: 'occurred_at', cell: (a) => <Time value={a.occurred_at} /> },
];

/** Alerts with filters, sorting, pagination and live refresh (the list page and a rule's alerts). */
export function AlertsTable({ fixed = {} }: { fixed?: Record<string, string> }) {
  const list = useListParams(FILTERS);
  const [live, setLive] = useState(true);
  // Occurred between two days (inclusive).
  const range = useDateRange();
  const alerts = useQuery({
    ...alertQueries.list({ ...list.apiParams, ...range.apiParams, ...fixed }),
    refetchInterval: live ? 5_000 : false,
  });
  const options: Record<(typeof FILTERS)[number], readonly string[]> = {
    malice: MaliceLevelSchema.options,
    status: AlertStatusSchema.options,
    severity: AlertSeveritySchema.options,
    source_name: SOURCE_PLUGINS,
    enrichment_status: EnrichmentStatusSchema.options,
  };
  const labels = {
    malice: 'Verdict',
    status: 'Status',
    severity: 'Severity',
    source_name: 'Source',
    enrichment_status: 'Enrichment',
  };
  return (
    <div>
      <div className="toolbar" role="toolbar" aria-label="Alert filters">
        {FILTERS.map((f) => (
          <MultiFilter
            key={f}
            label={labels[f]}
            options={options[f]}
            value={list.filters[f] ?? []}
            onChange={(v) => list.setFilter(f, v)}
          />
        ))}
        <DateRangeFilter range={range} />
        <Checkbox label="Live refresh" checked={live} onChange={setLive} />
        <button type="button" className="small" onClick={() => void alerts.refetch()}>
          Refresh
        </button>
        {alerts.isFetching && <span className="muted small">updating…</span>}
      </div>
      <ErrorBanner error={alerts.error} />
      {alerts.isLoading ? (
        <Loading />
      ) : alerts.data ? (
        <>
          <DataTable
            caption="Alerts"
            columns={COLUMNS}
            rows={alerts.data.data}
            rowKey={(a) => a.uuid}
            sort={list.sort ?? { by: 'occurred_at', order: 'desc' }}
            onSort={list.setSort}
            empty="No alerts match these filters."
          />
          <Pagination meta={alerts.data.meta} onPage={list.setPage} onPageSize={list.setPageSize} />
        </>
      ) : null}
    </div>
  );
}
