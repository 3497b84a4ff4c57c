import type { IncidentSummary } from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useDeferredValue, useState } from 'react';
import { incidentQueries } from '../api/queries/incidents.js';
import { Badge, ErrorBanner, Loading, Time } from './feedback.js';

/** Incidents still open: the only ones alerts can move or merge into. */
const OPEN = 'Open,Triaging,Escalated';

/**
 * Choose open incidents other than `exclude`, found by title: checkboxes (`multiple`, merge) or radio
 * buttons (move). The newest activity first; 25 at a time, narrowed by the search.
 */
export function IncidentPicker({
  legend,
  exclude,
  multiple,
  value,
  onChange,
}: {
  legend: string;
  exclude: string;
  multiple?: boolean;
  value: readonly string[];
  onChange(uuids: string[]): void;
}) {
  const [search, setSearch] = useState('');
  const q = useDeferredValue(search.trim());
  const list = useQuery(
    incidentQueries.list({ status: OPEN, q, page_size: 25, sort_by: 'last_alert_at', sort_order: 'desc' }),
  );
  const candidates = (list.data?.data ?? []).filter((i) => i.uuid !== exclude);
  const toggle = (uuid: string, on: boolean) =>
    onChange(multiple ? (on ? [...value, uuid] : value.filter((v) => v !== uuid)) : on ? [uuid] : []);
  return (
    <fieldset className="checkbox-group incident-picker">
      <legend>{legend}</legend>
      <input
        type="search"
        aria-label="Search incidents by title"
        placeholder="Search by title"
        value={search}
        onChange={(e) => setSearch(e.target.value)}
      />
      <ErrorBanner error={list.error} />
      {list.isLoading ? (
        <Loading />
      ) : candidates.length === 0 ? (
        <p className="muted small">No other open incident{q ? ' matches' : ''}.</p>
      ) : (
        candidates.map((i) => (
          <label key={i.uuid} className="checkbox">
            <input
              type={multiple ? 'checkbox' : 'radio'}
              name={multiple ? undefined : 'incident-picker'}
              checked={value.includes(i.uuid)}
              onChange={(e) => toggle(i.uuid, e.target.checked)}
            />
            <PickerLabel incident={i} />
          </label>
        ))
      )}
    </fieldset>
  );
}

function PickerLabel({ incident: i }: { incident: IncidentSummary }) {
  return (
    <span>
      {i.title} <Badge value={i.severity} />{' '}
      <span className="muted small">
        {i.alert_count} alerts · last <Time value={i.last_alert_at} />
      </span>
    </span>
  );
}
