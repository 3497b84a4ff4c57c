import {
  type IndicatorType,
  IndicatorTypeSchema,
  type Workflow,
  type WorkflowCodeVersion,
  type WorkflowPatch,
  WorkflowRiskLevelSchema,
  type WorkflowRun,
  WorkflowStateSchema,
  type WorkflowTestResult,
} from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useParams } from 'react-router';
import type { One } from '../api/client.js';
import { useApiMutation, usePatch } from '../api/hooks.js';
import { workflowQueries, workflowRunQueries } from '../api/queries/workflows.js';
import { CodeEditor } from '../components/code-editor.js';
import { DetailPage } from '../components/detail-page.js';
import { Badge, ErrorBanner, Loading, SaveStatus, Time } from '../components/feedback.js';
import { CheckboxGroup, ListField, parseJson, SelectField, TextField, useFields } from '../components/form.js';
import { JsonView } from '../components/json-view.js';
import { Card, Details } from '../components/layout.js';
import { documentationTab } from '../components/markdown-field.js';
import { RunWorkflowDialog } from '../components/run-dialogs.js';
import { type Column, DataTable } from '../components/table.js';

const APPROVAL_MODES = ['always', 'agent_only', 'never'] as const;

export function WorkflowDetailPage() {
  const { uuid = '' } = useParams();
  const [running, setRunning] = useState(false);
  return (
    <DetailPage
      resource={workflowQueries}
      uuid={uuid}
      back={{ to: '/workflows', label: 'workflows' }}
      header={(w) => ({
        title: w.name,
        subtitle: (
          <>
            <Badge value={w.state} />{' '}
            <Badge value={`${w.risk_level} risk`} tone={w.risk_level === 'low' ? 'info' : 'warn'} />
            <span className="muted">
              v{w.code_version} · approval {w.approval_mode} · {w.workflow_kind}
            </span>
          </>
        ),
        actions: (
          <button type="button" onClick={() => setRunning(true)} disabled={w.state !== 'active'}>
            Run
          </button>
        ),
      })}
      remove={{
        title: 'Delete this workflow?',
        warning: 'Its runs and versions go with it.',
        allowed: (w) => !w.is_system,
      }}
      tabsLabel="Workflow sections"
      tabs={(w) => [
        { id: 'code', label: 'Code', render: () => <CodeTab workflow={w} /> },
        { id: 'test', label: 'Test', render: () => <TestTab workflow={w} /> },
        { id: 'runs', label: 'Runs', render: () => <RunsTab uuid={w.uuid} /> },
        { id: 'versions', label: 'Versions', render: () => <VersionsTab uuid={w.uuid} /> },
        { id: 'settings', label: 'Settings', render: () => <SettingsTab key={w.updated_at} workflow={w} /> },
        documentationTab('docs', workflowQueries, w, 'Documentation'),
      ]}
      extra={(w) => <RunWorkflowDialog open={running} onClose={() => setRunning(false)} workflowUuid={w.uuid} />}
    />
  );
}

/** Saving any of a workflow's fields. */
function usePatchWorkflow(w: Workflow) {
  return usePatch<One<Workflow>, WorkflowPatch>(workflowQueries.path(w.uuid), workflowQueries.changed(w.uuid));
}

function CodeTab({ workflow: w }: { workflow: Workflow }) {
  const [code, setCode] = useState(w.code);
  const patch = usePatchWorkflow(w);
  if (w.workflow_kind === 'http') {
    return (
      <Card title="HTTP endpoint">
        <p>
          Runs POST their context to <code>{w.http_endpoint_url}</code>; the answer is the result.
        </p>
      </Card>
    );
  }
  return (
    <div className="stack">
      <CodeEditor
        label="Workflow code"
        language="javascript"
        value={code}
        onChange={setCode}
        minHeight="360px"
        readOnly={w.is_system}
      />
      <SaveStatus mutation={patch} title="Not saved" saved={`Saved as version ${patch.data?.data.code_version}.`} />
      <div className="actions">
        <button
          type="button"
          className="primary"
          disabled={code === w.code || patch.isPending}
          onClick={() => patch.mutate({ code })}
        >
          Save code
        </button>
        <button type="button" disabled={code === w.code} onClick={() => setCode(w.code)}>
          Discard changes
        </button>
      </div>
    </div>
  );
}

