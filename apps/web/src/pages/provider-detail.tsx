import {
  type Extraction,
  type ExtractionCreateInput,
  ExtractionValueTypeSchema,
  type HttpConfig,
  type IndicatorType,
  IndicatorTypeSchema,
  type MaliceRules,
  type Provider,
  type ProviderTestResult,
  type ProviderUpdateInput,
} from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useParams } from 'react-router';
import type { One } from '../api/client.js';
import { useApiMutation, usePatch } from '../api/hooks.js';
import { extractionQueries, providerQueries } from '../api/queries/providers.js';
import { DetailPage } from '../components/detail-page.js';
import { Badge, ErrorBanner, Loading, SaveStatus, Time } from '../components/feedback.js';
import { SelectField, TextField, useFields } from '../components/form.js';
import { JsonView } from '../components/json-view.js';
import { KeyValueEditor } from '../components/key-value-editor.js';
import { Card, Details } from '../components/layout.js';
import { HttpConfigBuilder, MaliceRulesBuilder } from '../components/provider-builders.js';
import { type Column, DataTable } from '../components/table.js';
import { ProviderResults } from '../components/verdicts.js';
import { credentialState, quotaText } from './providers.js';

const TTL_PRESETS = [
  { value: '300', label: '5 min' },
  { value: '900', label: '15 min' },
  { value: '3600', label: '1 h' },
  { value: '21600', label: '6 h' },
  { value: '43200', label: '12 h' },
  { value: '86400', label: '24 h' },
];

export function ProviderDetailPage() {
  const { uuid = '' } = useParams();
  const toggle = useApiMutation<One<Provider>, boolean>(
    (on) => ({ path: `${providerQueries.path(uuid)}/${on ? 'activate' : 'deactivate'}` }),
    { invalidates: providerQueries.changed(uuid) },
  );
  return (
    <DetailPage
      resource={providerQueries}
      uuid={uuid}
      back={{ to: '/providers', label: 'providers' }}
      header={(p) => ({
        title: p.display_name,
        subtitle: (
          <>
            <Badge value={p.is_active ? 'active' : 'inactive'} />
            <Badge {...credentialState(p)} />
            <code>{p.provider_name}</code> <span className="muted">{p.is_builtin ? 'builtin' : 'custom'}</span>
          </>
        ),
        actions: (
          <button type="button" onClick={() => toggle.mutate(!p.is_active)}>
            {p.is_active ? 'Deactivate' : 'Activate'}
          </button>
        ),
      })}
      remove={{
        title: 'Delete this provider?',
        warning: 'Its field extractions are deleted too.',
        allowed: (p) => !p.is_builtin,
      }}
      error={toggle.error}
      tabsLabel="Provider sections"
      tabs={(p) => [
        {
          id: 'configuration',
          label: 'Configuration',
          render: () => <Configuration key={p.updated_at} provider={p} />,
        },
        { id: 'extractions', label: 'Field extractions', render: () => <Extractions provider={p} /> },
        { id: 'test', label: 'Test', render: () => <TestProvider provider={p} /> },
      ]}
      aside={(p) => (
        <aside>
          <Card title="Status">
            <Details
              items={[
                [
                  'Credentials',
                  p.credential_source === 'mock'
                    ? 'mock: the built-in mock answers with demo data; store a credential to use the real service'
                    : p.credential_source,
                ],
                ['Quota', quotaText(p)],
                [
                  'Rate limit',
                  [
                    p.rate_limit_per_minute && `${p.rate_limit_per_minute}/min`,
                    p.rate_limit_per_day && `${p.rate_limit_per_day}/day`,
                  ]
                    .filter(Boolean)
                    .join(', ') || 'none',
                ],
                ['Cache TTL', `${p.default_cache_ttl_seconds} s`],
                ['Timeout', `${p.timeout_ms} ms`],
                ['Types', p.supported_indicator_types.join(', ')],
                ['Updated', <Time key="u" value={p.updated_at} />],
              ]}
            />
          </Card>
        </aside>
      )}
    />
  );
}

function Configuration({ provider: p }: { provider: Provider }) {
  const [config, setConfig] = useState<HttpConfig>(p.http_config);
  const [rules, setRules] = useState<MaliceRules | null>(p.malice_rules);
  const [ttl, setTtl] = useState(String(p.default_cache_ttl_seconds));
  const [credentials, setCredentials] = useState<Record<string, string>>({});
  const patch = usePatch<One<Provider>, ProviderUpdateInput>(
    providerQueries.path(p.uuid),
    providerQueries.changed(p.uuid),
  );
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        patch.mutate({
          ...(p.is_builtin ? {} : { http_config: config }),
          malice_rules: rules,
          default_cache_ttl_seconds: Number(ttl),
          ...(Object.keys(credentials).length ? { auth_config: credentials } : {}),
        });
      }}
    >
      <Card title="Request">
        {p.is_builtin && (
          <p className="muted small">Builtin providers' requests are fixed; rules, cache and credentials can change.</p>
        )}
        <HttpConfigBuilder value={config} onChange={setConfig} readOnly={p.is_builtin} />
      </Card>
      <Card title="Verdict">
        <MaliceRulesBuilder value={rules} onChange={setRules} />
      </Card>
      <Card title="Cache and credentials">
        <SelectField
          label="Cache TTL"
          value={TTL_PRESETS.some((t) => t.value === ttl) ? ttl : ''}
          allowEmpty={`${ttl} s`}
          options={TTL_PRESETS}
          onChange={(v) => v && setTtl(v)}
        />
        <KeyValueEditor
          legend="Credentials (write-only; templates read {{auth.<name>}})"
          keyLabel="Name"
          valueLabel="Secret"
          value={{}}
          onChange={setCredentials}
        />
        {p.has_credentials && <p className="muted small">Credentials are stored; new ones replace them.</p>}
      </Card>
      <SaveStatus mutation={patch} />
      <button type="submit" className="primary" disabled={patch.isPending}>
        Save configuration
      </button>
    </form>
  );
}

