import {
  type AlertSeverity,
  AlertSeveritySchema,
  type DetectionRule,
  type DetectionRuleCreateInput,
  MITRE_TACTICS,
} from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import type { One } from '../api/client.js';
import { useApiMutation } from '../api/hooks.js';
import { ruleQueries } from '../api/queries/rules.js';
import { Badge, ErrorBanner, Loading, Time } from '../components/feedback.js';
import { CheckboxGroup, ListField, MultiFilter, SelectField, TextField } from '../components/form.js';
import { Dialog, PageHeader } from '../components/layout.js';
import { MarkdownEditor } from '../components/markdown-editor.js';
import { SOURCE_PLUGINS } from '../components/sources.js';
import { type Column, DataTable, Pagination, useListParams } from '../components/table.js';

/** Alerting & Detection Strategy: what the rule's documentation should answer. */
export const ADS_TEMPLATE = `## Goal

## Categorization

## Strategy Abstract

## Technical Context

## Blind Spots and Assumptions

## False Positives

## Validation

## Priority

## Response
`;

const COLUMNS: Column<DetectionRule>[] = [
  {
    id: 'name',
    header: 'Name',
    sort: 'name',
    className: 'wrap',
    cell: (r) => <Link to={`/detection-rules/${r.uuid}`}>{r.name}</Link>,
  },
  { id: 'source', header: 'Source', sort: 'source_name', cell: (r) => r.source_name ?? '—' },
  { id: 'severity', header: 'Severity', sort: 'severity', cell: (r) => <Badge value={r.severity} /> },
  {
    id: 'mitre',
    header: 'MITRE',
    className: 'wrap',
    cell: (r) => [...r.mitre_tactics, ...r.mitre_techniques].join(', '),
  },
  { id: 'docs', header: 'Documented', cell: (r) => (r.documentation ? 'yes' : '') },
  { id: 'active', header: 'Status', cell: (r) => <Badge value={r.is_active ? 'active' : 'inactive'} /> },
  { id: 'created', header: 'Created', sort: 'created_at', cell: (r) => <Time value={r.created_at} /> },
];

export function RulesPage() {
  const list = useListParams(['source_name', 'severity']);
  const rules = useQuery(ruleQueries.list(list.apiParams));
  const [creating, setCreating] = useState(false);
  return (
    <>
      <PageHeader
        title="Detection rules"
        subtitle="The SIEM rules behind alerts, with their documentation for analysts and agents."
        actions={
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            Create rule
          </button>
        }
      />
      <div className="toolbar">
        <MultiFilter
          label="Source"
          options={SOURCE_PLUGINS}
          value={list.filters.source_name ?? []}
          onChange={(v) => list.setFilter('source_name', v)}
        />
        <MultiFilter
          label="Severity"
          options={AlertSeveritySchema.options}
          value={list.filters.severity ?? []}
          onChange={(v) => list.setFilter('severity', v)}
        />
      </div>
      <ErrorBanner error={rules.error} />
      {rules.isLoading && <Loading />}
      {rules.data && (
        <>
          <DataTable
            caption="Detection rules"
            columns={COLUMNS}
            rows={rules.data.data}
            rowKey={(r) => r.uuid}
            sort={list.sort}
            onSort={list.setSort}
          />
          <Pagination meta={rules.data.meta} onPage={list.setPage} onPageSize={list.setPageSize} />
        </>
      )}
      <CreateRuleDialog open={creating} onClose={() => setCreating(false)} />
    </>
  );
}

function CreateRuleDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const navigate = useNavigate();
  const [name, setName] = useState('');
  const [source, setSource] = useState<(typeof SOURCE_PLUGINS)[number] | ''>('');
  const [severity, setSeverity] = useState<AlertSeverity | ''>('');
  const [tactics, setTactics] = useState<string[]>([]);
  const [techniques, setTechniques] = useState<string[]>([]);
  const [dataSources, setDataSources] = useState<string[]>([]);
  const [documentation, setDocumentation] = useState(ADS_TEMPLATE);
  const create = useApiMutation<One<DetectionRule>, DetectionRuleCreateInput>(
    (json) => ({ path: ruleQueries.path(), json }),
    {
      invalidates: [ruleQueries.all],
      onSuccess: (r) => void navigate(`/detection-rules/${r.data.uuid}`),
    },
  );
  return (
    <Dialog open={open} onClose={onClose} title="Create detection rule" wide>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({
            name,
            source_name: source || null,
            severity: severity || null,
            mitre_tactics: tactics,
            mitre_techniques: techniques,
            data_sources: dataSources,
            documentation,
          });
        }}
      >
        <div className="form-grid">
          <TextField label="Name" value={name} onChange={setName} required />
          <SelectField label="Source" value={source} allowEmpty="Any" options={SOURCE_PLUGINS} onChange={setSource} />
          <SelectField
            label="Severity"
            value={severity}
            allowEmpty="—"
            options={AlertSeveritySchema.options}
            onChange={setSeverity}
          />
        </div>
        <details>
          <summary>MITRE tactics ({tactics.length})</summary>
          <CheckboxGroup legend="Tactics" options={MITRE_TACTICS} value={tactics} onChange={setTactics} />
        </details>
        <div className="form-grid">
          <ListField
            label="MITRE techniques"
            value={techniques}
            onChange={setTechniques}
            hint="e.g. T1110, T1078.004"
          />
          <ListField label="Data sources" value={dataSources} onChange={setDataSources} />
        </div>
        <MarkdownEditor label="Documentation" value={documentation} onChange={setDocumentation} />
        <ErrorBanner error={create.error} />
        <button type="submit" className="primary" disabled={!name || create.isPending}>
          Create rule
        </button>
      </form>
    </Dialog>
  );
}
