import {
  AlertSeveritySchema,
  CloseClassificationSchema,
  type Incident,
  type IncidentEvent,
  type IncidentSharedEntity,
} from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import type { One } from '../api/client.js';
import { useApiMutation, usePatch } from '../api/hooks.js';
import { incidentQueries } from '../api/queries/incidents.js';
import { useAuth } from '../auth.js';
import { DetailPage } from '../components/detail-page.js';
import { Badge, duration, ErrorBanner, Loading, Time } from '../components/feedback.js';
import { SelectField, TextField } from '../components/form.js';
import { IncidentFindings } from '../components/incident-findings.js';
import { IncidentGraphView } from '../components/incident-graph.js';
import { IncidentMembers } from '../components/incident-members.js';
import { IncidentPicker } from '../components/incident-picker.js';
import { JsonView } from '../components/json-view.js';
import { Card, Details, Dialog } from '../components/layout.js';
import { type Column, DataTable } from '../components/table.js';
import { CloseDialog, StatusField } from '../components/triage.js';

const METRICS = [
  ['MTTD', 'time_to_detect_seconds', 'Time to detect: the first alert’s ingest minus its occurrence'],
  ['MTTA', 'time_to_acknowledge_seconds', 'Time to acknowledge: opened until first moved out of Open'],
  ['MTTC', 'time_to_close_seconds', 'Time to close: opened until Closed'],
] as const;

export function IncidentDetailPage() {
  const { uuid = '' } = useParams();
  const [dialog, setDialog] = useState<null | 'close' | 'merge'>(null);
  // Alerts keep joining an open incident: this observer makes the page's query poll.
  useQuery({ ...incidentQueries.detail(uuid), refetchInterval: 15_000 });
  // What the server would refuse is not offered: a reader sees the incident, not its controls.
  const write = useAuth().can('alerts:write');
  return (
    <DetailPage<Incident>
      resource={incidentQueries}
      uuid={uuid}
      back={{ to: '/incidents', label: 'incidents' }}
      header={(i) => ({
        title: i.title,
        subtitle: (
          <>
            <Badge value={i.severity} />
            <Badge value={i.status} />
            {i.close_classification && <span>{i.close_classification}</span>}
            <span>
              {i.alert_count} alert{i.alert_count === 1 ? '' : 's'}
            </span>
            {METRICS.map(([label, key, hint]) => (
              <span key={key} title={hint}>
                {label} <strong>{duration(i.metrics[key])}</strong>
              </span>
            ))}
            {i.merged_into_uuid && (
              <span>
                Merged into <Link to={`/incidents/${i.merged_into_uuid}`}>another incident</Link>
              </span>
            )}
          </>
        ),
        actions: write && (
          <>
            <button type="button" onClick={() => setDialog('merge')} disabled={i.status === 'Closed'}>
              Merge incidents…
            </button>
            {i.status !== 'Closed' && (
              <button type="button" className="primary" onClick={() => setDialog('close')}>
                Close incident
              </button>
            )}
          </>
        ),
      })}
      tabsLabel="Incident sections"
      tabs={(i) => [
        {
          id: 'alerts',
          label: `Alerts (${i.alert_count})`,
          render: () => <IncidentMembers incident={i} editable={write} />,
        },
        {
          id: 'entities',
          label: `Shared entities (${i.shared_entities.length})`,
          render: () => <SharedEntities incident={i} />,
        },
        { id: 'timeline', label: 'Timeline', render: () => <Timeline incident={i} /> },
        {
          id: 'findings',
          label: `Findings (${i.finding_count})`,
          render: () => <IncidentFindings uuid={i.uuid} editable={write} />,
        },
      ]}
      aside={(i) => <Sidebar incident={i} editable={write} onClose={() => setDialog('close')} />}
      extra={(i) => (
        <>
          <CloseDialog
            open={dialog === 'close'}
            onClose={() => setDialog(null)}
            noun="incident"
            path={incidentQueries.path(i.uuid)}
            invalidates={[incidentQueries.all]}
          />
          <MergeDialog open={dialog === 'merge'} onClose={() => setDialog(null)} incident={i} />
        </>
      )}
    />
  );
}

/** Triage changes the incident everywhere it is listed or counted: the whole resource reloads. */
function usePatchIncident(uuid: string) {
  return usePatch<One<Incident>, Record<string, unknown>>(incidentQueries.path(uuid), [incidentQueries.all]);
}

function Sidebar({ incident: i, editable, onClose }: { incident: Incident; editable: boolean; onClose(): void }) {
  const patch = usePatchIncident(i.uuid);
  const [title, setTitle] = useState(i.title);
  return (
    <aside>
      {editable && (
        <Card title="Triage">
          <StatusField value={i.status} onChange={(status) => patch.mutate({ status })} onClose={onClose} />
          <SelectField
            label="Severity"
            hint={i.severity_override ? 'Set by an analyst' : 'The highest of its alerts'}
            value={i.severity_override === 'Pending' ? '' : (i.severity_override ?? '')}
            allowEmpty="From its alerts"
            options={AlertSeveritySchema.options.filter((s) => s !== 'Pending')}
            onChange={(severity) => patch.mutate({ severity: severity || null })}
          />
          {i.status === 'Closed' && (
            <SelectField
              label="Classification"
              value={i.close_classification ?? ''}
              options={CloseClassificationSchema.options}
              onChange={(close_classification) => patch.mutate({ close_classification })}
            />
          )}
          <TextField label="Title" value={title} onChange={setTitle} />
          <button
            type="button"
            className="small"
            onClick={() => patch.mutate({ title: title.trim() })}
            disabled={!title.trim() || title === i.title || patch.isPending}
          >
            Save title
          </button>
          <ErrorBanner error={patch.error} />
        </Card>
      )}
      <Card title="Details">
        <Details
          items={[
            ['Opened', <Time key="o" value={i.created_at} />],
            ['First alert', <Time key="f" value={i.first_alert_at} />],
            ['Last alert', <Time key="l" value={i.last_alert_at} />],
            ['Acknowledged', <Time key="a" value={i.acknowledged_at} />],
            ['Triaged', <Time key="t" value={i.triaged_at} />],
            ['Closed', <Time key="c" value={i.closed_at} />],
            ['Classification', i.close_classification],
          ]}
        />
      </Card>
    </aside>
  );
}

