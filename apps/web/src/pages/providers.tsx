import {
  type HttpConfig,
  type IndicatorType,
  IndicatorTypeSchema,
  type Provider,
  type ProviderCreateInput,
  type ProviderImportResult,
} from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import type { One } from '../api/client.js';
import { useApiMutation } from '../api/hooks.js';
import { extractionQueries, providerQueries } from '../api/queries/providers.js';
import { Badge, ErrorBanner, Loading } from '../components/feedback.js';
import { CheckboxGroup, parseJson, readFileText, SelectField, TextField } from '../components/form.js';
import { Dialog, PageHeader } from '../components/layout.js';
import { HttpConfigBuilder } from '../components/provider-builders.js';
import { type Column, DataTable, Pagination, useListParams } from '../components/table.js';

/** `mock` (demo answers from the built-in mock), `configured`, or `missing`: what the provider will really do. */
export function credentialState(p: Provider): { value: string; tone: string } {
  if (p.credential_source === 'mock') return { value: 'mock', tone: 'warn' };
  return p.is_configured ? { value: 'configured', tone: 'ok' } : { value: 'missing', tone: 'warn' };
}

export const quotaText = (p: Provider) => {
  const parts: string[] = [];
  if (p.quota.minute_remaining !== null) parts.push(`${p.quota.minute_remaining}/min left`);
  if (p.quota.day_remaining !== null) parts.push(`${p.quota.day_remaining}/day left`);
  if (p.quota.paused_until) parts.push(`paused until ${new Date(p.quota.paused_until).toLocaleTimeString()}`);
  return parts.join(' · ') || 'unlimited';
};

const COLUMNS: Column<Provider>[] = [
  { id: 'name', header: 'Provider', cell: (p) => <Link to={`/providers/${p.uuid}`}>{p.display_name}</Link> },
  { id: 'key', header: 'Name', cell: (p) => <code>{p.provider_name}</code> },
  { id: 'status', header: 'Status', cell: (p) => <Badge value={p.is_active ? 'active' : 'inactive'} /> },
  {
    id: 'configured',
    header: 'Credentials',
    cell: (p) => <Badge {...credentialState(p)} />,
  },
  { id: 'types', header: 'Indicator types', className: 'wrap', cell: (p) => p.supported_indicator_types.join(', ') },
  { id: 'kind', header: 'Kind', cell: (p) => (p.is_builtin ? 'builtin' : 'custom') },
  { id: 'quota', header: 'Quota', cell: quotaText },
];

export function ProvidersPage() {
  const list = useListParams(['is_active', 'is_builtin']);
  const providers = useQuery({ ...providerQueries.list(list.apiParams), refetchInterval: 15_000 });
  const [creating, setCreating] = useState(false);
  const bool = (name: string, label: string) => (
    <SelectField<'true' | 'false'>
      label={label}
      value={(list.filters[name]?.[0] as 'true' | 'false' | undefined) ?? ''}
      allowEmpty="All"
      options={[
        { value: 'true', label: 'Yes' },
        { value: 'false', label: 'No' },
      ]}
      onChange={(v) => list.setFilter(name, v ? [v] : [])}
    />
  );
  return (
    <>
      <PageHeader
        title="Enrichment providers"
        subtitle="Every active provider enriches every indicator of every alert, in parallel."
        actions={
          <>
            <ImportProvider />
            <button type="button" className="primary" onClick={() => setCreating(true)}>
              Add provider
            </button>
          </>
        }
      />
      <div className="toolbar">
        {bool('is_active', 'Active')}
        {bool('is_builtin', 'Builtin')}
      </div>
      <ErrorBanner error={providers.error} />
      {providers.isLoading && <Loading />}
      {providers.data && (
        <>
          <DataTable
            caption="Enrichment providers"
            columns={COLUMNS}
            rows={providers.data.data}
            rowKey={(p) => p.uuid}
          />
          <Pagination meta={providers.data.meta} onPage={list.setPage} onPageSize={list.setPageSize} />
        </>
      )}
      <CreateProviderDialog open={creating} onClose={() => setCreating(false)} />
    </>
  );
}

/** A community provider file (`community-plugins/providers/*.json`): provider plus field extractions. */
function ImportProvider() {
  const navigate = useNavigate();
  const [error, setError] = useState<string | null>(null);
  const importing = useApiMutation<One<ProviderImportResult>, unknown>(
    (json) => ({ path: `${providerQueries.path()}/import`, json }),
    {
      invalidates: [providerQueries.all, extractionQueries.all],
      onSuccess: (r) => void navigate(`/providers/${r.data.provider.uuid}`),
    },
  );
  return (
    <>
      <label className="button">
        Import JSON
        <input
          type="file"
          accept=".json,application/json"
          className="sr-only"
          onChange={async (e) => {
            const file = e.target.files?.[0];
            if (!file) return;
            const parsed = parseJson(await readFileText(file));
            setError(parsed.ok ? null : `Not JSON: ${parsed.error}`);
            if (parsed.ok) importing.mutate(parsed.value);
          }}
        />
      </label>
      {error && (
        <span className="banner error" role="alert">
          {error}
        </span>
      )}
      <ErrorBanner error={importing.error} title="Import failed" />
    </>
  );
}

const STARTER: HttpConfig = {
  steps: [
    {
      name: 'lookup',
      method: 'GET',
      url: 'https://api.example.com/v1/{{indicator.value}}',
      headers: { Authorization: 'Bearer {{auth.api_key}}' },
      query_params: {},
      expected_status: [200],
      not_found_status: [404],
      optional: false,
    },
  ],
};

function CreateProviderDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [display, setDisplay] = useState('');
  const [types, setTypes] = useState<IndicatorType[]>(['ip']);
  const [config, setConfig] = useState<HttpConfig>(STARTER);
  const create = useApiMutation<One<Provider>, ProviderCreateInput>(
    (json) => ({ path: providerQueries.path(), json }),
    {
      invalidates: [providerQueries.all],
      onSuccess: (p) => void navigate(`/providers/${p.data.uuid}`),
    },
  );
  return (
    <Dialog open={open} onClose={onClose} title="Add enrichment provider" wide>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({
            provider_name: name,
            display_name: display || name,
            supported_indicator_types: types,
            http_config: config,
          });
        }}
      >
        <div className="form-grid">
          <TextField label="Name" value={name} onChange={setName} required hint="lowercase letters, digits and _" />
          <TextField label="Display name" value={display} onChange={setDisplay} />
        </div>
        <CheckboxGroup
          legend="Indicator types"
          options={IndicatorTypeSchema.options}
          value={types}
          onChange={setTypes}
        />
        <HttpConfigBuilder value={config} onChange={setConfig} />
        <p className="muted small">Add malice rules, field extractions and credentials on the provider's page.</p>
        <ErrorBanner error={create.error} />
        <button type="submit" className="primary" disabled={!name || types.length === 0 || create.isPending}>
          Add provider
        </button>
      </form>
    </Dialog>
  );
}
