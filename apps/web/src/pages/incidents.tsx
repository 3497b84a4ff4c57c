import { AlertSeveritySchema, AlertStatusSchema, type IncidentSummary } from '@calseta/schema';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { incidentQueries } from '../api/queries/incidents.js';
import { Badge, ErrorBanner, Loading, Time } from '../components/feedback.js';
import { Checkbox, MultiFilter } from '../components/form.js';
import { CorrelationRules } from '../components/incident-correlation.js';
import { PageHeader } from '../components/layout.js';
import {
  type Column,
  DataTable,
  DateRangeFilter,
  Pagination,
  useDateRange,
  useListParams,
} from '../components/table.js';

const FILTERS = ['status', 'severity'] as const;
const OPTIONS = { status: AlertStatusSchema.options, severity: AlertSeveritySchema.options };
const LABELS = { status: 'Status', severity: 'Severity' };
const DEFAULT_SORT = { by: 'last_alert_at', order: 'desc' } as const;

const COLUMNS: Column<IncidentSummary>[] = [
  {
    id: 'title',
    header: 'Title',
    className: 'wrap',
    cell: (i) => (
      <>
        <Link to={`/incidents/${i.uuid}`}>{i.title}</Link>
        {i.merged_into_uuid && <span className="muted small"> (merged)</span>}
      </>
    ),
  },
  {
    id: 'severity',
    header: 'Severity',
    sort: 'severity',
    cell: (i) => (
      <span title={i.severity_override ? 'Set by an analyst' : 'The highest of its alerts'}>
        <Badge value={i.severity} />
        {i.severity_override && <span className="muted small"> set</span>}
      </span>
    ),
  },
  { id: 'status', header: 'Status', sort: 'status', cell: (i) => <Badge value={i.status} /> },
  { id: 'classification', header: 'Classification', className: 'wrap', cell: (i) => i.close_classification ?? '—' },
  { id: 'alerts', header: 'Alerts', sort: 'alert_count', className: 'num', cell: (i) => i.alert_count },
  { id: 'first', header: 'First alert', cell: (i) => <Time value={i.first_alert_at} /> },
  { id: 'last', header: 'Last alert', sort: 'last_alert_at', cell: (i) => <Time value={i.last_alert_at} /> },
  { id: 'opened', header: 'Opened', sort: 'created_at', cell: (i) => <Time value={i.created_at} /> },
];

/** Incidents: related alerts grouped by correlation, with filters, search, sorting and live refresh. */
export function IncidentsPage() {
  const list = useListParams(FILTERS);
  const range = useDateRange();
  const [params, setParams] = useSearchParams();
  const [search, setSearch] = useState(params.get('q') ?? '');
  const [live, setLive] = useState(true);
  const [rules, setRules] = useState(false);
  const sort = list.sort ?? DEFAULT_SORT;
  const q = params.get('q') ?? undefined;
  const incidents = useQuery({
    ...incidentQueries.list({ ...list.apiParams, sort_by: sort.by, sort_order: sort.order, ...range.apiParams, q }),
    refetchInterval: live ? 5_000 : false,
    // A new filter or page keeps the table on screen (and focus in it) until the answer arrives.
    placeholderData: keepPreviousData,
  });
  const find = (text: string) =>
    setParams(
      (prev) => {
        const next = new URLSearchParams(prev);
        if (text.trim()) next.set('q', text.trim());
        else next.delete('q');
        next.delete('page');
        return next;
      },
      { replace: true },
    );
  return (
    <>
      <PageHeader
        title="Incidents"
        subtitle="Alerts that belong together — shared accounts, hosts, addresses, hashes, the same rule on the same entity, or the SIEM's own grouping — as one case."
      />
      <div className="toolbar" role="toolbar" aria-label="Incident filters">
        {FILTERS.map((f) => (
          <MultiFilter
            key={f}
            label={LABELS[f]}
            options={OPTIONS[f]}
            value={list.filters[f] ?? []}
            onChange={(v) => list.setFilter(f, v)}
          />
        ))}
        <DateRangeFilter range={range} label="Opened from" />
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            find(search);
          }}
        >
          <input
            type="search"
            aria-label="Title contains"
            placeholder="Title contains"
            value={search}
            maxLength={200}
            onChange={(e) => setSearch(e.target.value)}
          />
          <button type="submit" className="small">
            Search
          </button>
        </form>
        <Checkbox label="Live refresh" checked={live} onChange={setLive} />
        {incidents.isFetching && <span className="muted small">updating…</span>}
      </div>
      <ErrorBanner error={incidents.error} />
      {incidents.isLoading ? (
        <Loading />
      ) : incidents.data ? (
        <>
          <DataTable
            caption="Incidents"
            columns={COLUMNS}
            rows={incidents.data.data}
            rowKey={(i) => i.uuid}
            sort={sort}
            onSort={list.setSort}
            empty="No incident matches these filters. Alerts that share nothing stay on their own."
          />
          <Pagination meta={incidents.data.meta} onPage={list.setPage} onPageSize={list.setPageSize} />
        </>
      ) : null}
      {/* Mounted while open: the rules are fetched when someone looks at them. */}
      <details className="card rules" onToggle={(e) => setRules(e.currentTarget.open)}>
        <summary>
          <h2 style={{ display: 'inline' }}>Correlation rules and dry run</h2>
        </summary>
        {rules && <CorrelationRules />}
      </details>
    </>
  );
}