function TestTab({ workflow: w }: { workflow: Workflow }) {
  const [type, setType] = useState<IndicatorType>((w.indicator_types[0] as IndicatorType | undefined) ?? 'ip');
  const [value, setValue] = useState('203.0.113.7');
  const [mocks, setMocks] = useState('[]');
  const parsed = parseJson(mocks);
  const test = useApiMutation<One<WorkflowTestResult>, void>(() => ({
    path: `${workflowQueries.path(w.uuid)}/test`,
    json: { indicator_type: type, indicator_value: value, mock_http: parsed.ok ? parsed.value : [] },
  }));
  const r = test.data?.data;
  return (
    <div className="grid two">
      <Card title="Run against mocked HTTP">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            test.mutate();
          }}
        >
          <div className="form-grid">
            <SelectField label="Indicator type" value={type} options={IndicatorTypeSchema.options} onChange={setType} />
            <TextField label="Indicator value" value={value} onChange={setValue} />
          </div>
          <p className="muted small">
            Mock HTTP answers: a JSON list of <code>{'{method?, url_pattern, status, json?, body?}'}</code>; an
            unmatched request fails the run.
          </p>
          <CodeEditor label="Mock HTTP responses" language="json" value={mocks} onChange={setMocks} minHeight="120px" />
          {!parsed.ok && <p className="banner error">{parsed.error}</p>}
          <ErrorBanner error={test.error} />
          <button type="submit" className="primary" disabled={!parsed.ok || test.isPending}>
            {test.isPending ? 'Running…' : 'Run test'}
          </button>
        </form>
      </Card>
      <Card title="Result">
        {!r ? (
          <p className="muted">Run a test to see the result, logs and HTTP calls.</p>
        ) : (
          <div className="stack">
            <div className="row">
              <Badge value={r.status} /> <span>{r.message}</span>{' '}
              <span className="muted small">{r.duration_ms} ms</span>
            </div>
            {r.error && <pre className="block">{r.error}</pre>}
            {r.result && <JsonView label="Result" value={r.result} />}
            <LogList logs={r.logs} />
            {r.http_calls.length > 0 && (
              <ul className="small">
                {r.http_calls.map((c, i) => (
                  // biome-ignore lint/suspicious/noArrayIndexKey: calls are ordered
                  <li key={i}>
                    {c.method} {c.url} → {c.status ?? 'no answer'}
                  </li>
                ))}
              </ul>
            )}
          </div>
        )}
      </Card>
    </div>
  );
}

function LogList({ logs }: { logs: WorkflowRun['logs'] }) {
  if (logs.length === 0) return <p className="muted small">No log lines.</p>;
  return <pre className="block">{logs.map((l) => `${l.at} ${l.level.toUpperCase()} ${l.message}`).join('\n')}</pre>;
}

