import {
  type ContextDocument,
  type ContextDocumentPatch,
  ContextDocumentTypeSchema,
  type ContextDocumentVersionSummary,
  type TargetingRules,
} from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useParams } from 'react-router';
import type { One } from '../api/client.js';
import { usePatch } from '../api/hooks.js';
import { contextDocQueries } from '../api/queries/context-docs.js';
import { DetailPage } from '../components/detail-page.js';
import { Badge, ErrorBanner, Loading, SaveStatus, Time } from '../components/feedback.js';
import { Checkbox, ListField, SelectField, TextField, useFields } from '../components/form.js';
import { Card } from '../components/layout.js';
import { MarkdownField } from '../components/markdown-field.js';
import { type Column, DataTable } from '../components/table.js';
import { TargetingBuilder } from '../components/targeting-builder.js';

export function ContextDocDetailPage() {
  const { uuid = '' } = useParams();
  return (
    <DetailPage
      resource={contextDocQueries}
      uuid={uuid}
      back={{ to: '/context-docs', label: 'context documents' }}
      header={(d) => ({
        title: d.title,
        subtitle: (
          <>
            <Badge value={d.document_type} tone="info" />{' '}
            <span className="muted">
              {d.is_global ? 'global' : 'targeted'} · version {d.version}
            </span>
          </>
        ),
      })}
      remove={{
        title: 'Delete this document?',
        warning: 'Agents and analysts stop seeing it on alerts.',
        allowed: (d) => !d.is_system,
      }}
      tabsLabel="Document sections"
      tabs={(d) => [
        {
          id: 'content',
          label: 'Content',
          render: () => (
            <MarkdownField
              key={d.updated_at}
              label="Document content"
              field="content"
              initial={d.content}
              required
              saveLabel={`Save as version ${d.version + 1}`}
              resource={contextDocQueries}
              uuid={d.uuid}
            />
          ),
        },
        { id: 'targeting', label: 'Targeting', render: () => <Targeting key={d.updated_at} doc={d} /> },
        { id: 'versions', label: 'Versions', render: () => <Versions uuid={d.uuid} /> },
      ]}
    />
  );
}

function Targeting({ doc: d }: { doc: ContextDocument }) {
  const [rules, setRules] = useState<TargetingRules | null>(d.targeting_rules);
  const [form, set] = useFields({
    title: d.title,
    document_type: d.document_type,
    is_global: d.is_global,
    tags: d.tags,
  });
  const patch = usePatch<One<ContextDocument>, ContextDocumentPatch>(
    contextDocQueries.path(d.uuid),
    contextDocQueries.changed(d.uuid),
  );
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        patch.mutate({ ...form, ...(rules ? { targeting_rules: rules } : {}) });
      }}
    >
      <Card title="Document">
        <div className="form-grid">
          <TextField label="Title" value={form.title} onChange={set('title')} />
          <SelectField
            label="Type"
            value={form.document_type}
            options={ContextDocumentTypeSchema.options}
            onChange={set('document_type')}
          />
        </div>
        <ListField label="Tags" value={form.tags} onChange={set('tags')} />
        <Checkbox label="Global: attach to every alert" checked={form.is_global} onChange={set('is_global')} />
      </Card>
      <Card title="Which alerts it applies to">
        <p className="muted small">A targeted document with no rules applies to no alert.</p>
        <TargetingBuilder value={rules} onChange={setRules} />
      </Card>
      <SaveStatus mutation={patch} />
      <button type="submit" className="primary" disabled={patch.isPending}>
        Save targeting
      </button>
    </form>
  );
}

function Versions({ uuid }: { uuid: string }) {
  const versions = useQuery(contextDocQueries.versions(uuid));
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
