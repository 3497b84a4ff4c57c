import type { AgentCreateInput, AgentListItem, AgentWithSecret } from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import type { One } from '../api/client.js';
import { useApiMutation } from '../api/hooks.js';
import { agentQueries } from '../api/queries/agents.js';
import { Badge, ErrorBanner, Loading, Time } from '../components/feedback.js';
import { TextField } from '../components/form.js';
import { Dialog, PageHeader } from '../components/layout.js';
import { type Column, DataTable, Pagination, useListParams } from '../components/table.js';

const COLUMNS: Column<AgentListItem>[] = [
  { id: 'name', header: 'Name', cell: (a) => <Link to={`/agents/${a.uuid}`}>{a.name}</Link> },
  { id: 'status', header: 'Status', cell: (a) => <Badge value={a.is_active ? 'active' : 'inactive'} /> },
  { id: 'endpoint', header: 'Endpoint', className: 'wrap', cell: (a) => <code>{a.endpoint_url}</code> },
  { id: 'sources', header: 'Sources', cell: (a) => a.trigger_on_sources.join(', ') || 'any' },
  { id: 'severities', header: 'Severities', cell: (a) => a.trigger_on_severities.join(', ') || 'any' },
  { id: 'filter', header: 'Filter', cell: (a) => (a.trigger_filter ? 'yes' : '') },
  {
    id: 'last',
    header: 'Last delivery',
    cell: ({ delivery_health: d }) =>
      d.last_delivery_at ? (
        <>
          <Badge value={d.last_status} /> <Time value={d.last_delivery_at} />
        </>
      ) : (
        <span className="muted">never</span>
      ),
  },
  {
    id: 'health',
    header: 'Last 24 h',
    cell: ({ delivery_health: d }) =>
      d.failed_24h > 0 ? (
        <Badge value={`${d.failed_24h} failed`} tone="danger" />
      ) : (
        <span className={d.delivered_24h > 0 ? '' : 'muted'}>{d.delivered_24h} delivered</span>
      ),
  },
  { id: 'updated', header: 'Updated', cell: (a) => <Time value={a.updated_at} /> },
];

export function AgentsPage() {
  const list = useListParams();
  const agents = useQuery(agentQueries.list(list.apiParams));
  const [creating, setCreating] = useState(false);
  return (
    <>
      <PageHeader
        title="Agents"
        subtitle="Webhook endpoints that receive matching alerts after enrichment, signed and retried."
        actions={
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            Register agent
          </button>
        }
      />
      <ErrorBanner error={agents.error} />
      {agents.isLoading && <Loading />}
      {agents.data && (
        <>
          <DataTable
            caption="Agents"
            columns={COLUMNS}
            rows={agents.data.data}
            rowKey={(a) => a.uuid}
            empty="No agent registered."
          />
          <Pagination meta={agents.data.meta} onPage={list.setPage} onPageSize={list.setPageSize} />
        </>
      )}
      <RegisterDialog open={creating} onClose={() => setCreating(false)} />
    </>
  );
}

function RegisterDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const [name, setName] = useState('');
  const [url, setUrl] = useState('');
  const [header, setHeader] = useState('');
  const [headerValue, setHeaderValue] = useState('');
  const create = useApiMutation<One<AgentWithSecret>, AgentCreateInput>(
    (json) => ({ path: agentQueries.path(), json }),
    {
      invalidates: [agentQueries.all],
    },
  );
  const close = () => {
    create.reset();
    onClose();
  };
  const made = create.data?.data;
  return (
    <Dialog open={open} onClose={close} title="Register agent">
      {made ? (
        <div className="stack">
          <p className="banner warn" role="status">
            Agent registered. Its signing secret (HMAC-SHA256 of <code>X-Calseta-Signature</code>) is shown once:
          </p>
          <pre className="block">{made.signing_secret}</pre>
          <Link to={`/agents/${made.uuid}?tab=configuration`}>Configure triggers</Link>
        </div>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate({
              name,
              endpoint_url: url,
              ...(header ? { auth_header_name: header, auth_header_value: headerValue } : {}),
            });
          }}
        >
          <TextField label="Name" value={name} onChange={setName} required />
          <TextField
            label="Endpoint URL"
            type="url"
            value={url}
            onChange={setUrl}
            required
            placeholder="https://agent.example.com/webhook"
          />
          <div className="form-grid">
            <TextField label="Auth header (optional)" value={header} onChange={setHeader} placeholder="Authorization" />
            <TextField label="Header value" type="password" value={headerValue} onChange={setHeaderValue} />
          </div>
          <ErrorBanner error={create.error} />
          <button type="submit" className="primary" disabled={!name || !url || create.isPending}>
            Register
          </button>
        </form>
      )}
    </Dialog>
  );
}
