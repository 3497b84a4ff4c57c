import {
  type Agent,
  type AgentTestResult,
  type AgentUpdateInput,
  AlertSeveritySchema,
  type TargetingRules,
} from '@calseta/schema';
import { useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import type { One } from '../api/client.js';
import { useApi, useApiMutation } from '../api/hooks.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { DeliveryLog } from '../components/delivery-log.js';
import { Badge, ErrorBanner, Loading, Time } from '../components/feedback.js';
import { Checkbox, CheckboxGroup, TextField } from '../components/form.js';
import { Card, Details, PageHeader, Tabs } from '../components/layout.js';
import { MarkdownEditor } from '../components/markdown-editor.js';
import { SOURCE_PLUGINS } from '../components/sources.js';
import { TargetingBuilder } from '../components/targeting-builder.js';

export function AgentDetailPage() {
  const { uuid = '' } = useParams();
  const base = `/v1/agents/${uuid}`;
  const agent = useApi<One<Agent>>(base);
  const navigate = useNavigate();
  const remove = useApiMutation<void, void>(() => ({ method: 'DELETE', path: base }), {
    invalidates: ['/v1/agents'],
    onSuccess: () => void navigate('/agents'),
  });
  if (agent.error) return <ErrorBanner error={agent.error} />;
  const a = agent.data?.data;
  if (!a) return <Loading />;
  return (
    <>
      <PageHeader
        title={a.name}
        subtitle={
          <>
            <Badge value={a.is_active ? 'active' : 'inactive'} /> <code>{a.endpoint_url}</code>
          </>
        }
        actions={
          <ConfirmButton label="Delete" title="Delete this agent?" onConfirm={() => remove.mutate()}>
            It stops receiving alerts; its delivery log is deleted.
          </ConfirmButton>
        }
      />
      <ErrorBanner error={remove.error} />
      <Tabs
        label="Agent sections"
        tabs={[
          {
            id: 'configuration',
            label: 'Configuration',
            render: () => <Configuration key={a.updated_at} agent={a} base={base} />,
          },
          {
            id: 'deliveries',
            label: 'Delivery log',
            render: () => <DeliveryLog path={`${base}/runs?page_size=50`} linkTo="alert" />,
          },
          { id: 'test', label: 'Test', render: () => <TestDelivery base={base} /> },
          {
            id: 'docs',
            label: 'Documentation',
            render: () => <Documentation key={a.updated_at} agent={a} base={base} />,
          },
        ]}
      />
    </>
  );
}

function usePatch(base: string, onSuccess?: () => void) {
  return useApiMutation<One<Agent>, AgentUpdateInput>((json) => ({ method: 'PATCH', path: base, json }), {
    invalidates: [base, '/v1/agents?'],
    ...(onSuccess ? { onSuccess } : {}),
  });
}

function Configuration({ agent: a, base }: { agent: Agent; base: string }) {
  const [form, setForm] = useState({
    name: a.name,
    endpoint_url: a.endpoint_url,
    is_active: a.is_active,
    timeout_seconds: String(a.timeout_seconds),
    retry_count: String(a.retry_count),
    token_budget: a.token_budget === null ? '' : String(a.token_budget),
    trigger_on_sources: a.trigger_on_sources,
    trigger_on_severities: a.trigger_on_severities,
  });
  const [filter, setFilter] = useState<TargetingRules | null>(a.trigger_filter);
  const patch = usePatch(base);
  const set =
    <K extends keyof typeof form>(key: K) =>
    (value: (typeof form)[K]) =>
      setForm({ ...form, [key]: value });
  return (
    <div className="layout-detail">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          patch.mutate({
            name: form.name,
            endpoint_url: form.endpoint_url,
            is_active: form.is_active,
            timeout_seconds: Number(form.timeout_seconds),
            retry_count: Number(form.retry_count),
            token_budget: form.token_budget === '' ? null : Number(form.token_budget),
            trigger_on_sources: form.trigger_on_sources,
            trigger_on_severities: form.trigger_on_severities,
            trigger_filter: filter,
          });
        }}
      >
        <Card title="Endpoint">
          <div className="form-grid">
            <TextField label="Name" value={form.name} onChange={set('name')} />
            <TextField label="Endpoint URL" value={form.endpoint_url} onChange={set('endpoint_url')} />
            <TextField
              label="Timeout (s)"
              type="number"
              value={form.timeout_seconds}
              onChange={set('timeout_seconds')}
            />
            <TextField label="Retries" type="number" value={form.retry_count} onChange={set('retry_count')} />
            <TextField
              label="Token budget"
              type="number"
              value={form.token_budget}
              onChange={set('token_budget')}
              hint="Empty: the default (2,000)."
            />
          </div>
          <Checkbox label="Active" checked={form.is_active} onChange={set('is_active')} />
        </Card>
        <Card title="Which alerts it receives">
          <p className="muted small">Empty lists mean every source / severity. The filter must also hold.</p>
          <CheckboxGroup
            legend="Sources"
            options={SOURCE_PLUGINS}
            value={form.trigger_on_sources}
            onChange={set('trigger_on_sources')}
          />
          <CheckboxGroup
            legend="Severities"
            options={AlertSeveritySchema.options}
            value={form.trigger_on_severities}
            onChange={set('trigger_on_severities')}
          />
          <TargetingBuilder legend="Trigger filter" value={filter} onChange={setFilter} />
        </Card>
        <ErrorBanner error={patch.error} />
        {patch.isSuccess && (
          <p className="banner ok" role="status">
            Saved.
          </p>
        )}
        <button type="submit" className="primary" disabled={patch.isPending}>
          Save configuration
        </button>
      </form>
      <Card title="Facts">
        <Details
          items={[
            ['Auth header', a.auth_header_name ? `${a.auth_header_name} (value hidden)` : '—'],
            ['Created', <Time key="c" value={a.created_at} />],
            ['Updated', <Time key="u" value={a.updated_at} />],
          ]}
        />
      </Card>
    </div>
  );
}

function TestDelivery({ base }: { base: string }) {
  const test = useApiMutation<One<AgentTestResult>, void>(() => ({ path: `${base}/test` }));
  const r = test.data?.data;
  return (
    <Card title="Send a synthetic alert">
      <button type="button" className="primary" disabled={test.isPending} onClick={() => test.mutate()}>
        {test.isPending ? 'Sending…' : 'Send test'}
      </button>
      <ErrorBanner error={test.error} />
      {r && (
        <Details
          items={[
            ['Delivered', <Badge key="d" value={r.delivered ? 'delivered' : 'failed'} />],
            ['HTTP status', r.status_code ?? '—'],
            ['Duration', `${r.duration_ms} ms`],
            ['Error', r.error],
          ]}
        />
      )}
    </Card>
  );
}

function Documentation({ agent: a, base }: { agent: Agent; base: string }) {
  const [doc, setDoc] = useState(a.documentation ?? '');
  const patch = usePatch(base);
  return (
    <div className="stack">
      <MarkdownEditor label="Agent documentation" value={doc} onChange={setDoc} />
      <ErrorBanner error={patch.error} />
      <div className="actions">
        <button
          type="button"
          className="primary"
          disabled={patch.isPending}
          onClick={() => patch.mutate({ documentation: doc || null })}
        >
          Save documentation
        </button>
      </div>
    </div>
  );
}