function RunsTab({ uuid }: { uuid: string }) {
  const runs = useQuery({ ...workflowRunQueries.list({ workflow_uuid: uuid, page_size: 50 }), refetchInterval: 3_000 });
  const [open, setOpen] = useState<string | null>(null);
  const columns: Column<WorkflowRun>[] = [
    { id: 'status', header: 'Status', cell: (r) => <Badge value={r.status} /> },
    { id: 'trigger', header: 'Trigger', cell: (r) => r.trigger_type },
    { id: 'version', header: 'Version', className: 'num', cell: (r) => r.code_version_executed },
    { id: 'message', header: 'Result', className: 'wrap', cell: (r) => r.result?.message ?? r.error ?? '' },
    {
      id: 'duration',
      header: 'Duration',
      className: 'num',
      cell: (r) => (r.duration_ms === null ? '—' : `${r.duration_ms} ms`),
    },
    { id: 'created', header: 'Queued', cell: (r) => <Time value={r.created_at} /> },
    {
      id: 'logs',
      header: 'Logs',
      cell: (r) => (
        <button
          type="button"
          className="small"
          aria-expanded={open === r.uuid}
          onClick={() => setOpen(open === r.uuid ? null : r.uuid)}
        >
          {r.logs.length} {r.logs.length === 1 ? 'line' : 'lines'}
        </button>
      ),
    },
  ];
  if (runs.error) return <ErrorBanner error={runs.error} />;
  if (!runs.data) return <Loading />;
  const shown = runs.data.data.find((r) => r.uuid === open);
  return (
    <>
      <DataTable
        caption="Workflow runs"
        columns={columns}
        rows={runs.data.data}
        rowKey={(r) => r.uuid}
        empty="This workflow has not run yet."
      />
      {shown && (
        <Card title="Run detail">
          <LogList logs={shown.logs} />
          <JsonView label="Trigger context" value={shown.trigger_context} open={false} />
          {shown.result && <JsonView label="Result" value={shown.result} />}
        </Card>
      )}
    </>
  );
}

function VersionsTab({ uuid }: { uuid: string }) {
  const versions = useQuery(workflowQueries.versions(uuid));
  const [shown, setShown] = useState<number | null>(null);
  if (versions.error) return <ErrorBanner error={versions.error} />;
  if (!versions.data) return <Loading />;
  const columns: Column<WorkflowCodeVersion>[] = [
    { id: 'version', header: 'Version', cell: (v) => `v${v.version}` },
    { id: 'saved', header: 'Saved', cell: (v) => <Time value={v.saved_at} /> },
    { id: 'by', header: 'By', cell: (v) => v.saved_by ?? '—' },
    { id: 'preview', header: 'Preview', className: 'wrap', cell: (v) => <code>{v.code_preview}</code> },
    {
      id: 'view',
      header: '',
      cell: (v) => (
        <button type="button" className="small" onClick={() => setShown(v.version)}>
          View
        </button>
      ),
    },
  ];
  const version = versions.data.data.find((v) => v.version === shown);
  return (
    <>
      <DataTable
        caption="Code versions"
        columns={columns}
        rows={versions.data.data}
        rowKey={(v) => String(v.version)}
      />
      {version && (
        <Card title={`Version ${version.version}`}>
          <CodeEditor
            label={`Code of version ${version.version}`}
            language="javascript"
            value={version.code}
            readOnly
          />
        </Card>
      )}
    </>
  );
}

