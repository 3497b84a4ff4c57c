import {
  type Alert,
  type AlertIndicator,
  AlertSeveritySchema,
  type IndicatorType,
  IndicatorTypeSchema,
  MaliceLevelSchema,
  type RelatedAlert,
} from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useParams } from 'react-router';
import type { One } from '../api/client.js';
import { useApiMutation, usePatch } from '../api/hooks.js';
import { alertQueries } from '../api/queries/alerts.js';
import { DeliveryLog } from '../components/delivery-log.js';
import { Badge, ErrorBanner, Loading, Time } from '../components/feedback.js';
import { FindingCards } from '../components/findings.js';
import { Checkbox, ListField, Select, SelectField } from '../components/form.js';
import { AlertIncidentLink } from '../components/incident-link.js';
import { JsonView } from '../components/json-view.js';
import { Card, Details, PageHeader, Tabs } from '../components/layout.js';
import { Markdown } from '../components/markdown.js';
import { RelationshipGraphView } from '../components/relationship-graph.js';
import { RunAgentDialog, RunWorkflowDialog } from '../components/run-dialogs.js';
import { type Column, DataTable } from '../components/table.js';
import { CloseDialog, StatusField } from '../components/triage.js';
import { Explanation, ProviderResults } from '../components/verdicts.js';

export function AlertDetailPage() {
  const { uuid = '' } = useParams();
  // Poll while the pipeline is still working on it, so "Pending" turns into verdicts on its own.
  const alert = useQuery({
    ...alertQueries.detail(uuid),
    refetchInterval: ({ state: { data: d } }) => (!d || d.data.enrichment_status === 'Pending' ? 1_000 : 15_000),
  });
  const a = alert.data?.data;
  const [dialog, setDialog] = useState<null | 'agent' | 'workflow' | 'close'>(null);

  if (alert.error) return <ErrorBanner error={alert.error} />;
  if (!a) return <Loading />;
  return (
    <>
      <PageHeader
        title={a.title}
        subtitle={
          <>
            <Badge value={a.severity} />
            <Badge value={a.status} />
            <span>
              Enrichment <Badge value={a.enrichment_status} />
            </span>
            <span>
              Verdict <Badge value={a.malice} />
            </span>
            <span className="muted">{a.source_name}</span>
            <AlertIncidentLink alertUuid={a.uuid} />
          </>
        }
        actions={
          <>
            <ReEnrich uuid={a.uuid} />
            <button type="button" onClick={() => setDialog('agent')}>
              Run agent
            </button>
            <button type="button" onClick={() => setDialog('workflow')}>
              Run workflow
            </button>
            {a.status !== 'Closed' && (
              <button type="button" className="primary" onClick={() => setDialog('close')}>
                Close alert
              </button>
            )}
          </>
        }
      />
      <div className="layout-detail">
        <div>
          <Tabs
            label="Alert sections"
            tabs={[
              { id: 'overview', label: 'Overview', render: () => <Overview alert={a} /> },
              {
                id: 'indicators',
                label: `Indicators (${a.indicators.length})`,
                render: () => <Indicators alertUuid={a.uuid} indicators={a.indicators} />,
              },
              {
                id: 'context',
                label: `Context (${a.context_documents.length})`,
                render: () => <ContextDocs alert={a} />,
              },
              { id: 'related', label: 'Past alerts', render: () => <Related uuid={a.uuid} /> },
              { id: 'findings', label: 'Findings', render: () => <Findings uuid={a.uuid} /> },
              { id: 'activity', label: 'Activity', render: () => <Activity uuid={a.uuid} /> },
              { id: 'graph', label: 'Graph', render: () => <Graph uuid={a.uuid} /> },
              {
                id: 'deliveries',
                label: 'Agent deliveries',
                render: () => <DeliveryLog runs={alertQueries.deliveries(a.uuid)} linkTo="agent" />,
              },
              { id: 'payload', label: 'Agent payload', render: () => <Payload uuid={a.uuid} /> },
              { id: 'raw', label: 'Raw', render: () => <JsonView label="raw_payload" value={a.raw_payload} open /> },
            ]}
          />
        </div>
        <Sidebar alert={a} onClose={() => setDialog('close')} />
      </div>
      <RunAgentDialog open={dialog === 'agent'} onClose={() => setDialog(null)} alertUuid={a.uuid} />
      <RunWorkflowDialog
        open={dialog === 'workflow'}
        onClose={() => setDialog(null)}
        alertUuid={a.uuid}
        indicators={a.indicators.map((i) => ({ type: i.type, value: i.value }))}
      />
      <CloseDialog
        open={dialog === 'close'}
        onClose={() => setDialog(null)}
        noun="alert"
        path={alertQueries.path(a.uuid)}
        invalidates={[alertQueries.all]}
      />
    </>
  );
}