function Extractions({ provider: p }: { provider: Provider }) {
  const extractions = useQuery(extractionQueries.list({ provider_name: p.provider_name, page_size: 200 }));
  const invalidates = [extractionQueries.all];
  const toggle = useApiMutation<unknown, Extraction>(
    (x) => ({ method: 'PATCH', path: extractionQueries.path(x.uuid), json: { is_active: !x.is_active } }),
    { invalidates },
  );
  const remove = useApiMutation<unknown, string>((uuid) => ({ method: 'DELETE', path: extractionQueries.path(uuid) }), {
    invalidates,
  });
  const [draft, set, setDraft] = useFields({
    indicator_type: (p.supported_indicator_types[0] ?? 'ip') as IndicatorType,
    source_path: '',
    target_key: '',
    value_type: 'string' as const as ExtractionCreateInput['value_type'],
  });
  const create = useApiMutation<unknown, void>(
    () => ({ path: extractionQueries.path(), json: { provider_name: p.provider_name, ...draft } }),
    {
      invalidates,
      onSuccess: () => setDraft({ ...draft, source_path: '', target_key: '' }),
    },
  );
  const columns: Column<Extraction>[] = [
    { id: 'type', header: 'Type', cell: (x) => x.indicator_type },
    { id: 'path', header: 'Source path', className: 'wrap', cell: (x) => <code>{x.source_path}</code> },
    { id: 'key', header: 'Target key', cell: (x) => <code>{x.target_key}</code> },
    { id: 'value', header: 'Value type', cell: (x) => x.value_type },
    { id: 'status', header: 'Status', cell: (x) => <Badge value={x.is_active ? 'active' : 'inactive'} /> },
    {
      id: 'actions',
      header: '',
      cell: (x) => (
        <div className="row">
          <button type="button" className="small" onClick={() => toggle.mutate(x)}>
            {x.is_active ? 'Disable' : 'Enable'}
          </button>
          {!x.is_system && (
            <button type="button" className="danger small" onClick={() => remove.mutate(x.uuid)}>
              Delete
            </button>
          )}
        </div>
      ),
    },
  ];
  return (
    <div className="stack">
      <ErrorBanner error={extractions.error ?? toggle.error ?? remove.error} />
      {extractions.data ? (
        <DataTable
          caption="Field extractions"
          columns={columns}
          rows={extractions.data.data}
          rowKey={(x) => x.uuid}
          empty="No field extraction: results keep only the verdict."
        />
      ) : (
        <Loading />
      )}
      <Card title="Add an extraction">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate();
          }}
        >
          <div className="form-grid">
            <SelectField
              label="Indicator type"
              value={draft.indicator_type}
              options={IndicatorTypeSchema.options}
              onChange={set('indicator_type')}
            />
            <TextField
              label="Source path"
              value={draft.source_path}
              onChange={set('source_path')}
              placeholder="data.attributes.reputation"
            />
            <TextField
              label="Target key"
              value={draft.target_key}
              onChange={set('target_key')}
              placeholder="reputation"
            />
            <SelectField
              label="Value type"
              value={draft.value_type ?? 'string'}
              options={ExtractionValueTypeSchema.options}
              onChange={set('value_type')}
            />
          </div>
          <ErrorBanner error={create.error} />
          <button
            type="submit"
            className="primary"
            disabled={!draft.source_path || !draft.target_key || create.isPending}
          >
            Add extraction
          </button>
        </form>
      </Card>
    </div>
  );
}

function TestProvider({ provider: p }: { provider: Provider }) {
  const [type, setType] = useState<IndicatorType>(p.supported_indicator_types[0] ?? 'ip');
  const [value, setValue] = useState('');
  const test = useApiMutation<One<ProviderTestResult>, void>(() => ({
    path: `${providerQueries.path(p.uuid)}/test`,
    json: { indicator_type: type, indicator_value: value },
  }));
  const r = test.data?.data;
  return (
    <div className="stack">
      <Card title="Run the provider on one indicator (live, not cached)">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            test.mutate();
          }}
        >
          <div className="form-grid">
            <SelectField label="Indicator type" value={type} options={p.supported_indicator_types} onChange={setType} />
            <TextField label="Indicator value" value={value} onChange={setValue} required />
          </div>
          <ErrorBanner error={test.error} />
          <button type="submit" className="primary" disabled={!value || test.isPending}>
            {test.isPending ? 'Testing…' : 'Test'}
          </button>
        </form>
      </Card>
      {r && (
        <>
          <Card title="Result">
            <ProviderResults results={{ [r.provider_name]: r.result }} />
          </Card>
          <Card title="Steps">
            {r.steps.map((s) => (
              <section key={s.step_index} className="provider-result" aria-label={`Step ${s.step_name}`}>
                <div className="row">
                  <strong>{s.step_name}</strong> <Badge value={s.outcome === 'ok' ? 'success' : s.outcome} />{' '}
                  <code className="small">
                    {s.method} {s.url}
                  </code>
                  <span className="muted small">
                    {s.status ?? '—'} · {Math.round(s.duration_ms)} ms
                  </span>
                </div>
                {s.error && <p className="small tone-danger">{s.error}</p>}
                <JsonView label="Request headers (secrets masked)" value={s.request_headers} open={false} />
                {s.request_body !== null && <JsonView label="Request body" value={s.request_body} open={false} />}
                <JsonView label="Response" value={s.response_body} open={false} />
              </section>
            ))}
          </Card>
        </>
      )}
    </div>
  );
}
