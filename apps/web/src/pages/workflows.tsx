import {
  type Workflow,
  type WorkflowCreateInput,
  type WorkflowGenerateResult,
  WorkflowRiskLevelSchema,
  WorkflowStateSchema,
  type WorkflowSummary,
} from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import type { One } from '../api/client.js';
import { useApiMutation } from '../api/hooks.js';
import { workflowQueries } from '../api/queries/workflows.js';
import { CodeEditor } from '../components/code-editor.js';
import { Badge, ErrorBanner, Loading, Time } from '../components/feedback.js';
import { MultiFilter, Select, SelectField, TextArea, TextField } from '../components/form.js';
import { Dialog, PageHeader } from '../components/layout.js';
import { type Column, DataTable, Pagination, useListParams } from '../components/table.js';

export const TEMPLATES: Record<string, string> = {
  Starter: `export async function run(ctx) {
  ctx.log.info('running on ' + ctx.indicator.type + ' ' + ctx.indicator.value);
  return WorkflowResult.ok('done', { value: ctx.indicator.value });
}
`,
  'Generic webhook': `export async function run(ctx) {
  const res = await ctx.http.post('https://example.com/hook', { json: { indicator: ctx.indicator } });
  if (res.status >= 300) return WorkflowResult.fail('webhook answered ' + res.status);
  return WorkflowResult.ok('sent');
}
`,
  'REST API with bearer token': `export async function run(ctx) {
  const token = await ctx.secrets.get('API_TOKEN');
  const res = await ctx.http.post('https://api.example.com/block', {
    headers: { authorization: 'Bearer ' + token },
    json: { value: ctx.indicator.value },
  });
  return res.status < 300 ? WorkflowResult.ok('blocked') : WorkflowResult.fail('status ' + res.status);
}
`,
};

const COLUMNS: Column<WorkflowSummary>[] = [
  {
    id: 'name',
    header: 'Name',
    sort: 'name',
    className: 'wrap',
    cell: (w) => <Link to={`/workflows/${w.uuid}`}>{w.name}</Link>,
  },
  { id: 'state', header: 'State', sort: 'state', cell: (w) => <Badge value={w.state} /> },
  { id: 'kind', header: 'Kind', cell: (w) => w.workflow_kind },
  { id: 'types', header: 'Indicators', cell: (w) => w.indicator_types.join(', ') || 'any' },
  { id: 'risk', header: 'Risk', sort: 'risk_level', cell: (w) => <Badge value={w.risk_level} /> },
  { id: 'approval', header: 'Approval', cell: (w) => w.approval_mode },
  { id: 'version', header: 'Version', className: 'num', cell: (w) => w.code_version },
  { id: 'system', header: 'Builtin', cell: (w) => (w.is_system ? 'yes' : '') },
  { id: 'updated', header: 'Updated', sort: 'updated_at', cell: (w) => <Time value={w.updated_at} /> },
];

export function WorkflowsPage() {
  const list = useListParams(['state', 'risk_level', 'is_system']);
  const workflows = useQuery(workflowQueries.list(list.apiParams));
  const [creating, setCreating] = useState(false);
  return (
    <>
      <PageHeader
        title="Workflows"
        subtitle="Sandboxed JavaScript or HTTP actions agents and analysts can run, behind approval gates."
        actions={
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            Create workflow
          </button>
        }
      />
      <div className="toolbar">
        <MultiFilter
          label="State"
          options={WorkflowStateSchema.options}
          value={list.filters.state ?? []}
          onChange={(v) => list.setFilter('state', v)}
        />
        <MultiFilter
          label="Risk"
          options={WorkflowRiskLevelSchema.options}
          value={list.filters.risk_level ?? []}
          onChange={(v) => list.setFilter('risk_level', v)}
        />
        <Select<'true' | 'false'>
          ariaLabel="Builtin or custom"
          value={(list.filters.is_system?.[0] as 'true' | 'false' | undefined) ?? ''}
          allowEmpty="Builtin and custom"
          options={[
            { value: 'true', label: 'Builtin only' },
            { value: 'false', label: 'Custom only' },
          ]}
          onChange={(v) => list.setFilter('is_system', v ? [v] : [])}
        />
      </div>
      <ErrorBanner error={workflows.error} />
      {workflows.isLoading && <Loading />}
      {workflows.data && (
        <>
          <DataTable
            caption="Workflows"
            columns={COLUMNS}
            rows={workflows.data.data}
            rowKey={(w) => w.uuid}
            sort={list.sort}
            onSort={list.setSort}
          />
          <Pagination meta={workflows.data.meta} onPage={list.setPage} onPageSize={list.setPageSize} />
        </>
      )}
      <CreateWorkflowDialog open={creating} onClose={() => setCreating(false)} />
    </>
  );
}

function CreateWorkflowDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [template, setTemplate] = useState('Starter');
  const [code, setCode] = useState(TEMPLATES.Starter ?? '');
  const [description, setDescription] = useState('');
  const generate = useApiMutation<One<WorkflowGenerateResult>, void>(
    () => ({ path: `${workflowQueries.path()}/generate`, json: { description, ...(name ? { name } : {}) } }),
    { onSuccess: (r) => setCode(r.data.code) },
  );
  const create = useApiMutation<One<Workflow>, WorkflowCreateInput>(
    (json) => ({ path: workflowQueries.path(), json }),
    {
      invalidates: [workflowQueries.all],
      onSuccess: (w) => void navigate(`/workflows/${w.data.uuid}`),
    },
  );
  return (
    <Dialog open={open} onClose={onClose} title="Create workflow" wide>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({ name, code });
        }}
      >
        <div className="form-grid">
          <TextField label="Name" value={name} onChange={setName} required />
          <SelectField
            label="Template"
            value={template}
            options={Object.keys(TEMPLATES)}
            onChange={(t) => {
              setTemplate(t);
              setCode(TEMPLATES[t] ?? '');
            }}
          />
        </div>
        <details>
          <summary>Draft the code from a description</summary>
          <TextArea label="What should the workflow do?" value={description} onChange={setDescription} rows={3} />
          <button
            type="button"
            className="small"
            disabled={!description || generate.isPending}
            onClick={() => generate.mutate()}
          >
            {generate.isPending ? 'Drafting…' : 'Draft code'}
          </button>
          <ErrorBanner error={generate.error} />
          {generate.data && !generate.data.data.validation.ok && (
            <p className="banner warn">
              The draft does not validate yet: {generate.data.data.validation.errors.map((e) => e.message).join('; ')}
            </p>
          )}
        </details>
        <CodeEditor label="Workflow code" language="javascript" value={code} onChange={setCode} />
        <p className="muted small">Created as a draft with approval “always”; activate it from its page.</p>
        <ErrorBanner error={create.error} />
        <button type="submit" className="primary" disabled={!name || create.isPending}>
          Create
        </button>
      </form>
    </Dialog>
  );
}