/** Triage changes an alert everywhere it is listed or counted: the whole resource reloads. */
function usePatchAlert(uuid: string) {
  return usePatch<One<Alert>, Record<string, unknown>>(alertQueries.path(uuid), [alertQueries.all]);
}

function Sidebar({ alert: a, onClose }: { alert: Alert; onClose(): void }) {
  const patch = usePatchAlert(a.uuid);
  const [tags, setTags] = useState<string[]>(a.tags);
  return (
    <aside>
      <Card title="Triage">
        <StatusField value={a.status} onChange={(status) => patch.mutate({ status })} onClose={onClose} />
        <SelectField
          label="Severity"
          value={a.severity === 'Pending' ? '' : a.severity}
          allowEmpty="Pending"
          options={AlertSeveritySchema.options.filter((s) => s !== 'Pending')}
          onChange={(severity) => severity && patch.mutate({ severity })}
        />
        <SelectField
          label="Verdict override"
          hint={
            a.malice_override ? `Overridden by ${a.malice_override_source ?? 'analyst'}` : 'Computed from indicators'
          }
          value={a.malice_override ?? ''}
          allowEmpty="Computed"
          options={MaliceLevelSchema.options}
          onChange={(m) => patch.mutate(m ? { malice_override: m } : { reset_malice_override: true })}
        />
        <ListField label="Tags" value={tags} onChange={setTags} />
        <button type="button" className="small" onClick={() => patch.mutate({ tags })} disabled={patch.isPending}>
          Save tags
        </button>
        <ErrorBanner error={patch.error} />
      </Card>
      <Card title="Details">
        <Details
          items={[
            ['Occurred', <Time key="o" value={a.occurred_at} />],
            ['Ingested', <Time key="i" value={a.ingested_at} />],
            ['Enriched', <Time key="e" value={a.enriched_at} />],
            ['Acknowledged', <Time key="a" value={a.acknowledged_at} />],
            ['Closed', <Time key="c" value={a.closed_at} />],
            ['Classification', a.close_classification],
            ['Duplicates', a.duplicate_count],
            ['Fingerprint', a.fingerprint && <code>{a.fingerprint}</code>],
            [
              'Detection rule',
              a.detection_rule && <Link to={`/detection-rules/${a.detection_rule.uuid}`}>{a.detection_rule.name}</Link>,
            ],
          ]}
        />
      </Card>
    </aside>
  );
}

