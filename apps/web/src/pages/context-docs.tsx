import {
  type ContextDocument,
  type ContextDocumentSummary,
  type ContextDocumentType,
  ContextDocumentTypeSchema,
} from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import type { One } from '../api/client.js';
import { useApiMutation } from '../api/hooks.js';
import { contextDocQueries } from '../api/queries/context-docs.js';
import { Badge, ErrorBanner, Loading, Time } from '../components/feedback.js';
import { Checkbox, Field, MultiFilter, SelectField, TextField } from '../components/form.js';
import { Dialog, PageHeader } from '../components/layout.js';
import { MarkdownEditor } from '../components/markdown-editor.js';
import { type Column, DataTable, Pagination, useListParams } from '../components/table.js';

const COLUMNS: Column<ContextDocumentSummary>[] = [
  {
    id: 'title',
    header: 'Title',
    sort: 'title',
    className: 'wrap',
    cell: (d) => <Link to={`/context-docs/${d.uuid}`}>{d.title}</Link>,
  },
  { id: 'type', header: 'Type', sort: 'document_type', cell: (d) => <Badge value={d.document_type} tone="info" /> },
  { id: 'scope', header: 'Scope', cell: (d) => (d.is_global ? 'global' : 'targeted') },
  { id: 'version', header: 'Version', className: 'num', cell: (d) => d.version },
  { id: 'tags', header: 'Tags', cell: (d) => d.tags.join(', ') },
  { id: 'updated', header: 'Updated', sort: 'updated_at', cell: (d) => <Time value={d.updated_at} /> },
];

export function ContextDocsPage() {
  const list = useListParams(['document_type']);
  const docs = useQuery(contextDocQueries.list(list.apiParams));
  const [creating, setCreating] = useState(false);
  return (
    <>
      <PageHeader
        title="Context documents"
        subtitle="Runbooks, IR plans and SOPs attached to the alerts they target."
        actions={
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            New document
          </button>
        }
      />
      <div className="toolbar">
        <MultiFilter
          label="Type"
          options={ContextDocumentTypeSchema.options}
          value={list.filters.document_type ?? []}
          onChange={(v) => list.setFilter('document_type', v)}
        />
      </div>
      <ErrorBanner error={docs.error} />
      {docs.isLoading && <Loading />}
      {docs.data && (
        <>
          <DataTable
            caption="Context documents"
            columns={COLUMNS}
            rows={docs.data.data}
            rowKey={(d) => d.uuid}
            sort={list.sort}
            onSort={list.setSort}
          />
          <Pagination meta={docs.data.meta} onPage={list.setPage} onPageSize={list.setPageSize} />
        </>
      )}
      <CreateDocDialog open={creating} onClose={() => setCreating(false)} />
    </>
  );
}

function CreateDocDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const navigate = useNavigate();
  const [title, setTitle] = useState('');
  const [type, setType] = useState<ContextDocumentType>('runbook');
  const [global, setGlobal] = useState(false);
  const [mode, setMode] = useState<'write' | 'upload'>('write');
  const [content, setContent] = useState('## Steps\n\n1. ');
  const [file, setFile] = useState<File | null>(null);
  const create = useApiMutation<One<ContextDocument>, void>(
    () => {
      if (mode === 'write')
        return { path: contextDocQueries.path(), json: { title, document_type: type, is_global: global, content } };
      // PDF, DOCX, HTML or markdown: the API converts it to markdown.
      const form = new FormData();
      form.set('title', title);
      form.set('document_type', type);
      form.set('is_global', String(global));
      if (file) form.set('file', file);
      return { path: contextDocQueries.path(), body: form };
    },
    {
      invalidates: [contextDocQueries.all],
      onSuccess: (d) => void navigate(`/context-docs/${d.data.uuid}?tab=targeting`),
    },
  );
  return (
    <Dialog open={open} onClose={onClose} title="New context document" wide>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <div className="form-grid">
          <TextField label="Title" value={title} onChange={setTitle} required />
          <SelectField label="Type" value={type} options={ContextDocumentTypeSchema.options} onChange={setType} />
          <SelectField<'write' | 'upload'>
            label="Content"
            value={mode}
            options={[
              { value: 'write', label: 'Write markdown' },
              { value: 'upload', label: 'Upload a file' },
            ]}
            onChange={setMode}
          />
        </div>
        <Checkbox label="Global (applies to every alert)" checked={global} onChange={setGlobal} />
        {mode === 'write' ? (
          <MarkdownEditor label="Content" value={content} onChange={setContent} />
        ) : (
          <Field label="File" hint="PDF, DOCX, HTML or markdown.">
            {(id, describedBy) => (
              <input
                id={id}
                type="file"
                aria-describedby={describedBy}
                accept=".pdf,.docx,.html,.htm,.md,.markdown,.txt"
                onChange={(e) => setFile(e.target.files?.[0] ?? null)}
              />
            )}
          </Field>
        )}
        <ErrorBanner error={create.error} />
        <button type="submit" className="primary" disabled={!title || (mode === 'upload' && !file) || create.isPending}>
          Create document
        </button>
      </form>
    </Dialog>
  );
}
