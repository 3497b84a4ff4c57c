import type { AgentRun } from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import type { Page } from '../api/client.js';
import { useApiMutation } from '../api/hooks.js';
import { agentRunQueries } from '../api/queries/agents.js';
import type { Get } from '../api/queries/resource.js';
import { Badge, ErrorBanner, Loading, Time } from './feedback.js';
import { JsonView } from './json-view.js';
import { Card } from './layout.js';
import { type Column, DataTable } from './table.js';

/**
 * Webhook deliveries to agents (of one alert, or of one agent; `linkTo` says which side each row links to), live: status, attempts, HTTP answer;
 * a row opens its attempts, the payload sent and the answer, and finished ones can be redelivered.
 */
export function DeliveryLog({ runs: query, linkTo }: { runs: Get<Page<AgentRun>>; linkTo: 'agent' | 'alert' }) {
  const runs = useQuery({ ...query, refetchInterval: 5_000 });
  const [open, setOpen] = useState<string | null>(null);
  const redeliver = useApiMutation<unknown, string>((uuid) => ({ path: `${agentRunQueries.path(uuid)}/redeliver` }), {
    invalidates: [query.queryKey],
  });
  const columns: Column<AgentRun>[] = [
    linkTo === 'agent'
      ? {
          id: 'agent',
          header: 'Agent',
          cell: (r) => <Link to={`/agents/${r.agent_uuid}?tab=deliveries`}>{r.agent_name}</Link>,
        }
      : {
          id: 'alert',
          header: 'Alert',
          cell: (r) => <Link to={`/alerts/${r.alert_uuid}?tab=deliveries`}>open alert</Link>,
        },
    { id: 'status', header: 'Status', cell: (r) => <Badge value={r.status} /> },
    { id: 'trigger', header: 'Trigger', cell: (r) => r.trigger },
    { id: 'attempts', header: 'Attempts', cell: (r) => `${r.attempt_count} / ${r.max_attempts}` },
    { id: 'code', header: 'HTTP', cell: (r) => r.response_status_code ?? '—' },
    {
      id: 'duration',
      header: 'Duration',
      className: 'num',
      cell: (r) => (r.duration_ms === null ? '—' : `${r.duration_ms} ms`),
    },
    { id: 'error', header: 'Error', className: 'wrap', cell: (r) => r.error ?? '' },
    { id: 'created', header: 'Queued', cell: (r) => <Time value={r.created_at} /> },
    {
      id: 'actions',
      header: '',
      cell: (r) => (
        <div className="row">
          <button
            type="button"
            className="small"
            aria-expanded={open === r.uuid}
            onClick={() => setOpen(open === r.uuid ? null : r.uuid)}
          >
            Details
          </button>
          {(r.status === 'failed' || r.status === 'delivered') && (
            <button type="button" className="small" onClick={() => redeliver.mutate(r.uuid)}>
              Redeliver
            </button>
          )}
        </div>
      ),
    },
  ];
  if (runs.error) return <ErrorBanner error={runs.error} />;
  if (!runs.data) return <Loading />;
  return (
    <>
      <ErrorBanner error={redeliver.error} />
      <DataTable
        caption="Agent deliveries"
        columns={columns}
        rows={runs.data.data}
        rowKey={(r) => r.uuid}
        empty="No delivery yet."
      />
      {open && <DeliveryDetail uuid={open} />}
    </>
  );
}

function DeliveryDetail({ uuid }: { uuid: string }) {
  const run = useQuery(agentRunQueries.detail(uuid));
  if (run.error) return <ErrorBanner error={run.error} />;
  const r = run.data?.data;
  if (!r) return <Loading />;
  return (
    <Card
      title={`Delivery to ${r.agent_name}`}
      actions={<code className="small">Idempotency-Key {r.idempotency_key}</code>}
    >
      <ol className="timeline" aria-label="Attempts">
        {r.attempts.map((a) => (
          <li key={a.attempt}>
            Attempt {a.attempt}: {a.status_code ?? 'no answer'} in {a.duration_ms} ms <Time value={a.started_at} />
            {a.error && <span className="small tone-danger"> — {a.error}</span>}
          </li>
        ))}
      </ol>
      <JsonView label="Payload sent" value={r.request_payload} open={false} />
      <JsonView label="Response" value={r.response_body} open={false} />
    </Card>
  );
}