function Overview({ alert: a }: { alert: Alert }) {
  const e = a.enrichment;
  return (
    <div className="stack">
      <Card title="Description">
        <p style={{ whiteSpace: 'pre-wrap' }}>{a.description ?? <span className="muted">No description.</span>}</p>
      </Card>
      <Card title="Enrichment">
        {e ? (
          <Details
            items={[
              ['Status', <Badge key="s" value={e.status} />],
              ['Indicators', `${e.indicator_count} (${e.enrichable_count} enrichable)`],
              ['Succeeded', e.providers_succeeded.join(', ') || '—'],
              ['Failed', e.providers_failed.join(', ') || '—'],
              ['Skipped', e.providers_skipped.join(', ') || '—'],
              ['Deferred', e.providers_deferred.join(', ') || '—'],
              ['Cache hits', e.cache_hits],
              ['Completed', <Time key="c" value={e.completed_at} />],
            ]}
          />
        ) : (
          <p className="muted">Not enriched yet.</p>
        )}
      </Card>
      {a.detection_rule?.documentation && (
        <Card title={`Detection rule: ${a.detection_rule.name}`}>
          <Markdown>{a.detection_rule.documentation}</Markdown>
        </Card>
      )}
      <JsonView label="Normalized alert" value={a.normalized} open={false} />
    </div>
  );
}

function ReEnrich({ uuid }: { uuid: string }) {
  const enrich = useApiMutation<unknown, void>(() => ({ path: `${alertQueries.path(uuid)}/enrich` }), {
    invalidates: [alertQueries.detail(uuid).queryKey],
  });
  return (
    <button type="button" onClick={() => enrich.mutate()} disabled={enrich.isPending} title={enrich.error?.message}>
      {enrich.isSuccess ? 'Enrichment queued' : 'Re-enrich'}
    </button>
  );
}

/** Indicators the analyst found elsewhere: linked to the alert, and enriched with it. */
function AddIndicators({ alertUuid }: { alertUuid: string }) {
  const [type, setType] = useState<IndicatorType>('ip');
  const [value, setValue] = useState('');
  const [enrich, setEnrich] = useState(true);
  const add = useApiMutation<unknown, void>(
    () => ({
      path: `${alertQueries.path(alertUuid)}/indicators?enrich=${enrich}`,
      json: { indicators: [{ type, value }] },
    }),
    { invalidates: [alertQueries.detail(alertUuid).queryKey], onSuccess: () => setValue('') },
  );
  return (
    <Card title="Add an indicator">
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate();
        }}
      >
        <Select ariaLabel="New indicator type" value={type} options={IndicatorTypeSchema.options} onChange={setType} />
        <input
          aria-label="New indicator value"
          value={value}
          onChange={(e) => setValue(e.target.value)}
          placeholder="value"
        />
        <Checkbox label="Enrich now" checked={enrich} onChange={setEnrich} />
        <button type="submit" disabled={!value.trim() || add.isPending}>
          Add
        </button>
      </form>
      <ErrorBanner error={add.error} />
    </Card>
  );
}

function Indicators({ alertUuid, indicators }: { alertUuid: string; indicators: AlertIndicator[] }) {
  const [open, setOpen] = useState<string | null>(null);
  const columns: Column<AlertIndicator>[] = [
    { id: 'type', header: 'Type', cell: (i) => i.type },
    {
      id: 'value',
      header: 'Value',
      className: 'wrap',
      cell: (i) => <Link to={`/indicators/${i.uuid}`}>{i.value}</Link>,
    },
    { id: 'malice', header: 'Verdict', cell: (i) => <Badge value={i.malice} /> },
    { id: 'why', header: 'Why', className: 'wrap', cell: (i) => <Explanation explanation={i.malice_explanation} /> },
    {
      id: 'providers',
      header: 'Providers',
      cell: (i) => (
        <button
          type="button"
          className="small"
          aria-expanded={open === i.uuid}
          onClick={() => setOpen(open === i.uuid ? null : i.uuid)}
        >
          {Object.keys(i.enrichment_results ?? {}).length} results
        </button>
      ),
    },
    { id: 'field', header: 'Found in', cell: (i) => <code>{i.source_field ?? '—'}</code> },
  ];
  const shown = indicators.find((i) => i.uuid === open);
  return (
    <>
      <DataTable
        caption="Indicators"
        columns={columns}
        rows={indicators}
        rowKey={(i) => i.uuid}
        empty="No indicators extracted."
      />
      {shown && (
        <Card title={`Provider results — ${shown.type} ${shown.value}`}>
          <ProviderResults results={shown.enrichment_results} />
        </Card>
      )}
      <AddIndicators alertUuid={alertUuid} />
    </>
  );
}

