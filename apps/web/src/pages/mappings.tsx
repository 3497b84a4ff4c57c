import {
  type IndicatorMapping,
  type IndicatorMappingCreate,
  type IndicatorType,
  IndicatorTypeSchema,
  type TestExtractionResult,
} from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { One } from '../api/client.js';
import { useApiMutation } from '../api/hooks.js';
import { mappingQueries } from '../api/queries/settings.js';
import { CodeEditor } from '../components/code-editor.js';
import { Badge, ErrorBanner, Loading } from '../components/feedback.js';
import { parseJson, SelectField, TextField } from '../components/form.js';
import { JsonView } from '../components/json-view.js';
import { Card, PageHeader, Tabs } from '../components/layout.js';
import { SOURCE_PLUGINS } from '../components/sources.js';
import { type Column, DataTable } from '../components/table.js';

type Target = 'normalized' | 'raw_payload';

export function MappingsPage() {
  return (
    <>
      <PageHeader
        title="Indicator mappings"
        subtitle="Where indicators are found in alerts: three extraction passes, deduplicated."
      />
      <Tabs
        label="Mapping sections"
        tabs={[
          { id: 'plugin', label: 'Source plugin', render: () => <PluginFields /> },
          { id: 'normalized', label: 'Normalized', render: () => <Mappings target="normalized" /> },
          { id: 'raw', label: 'Raw payload', render: () => <Mappings target="raw_payload" /> },
          { id: 'test', label: 'Test extraction', render: () => <TestExtraction /> },
        ]}
      />
    </>
  );
}

const BASE_COLUMNS: Column<IndicatorMapping>[] = [
  { id: 'source', header: 'Source', cell: (m) => m.source_name ?? 'all' },
  { id: 'path', header: 'Field path', className: 'wrap', cell: (m) => <code>{m.field_path}</code> },
  { id: 'type', header: 'Indicator type', cell: (m) => m.indicator_type },
  { id: 'description', header: 'Description', className: 'wrap', cell: (m) => m.description ?? '' },
];

function PluginFields() {
  const fields = useQuery(mappingQueries.sourceFields());
  if (fields.error) return <ErrorBanner error={fields.error} />;
  if (!fields.data) return <Loading />;
  return (
    <>
      <p className="muted">Pass 1: what each source plugin extracts itself (read-only).</p>
      <DataTable caption="Source plugin fields" columns={BASE_COLUMNS} rows={fields.data.data} rowKey={(m) => m.uuid} />
    </>
  );
}