function SettingsTab({ workflow: w }: { workflow: Workflow }) {
  const [form, set] = useFields({
    name: w.name,
    state: w.state,
    risk_level: w.risk_level as (typeof WorkflowRiskLevelSchema.options)[number],
    approval_mode: w.approval_mode as (typeof APPROVAL_MODES)[number],
    approval_timeout_seconds: String(w.approval_timeout_seconds),
    timeout_seconds: String(w.timeout_seconds),
    indicator_types: w.indicator_types as IndicatorType[],
    tags: w.tags,
    secrets: w.secrets.map((x) => x.name),
    time_saved_minutes: w.time_saved_minutes === null ? '' : String(w.time_saved_minutes),
  });
  const patch = usePatchWorkflow(w);
  return (
    <div className="layout-detail">
      <Card title="Settings">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            patch.mutate({
              name: form.name,
              state: form.state,
              risk_level: form.risk_level,
              approval_mode: form.approval_mode,
              approval_timeout_seconds: Number(form.approval_timeout_seconds),
              timeout_seconds: Number(form.timeout_seconds),
              indicator_types: form.indicator_types,
              tags: form.tags,
              secrets: form.secrets,
              time_saved_minutes: form.time_saved_minutes === '' ? null : Number(form.time_saved_minutes),
            });
          }}
        >
          <div className="form-grid">
            <TextField label="Name" value={form.name} onChange={set('name')} />
            <SelectField
              label="State"
              value={form.state}
              options={WorkflowStateSchema.options}
              onChange={set('state')}
              hint="Only active workflows run."
            />
            <SelectField
              label="Risk level"
              value={form.risk_level}
              options={WorkflowRiskLevelSchema.options}
              onChange={set('risk_level')}
            />
            <SelectField
              label="Approval"
              value={form.approval_mode}
              options={APPROVAL_MODES}
              onChange={set('approval_mode')}
              hint="agent_only: agent keys need approval, humans do not."
            />
            <TextField
              label="Approval timeout (s)"
              type="number"
              value={form.approval_timeout_seconds}
              onChange={set('approval_timeout_seconds')}
            />
            <TextField
              label="Run timeout (s)"
              type="number"
              value={form.timeout_seconds}
              onChange={set('timeout_seconds')}
            />
            <TextField
              label="Time saved per run (min)"
              type="number"
              value={form.time_saved_minutes}
              onChange={set('time_saved_minutes')}
            />
          </div>
          <CheckboxGroup
            legend="Indicator types (none: any)"
            options={IndicatorTypeSchema.options}
            value={form.indicator_types}
            onChange={set('indicator_types')}
          />
          <ListField label="Tags" value={form.tags} onChange={set('tags')} />
          <ListField
            label="Secrets it may read"
            value={form.secrets}
            onChange={set('secrets')}
            hint="Names, comma-separated (e.g. API_TOKEN); set values under Secrets."
          />
          <SaveStatus mutation={patch} />
          <button type="submit" className="primary" disabled={patch.isPending}>
            Save settings
          </button>
        </form>
      </Card>
      <div>
        <Secrets workflow={w} />
        <Card title="Facts">
          <Details
            items={[
              ['Kind', w.workflow_kind],
              ['Builtin', w.is_system ? 'yes' : 'no'],
              ['Secrets', w.secrets.map((s) => `${s.name}${s.is_set ? '' : ' (unset)'}`).join(', ') || '—'],
              ['Created', <Time key="c" value={w.created_at} />],
              ['Updated', <Time key="u" value={w.updated_at} />],
            ]}
          />
        </Card>
      </div>
    </div>
  );
}

/** Declared secrets: set a value (write-only; the workflow reads it with ctx.secrets.get). */
function Secrets({ workflow: w }: { workflow: Workflow }) {
  const [name, setName] = useState(w.secrets.find((s) => !s.is_set)?.name ?? w.secrets[0]?.name ?? '');
  const [value, setValue] = useState('');
  const put = useApiMutation<unknown, void>(
    () => ({ method: 'PUT', path: `${workflowQueries.path(w.uuid)}/secrets/${name}`, json: { value } }),
    {
      invalidates: [workflowQueries.detail(w.uuid).queryKey],
      onSuccess: () => setValue(''),
    },
  );
  if (w.secrets.length === 0) return null;
  return (
    <Card title="Secrets">
      <ul className="small">
        {w.secrets.map((s) => (
          <li key={s.name}>
            <code>{s.name}</code> {s.is_set ? <Badge value="set" tone="ok" /> : <Badge value="unset" tone="warn" />}
          </li>
        ))}
      </ul>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          put.mutate();
        }}
      >
        <SelectField label="Secret" value={name} options={w.secrets.map((s) => s.name)} onChange={setName} />
        <TextField label="Value" type="password" value={value} onChange={setValue} />
        <ErrorBanner error={put.error} />
        <button type="submit" className="small" disabled={!name || !value || put.isPending}>
          Set secret
        </button>
      </form>
    </Card>
  );
}