function ContextDocs({ alert: a }: { alert: Alert }) {
  if (a.context_documents.length === 0) return <p className="muted">No context document applies to this alert.</p>;
  return (
    <div className="stack">
      {a.context_documents.map((d) => (
        <Card
          key={d.uuid}
          title={
            <>
              <Link to={`/context-docs/${d.uuid}`}>{d.title}</Link> <Badge value={d.document_type} tone="info" />
            </>
          }
          actions={
            <span className="muted small">
              {d.matched_by === 'global' ? 'global' : `matched ${d.matched_by.length} rule(s)`}
            </span>
          }
        >
          <Markdown>{d.content}</Markdown>
        </Card>
      ))}
    </div>
  );
}

function Related({ uuid }: { uuid: string }) {
  const related = useQuery(alertQueries.related(uuid));
  const columns: Column<RelatedAlert>[] = [
    { id: 'title', header: 'Alert', className: 'wrap', cell: (r) => <Link to={`/alerts/${r.uuid}`}>{r.title}</Link> },
    { id: 'severity', header: 'Severity', cell: (r) => <Badge value={r.severity} /> },
    { id: 'status', header: 'Status', cell: (r) => <Badge value={r.status} /> },
    { id: 'closed', header: 'Closed as', cell: (r) => r.close_classification ?? '—' },
    { id: 'shared', header: 'Shared indicators', className: 'wrap', cell: (r) => r.shared_indicators.join(', ') },
    { id: 'occurred', header: 'Occurred', cell: (r) => <Time value={r.occurred_at} /> },
  ];
  if (related.error) return <ErrorBanner error={related.error} />;
  if (!related.data) return <Loading />;
  return (
    <DataTable
      caption="Past alerts sharing indicators"
      columns={columns}
      rows={related.data.data}
      rowKey={(r) => r.uuid}
      empty="No earlier alert shares an indicator."
    />
  );
}

function Findings({ uuid }: { uuid: string }) {
  const findings = useQuery(alertQueries.findings(uuid));
  if (findings.error) return <ErrorBanner error={findings.error} />;
  if (!findings.data) return <Loading />;
  return <FindingCards findings={findings.data.data} empty="No agent has posted a finding yet." />;
}

function Activity({ uuid }: { uuid: string }) {
  const activity = useQuery(alertQueries.activity(uuid));
  if (activity.error) return <ErrorBanner error={activity.error} />;
  if (!activity.data) return <Loading />;
  return (
    <ol className="timeline" aria-label="Activity, newest first">
      {activity.data.data.map((e) => (
        <li key={e.uuid}>
          <div className="row">
            <strong>{e.event_type.replaceAll('_', ' ')}</strong>
            <Badge value={e.actor_type} tone="muted" />
            {e.actor_key_prefix && <code className="small">{e.actor_key_prefix}</code>}
            <Time value={e.created_at} />
          </div>
          {Object.keys(e.references).length > 0 && <JsonView label="Details" value={e.references} open={false} />}
        </li>
      ))}
    </ol>
  );
}

function Graph({ uuid }: { uuid: string }) {
  const graph = useQuery(alertQueries.graph(uuid));
  if (graph.error) return <ErrorBanner error={graph.error} />;
  if (!graph.data) return <Loading />;
  return <RelationshipGraphView graph={graph.data.data} />;
}

function Payload({ uuid }: { uuid: string }) {
  const payload = useQuery(alertQueries.payload(uuid));
  if (payload.error) return <ErrorBanner error={payload.error} />;
  if (!payload.data) return <Loading />;
  return (
    <>
      <p className="muted">
        What agents receive for this alert ({payload.data.data.token_count.toLocaleString()} tokens).
      </p>
      <JsonView label="Agent payload" value={payload.data.data} open />
    </>
  );
}