function Mappings({ target }: { target: Target }) {
  const mappings = useQuery(mappingQueries.list({ extraction_target: target, page_size: 500 }));
  const invalidates = [mappingQueries.all];
  const toggle = useApiMutation<unknown, IndicatorMapping>(
    (m) => ({ method: 'PATCH', path: mappingQueries.path(m.uuid), json: { is_active: !m.is_active } }),
    { invalidates },
  );
  const remove = useApiMutation<unknown, string>((uuid) => ({ method: 'DELETE', path: mappingQueries.path(uuid) }), {
    invalidates,
  });
  const [draft, setDraft] = useState<{ source: string; path: string; type: IndicatorType }>({
    source: '',
    path: '',
    type: 'ip',
  });
  const create = useApiMutation<unknown, IndicatorMappingCreate>((json) => ({ path: mappingQueries.path(), json }), {
    invalidates,
    onSuccess: () => setDraft({ ...draft, path: '' }),
  });
  const columns: Column<IndicatorMapping>[] = [
    ...BASE_COLUMNS,
    { id: 'status', header: 'Status', cell: (m) => <Badge value={m.is_active ? 'active' : 'inactive'} /> },
    {
      id: 'actions',
      header: '',
      cell: (m) => (
        <div className="row">
          <button type="button" className="small" onClick={() => toggle.mutate(m)}>
            {m.is_active ? 'Disable' : 'Enable'}
          </button>
          {!m.is_system && (
            <button type="button" className="danger small" onClick={() => remove.mutate(m.uuid)}>
              Delete
            </button>
          )}
        </div>
      ),
    },
  ];
  return (
    <div className="stack">
      <p className="muted">
        {target === 'normalized'
          ? 'Pass 2: fields of the normalized alert.'
          : 'Pass 3: dotted paths into the raw payload.'}{' '}
        System rows can only be switched on or off.
      </p>
      <ErrorBanner error={mappings.error ?? toggle.error ?? remove.error} />
      {mappings.data ? (
        <DataTable caption={`${target} mappings`} columns={columns} rows={mappings.data.data} rowKey={(m) => m.uuid} />
      ) : (
        <Loading />
      )}
      <Card title="Add a mapping">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate({
              source_name: draft.source || null,
              field_path: draft.path,
              indicator_type: draft.type,
              extraction_target: target,
              is_active: true,
              description: null,
            });
          }}
        >
          <div className="form-grid">
            <SelectField
              label="Source"
              value={draft.source as (typeof SOURCE_PLUGINS)[number] | ''}
              allowEmpty="All sources"
              options={SOURCE_PLUGINS}
              onChange={(source) => setDraft({ ...draft, source })}
            />
            <TextField
              label="Field path"
              value={draft.path}
              onChange={(path) => setDraft({ ...draft, path })}
              placeholder="event.src_ip"
            />
            <SelectField
              label="Indicator type"
              value={draft.type}
              options={IndicatorTypeSchema.options}
              onChange={(type) => setDraft({ ...draft, type })}
            />
          </div>
          <ErrorBanner error={create.error} />
          <button type="submit" className="primary" disabled={!draft.path || create.isPending}>
            Add mapping
          </button>
        </form>
      </Card>
    </div>
  );
}

function TestExtraction() {
  const [source, setSource] = useState<(typeof SOURCE_PLUGINS)[number]>('generic');
  const [payload, setPayload] = useState('{\n  "title": "Test alert",\n  "src_ip": "185.220.101.34"\n}');
  const parsed = parseJson(payload);
  const test = useApiMutation<One<TestExtractionResult>, void>(() => ({
    path: `${mappingQueries.path()}/test-extraction`,
    json: { source_name: source, raw_payload: parsed.ok ? parsed.value : {} },
  }));
  const r = test.data?.data;
  return (
    <div className="grid two">
      <Card title="Payload">
        <SelectField label="Source" value={source} options={SOURCE_PLUGINS} onChange={setSource} />
        <CodeEditor label="Raw alert payload" language="json" value={payload} onChange={setPayload} minHeight="280px" />
        {!parsed.ok && <p className="banner error">{parsed.error}</p>}
        <ErrorBanner error={test.error} />
        <button type="button" className="primary" disabled={!parsed.ok || test.isPending} onClick={() => test.mutate()}>
          Test extraction
        </button>
      </Card>
      <Card title="Result">
        {!r ? (
          <p className="muted">Paste an alert as its source sends it.</p>
        ) : (
          <div className="stack">
            {r.error_message && <p className="banner error">{r.error_message}</p>}
            {r.passes.map((pass) => (
              <section key={pass.pass_name}>
                <h3>
                  {pass.pass_label} <span className="muted small">({pass.indicators.length})</span>
                </h3>
                {pass.error && <p className="small tone-danger">{pass.error}</p>}
                <ul className="small">
                  {pass.indicators.map((i) => (
                    <li key={`${i.type}:${i.value}`}>
                      {i.type} <code>{i.value}</code>
                    </li>
                  ))}
                </ul>
              </section>
            ))}
            <h3>Deduplicated ({r.deduplicated_count})</h3>
            <ul className="small">
              {r.deduplicated.map((i) => (
                <li key={`${i.type}:${i.value}`}>
                  {i.type} <code>{i.value}</code>
                </li>
              ))}
            </ul>
            {r.normalization_preview && <JsonView label="Normalized alert" value={r.normalization_preview} />}
          </div>
        )}
      </Card>
    </div>
  );
}
