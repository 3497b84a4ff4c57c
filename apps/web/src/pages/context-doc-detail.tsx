import {
  type ContextDocument,
  type ContextDocumentPatch,
  ContextDocumentTypeSchema,
  type ContextDocumentVersionSummary,
  type TargetingRules,
} from '@calseta/schema';
import { useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import type { List, One } from '../api/client.js';
import { useApi, useApiMutation } from '../api/hooks.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { Badge, ErrorBanner, Loading, Time } from '../components/feedback.js';
import { Checkbox, ListField, SelectField, TextField } from '../components/form.js';
import { Card, PageHeader, Tabs } from '../components/layout.js';
import { MarkdownEditor } from '../components/markdown-editor.js';
import { type Column, DataTable } from '../components/table.js';
import { TargetingBuilder } from '../components/targeting-builder.js';

export function ContextDocDetailPage() {
  const { uuid = '' } = useParams();
  const base = `/v1/context-documents/${uuid}`;
  const doc = useApi<One<ContextDocument>>(base);
  const navigate = useNavigate();
  const remove = useApiMutation<void, void>(() => ({ method: 'DELETE', path: base }), {
    invalidates: ['/v1/context-documents'],
    onSuccess: () => void navigate('/context-docs'),
  });
  if (doc.error) return <ErrorBanner error={doc.error} />;
  const d = doc.data?.data;
  if (!d) return <Loading />;
  return (
    <>
      <PageHeader
        title={d.title}
        subtitle={
          <>
            <Badge value={d.document_type} tone="info" />{' '}
            <span className="muted">
              {d.is_global ? 'global' : 'targeted'} · version {d.version}
            </span>
          </>
        }
        actions={
          !d.is_system && (
            <ConfirmButton label="Delete" title="Delete this document?" onConfirm={() => remove.mutate()}>
              Agents and analysts stop seeing it on alerts.
            </ConfirmButton>
          )
        }
      />
      <ErrorBanner error={remove.error} />
      <Tabs
        label="Document sections"
        tabs={[
          { id: 'content', label: 'Content', render: () => <Content key={d.updated_at} doc={d} base={base} /> },
          { id: 'targeting', label: 'Targeting', render: () => <Targeting key={d.updated_at} doc={d} base={base} /> },
          { id: 'versions', label: 'Versions', render: () => <Versions base={base} /> },
        ]}
      />
    </>
  );
}

function usePatch(base: string) {
  return useApiMutation<One<ContextDocument>, ContextDocumentPatch>((json) => ({ method: 'PATCH', path: base, json }), {
    invalidates: ['/v1/context-documents'],
  });
}

function Content({ doc: d, base }: { doc: ContextDocument; base: string }) {
  const [content, setContent] = useState(d.content);
  const patch = usePatch(base);
  return (
    <div className="stack">
      <MarkdownEditor label="Document content" value={content} onChange={setContent} />
      <ErrorBanner error={patch.error} />
      <div className="actions">
        <button
          type="button"
          className="primary"
          disabled={content === d.content || !content || patch.isPending}
          onClick={() => patch.mutate({ content })}
        >
          Save as version {d.version + 1}
        </button>
      </div>
    </div>
  );
}

function Targeting({ doc: d, base }: { doc: ContextDocument; base: string }) {
  const [rules, setRules] = useState<TargetingRules | null>(d.targeting_rules);
  const [form, setForm] = useState({
    title: d.title,
    document_type: d.document_type,
    is_global: d.is_global,
    tags: d.tags,
  });
  const patch = usePatch(base);
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        patch.mutate({ ...form, ...(rules ? { targeting_rules: rules } : {}) });
      }}
    >
      <Card title="Document">
        <div className="form-grid">
          <TextField label="Title" value={form.title} onChange={(title) => setForm({ ...form, title })} />
          <SelectField
            label="Type"
            value={form.document_type}
            options={ContextDocumentTypeSchema.options}
            onChange={(document_type) => setForm({ ...form, document_type })}
          />
        </div>
        <ListField label="Tags" value={form.tags} onChange={(tags) => setForm({ ...form, tags })} />
        <Checkbox
          label="Global: attach to every alert"
          checked={form.is_global}
          onChange={(is_global) => setForm({ ...form, is_global })}
        />
      </Card>
      <Card title="Which alerts it applies to">
        <p className="muted small">A targeted document with no rules applies to no alert.</p>
        <TargetingBuilder value={rules} onChange={setRules} />
      </Card>
      <ErrorBanner error={patch.error} />
      {patch.isSuccess && (
        <p className="banner ok" role="status">
          Saved.
        </p>
      )}
      <button type="submit" className="primary" disabled={patch.isPending}>
        Save targeting
      </button>
    </form>
  );
}

function Versions({ base }: { base: string }) {
  const versions = useApi<List<ContextDocumentVersionSummary>>(`${base}/versions`);
  const columns: Column<ContextDocumentVersionSummary>[] = [
    { id: 'version', header: 'Version', cell: (v) => `v${v.version}${v.is_current ? ' (current)' : ''}` },
    { id: 'title', header: 'Title', cell: (v) => v.title },
    { id: 'length', header: 'Characters', className: 'num', cell: (v) => v.content_length.toLocaleString() },
    { id: 'by', header: 'By', cell: (v) => v.created_by ?? '—' },
    { id: 'created', header: 'Saved', cell: (v) => <Time value={v.created_at} /> },
  ];
  if (versions.error) return <ErrorBanner error={versions.error} />;
  if (!versions.data) return <Loading />;
  return <DataTable caption="Versions" columns={columns} rows={versions.data.data} rowKey={(v) => String(v.version)} />;
}
