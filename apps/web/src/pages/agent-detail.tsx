import {
  type Agent,
  type AgentDeliveryMode,
  type AgentTestResult,
  type AgentUpdateInput,
  AlertSeveritySchema,
  type TargetingRules,
} from '@calseta/schema';
import { useState } from 'react';
import { useParams } from 'react-router';
import type { One } from '../api/client.js';
import { useApiMutation, usePatch } from '../api/hooks.js';
import { agentQueries } from '../api/queries/agents.js';
import { DeliveryLog } from '../components/delivery-log.js';
import { DetailPage } from '../components/detail-page.js';
import { Badge, ErrorBanner, SaveStatus, Time } from '../components/feedback.js';
import { Checkbox, CheckboxGroup, SelectField, TextField, useFields } from '../components/form.js';
import { Card, Details } from '../components/layout.js';
import { documentationTab } from '../components/markdown-field.js';
import { SOURCE_PLUGINS } from '../components/sources.js';
import { TargetingBuilder } from '../components/targeting-builder.js';

export function AgentDetailPage() {
  const { uuid = '' } = useParams();
  return (
    <DetailPage
      resource={agentQueries}
      uuid={uuid}
      back={{ to: '/agents', label: 'agents' }}
      header={(a) => ({
        title: a.name,
        subtitle: (
          <>
            <Badge value={a.is_active ? 'active' : 'inactive'} /> <code>{a.endpoint_url}</code>
          </>
        ),
      })}
      remove={{ title: 'Delete this agent?', warning: 'It stops receiving alerts; its delivery log is deleted.' }}
      tabsLabel="Agent sections"
      tabs={(a) => [
        { id: 'configuration', label: 'Configuration', render: () => <Configuration key={a.updated_at} agent={a} /> },
        {
          id: 'deliveries',
          label: 'Delivery log',
          render: () => <DeliveryLog runs={agentQueries.deliveries(a.uuid)} linkTo="alert" />,
        },
        { id: 'test', label: 'Test', render: () => <TestDelivery uuid={a.uuid} /> },
        documentationTab('docs', agentQueries, a, 'Agent documentation'),
      ]}
    />
  );
}

const DELIVERY_MODES: ReadonlyArray<{ value: AgentDeliveryMode; label: string }> = [
  { value: 'alert', label: 'Each alert' },
  { value: 'incident', label: 'Each incident' },
];

function Configuration({ agent: a }: { agent: Agent }) {
  const [form, set] = useFields({
    name: a.name,
    endpoint_url: a.endpoint_url,
    is_active: a.is_active,
    timeout_seconds: String(a.timeout_seconds),
    retry_count: String(a.retry_count),
    token_budget: a.token_budget === null ? '' : String(a.token_budget),
    delivery_mode: a.delivery_mode,
    trigger_on_sources: a.trigger_on_sources,
    trigger_on_severities: a.trigger_on_severities,
  });
  const [filter, setFilter] = useState<TargetingRules | null>(a.trigger_filter);
  const patch = usePatch<One<Agent>, AgentUpdateInput>(agentQueries.path(a.uuid), agentQueries.changed(a.uuid));
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
            delivery_mode: form.delivery_mode,
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
              hint="Empty: the default (2,000 per alert, 4,000 per incident)."
            />
            <SelectField
              label="Delivery"
              value={form.delivery_mode}
              options={DELIVERY_MODES}
              onChange={set('delivery_mode')}
              hint="Per incident: one delivery when an incident of related alerts opens, then debounced updates."
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
        <SaveStatus mutation={patch} />
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

function TestDelivery({ uuid }: { uuid: string }) {
  const test = useApiMutation<One<AgentTestResult>, void>(() => ({ path: `${agentQueries.path(uuid)}/test` }));
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