/** Other incidents' alerts move into this one; they close as Duplicate, pointing here. */
function MergeDialog({ open, onClose, incident: i }: { open: boolean; onClose(): void; incident: Incident }) {
  const [chosen, setChosen] = useState<string[]>([]);
  const merge = useApiMutation<One<Incident>, void>(
    () => ({ path: `${incidentQueries.path(i.uuid)}/merge`, json: { incident_uuids: chosen } }),
    {
      invalidates: [incidentQueries.all],
      onSuccess: () => {
        setChosen([]);
        onClose();
      },
    },
  );
  return (
    <Dialog open={open} onClose={onClose} title="Merge incidents into this one">
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          merge.mutate();
        }}
      >
        <p>
          Their alerts join <strong>{i.title}</strong> (pinned: correlation keeps them here); the merged incidents close
          as Duplicate.
        </p>
        <IncidentPicker legend="Incidents to merge" exclude={i.uuid} multiple value={chosen} onChange={setChosen} />
        <ErrorBanner error={merge.error} />
        <button type="submit" className="primary" disabled={chosen.length === 0 || merge.isPending}>
          Merge {chosen.length || ''}
        </button>
      </form>
    </Dialog>
  );
}

function SharedEntities({ incident: i }: { incident: Incident }) {
  const columns: Column<IncidentSharedEntity>[] = [
    { id: 'type', header: 'Type', cell: (e) => e.type },
    {
      id: 'value',
      header: 'Value',
      className: 'wrap',
      cell: (e) => <Link to={`/indicators/${e.indicator_uuid}`}>{e.value}</Link>,
    },
    { id: 'malice', header: 'Verdict', cell: (e) => <Badge value={e.malice} /> },
    { id: 'alerts', header: 'Alerts', className: 'num', cell: (e) => e.alert_count },
  ];
  return (
    <div className="stack">
      <IncidentGraphView incident={i} />
      <DataTable
        caption="Shared entities"
        columns={columns}
        rows={i.shared_entities}
        rowKey={(e) => e.indicator_uuid}
        empty="No entity is on two or more of its alerts."
      />
    </div>
  );
}

/** An event in an analyst's words: "alert added", "merged"… (the type without its prefix). */
const eventLabel = (type: IncidentEvent['event_type']) => type.replace(/^incident_/, '').replaceAll('_', ' ');

/** The other incidents an event names (split to, merged into, …), as links. */
const RELATED: Record<string, string> = {
  to_incident_uuid: 'to',
  from_incident_uuid: 'from',
  into_incident_uuid: 'into',
  merged_incident_uuids: 'merged',
};
function RelatedIncidents({ references }: { references: Record<string, unknown> }) {
  const links = Object.entries(RELATED).flatMap(([key, label]) => {
    const value = references[key];
    const uuids = (Array.isArray(value) ? value : [value]).filter((v): v is string => typeof v === 'string');
    return uuids.map((uuid) => [label, uuid] as const);
  });
  if (links.length === 0) return null;
  return (
    <div className="row small">
      {links.map(([label, uuid]) => (
        <span key={`${label}:${uuid}`}>
          {label} <Link to={`/incidents/${uuid}`}>incident {uuid.slice(-12)}</Link>
        </span>
      ))}
    </div>
  );
}

function Timeline({ incident: i }: { incident: Incident }) {
  const timeline = useQuery(incidentQueries.timeline(i.uuid));
  const titles = new Map(i.alerts.map((a) => [a.uuid, a.title]));
  if (timeline.error) return <ErrorBanner error={timeline.error} />;
  if (!timeline.data) return <Loading />;
  const { data: events, meta } = timeline.data;
  return (
    <>
      <ol className="timeline" aria-label="Timeline, oldest first">
        {events.map((e) => {
          const summary = e.references.summary;
          return (
            <li key={e.uuid}>
              <div className="row">
                <strong>{eventLabel(e.event_type)}</strong>
                <Badge value={e.actor_type} tone="muted" />
                {e.actor_key_prefix && <code className="small">{e.actor_key_prefix}</code>}
                <Time value={e.created_at} />
                {e.alert_uuid && (
                  <Link to={`/alerts/${e.alert_uuid}`}>{titles.get(e.alert_uuid) ?? 'an alert no longer here'}</Link>
                )}
              </div>
              {typeof summary === 'string' && <div className="small">{summary}</div>}
              <RelatedIncidents references={e.references} />
              {Object.keys(e.references).length > 0 && <JsonView label="Details" value={e.references} open={false} />}
            </li>
          );
        })}
      </ol>
      {meta.total > events.length && (
        <p className="muted small">
          The first {events.length} of {meta.total} events.
        </p>
      )}
    </>
  );
}
