import type { SourceIntegration, SourceIntegrationCreate } from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { One } from '../api/client.js';
import { useApiMutation } from '../api/hooks.js';
import { sourceQueries } from '../api/queries/settings.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { Badge, ErrorBanner, Loading, Time } from '../components/feedback.js';
import { SelectField, TextField } from '../components/form.js';
import { Dialog, PageHeader } from '../components/layout.js';
import { SOURCE_PLUGINS } from '../components/sources.js';
import { type Column, DataTable, Pagination, useListParams } from '../components/table.js';

export function SourcesPage() {
  const list = useListParams();
  const sources = useQuery(sourceQueries.list(list.apiParams));
  const [creating, setCreating] = useState(false);
  const remove = useApiMutation<void, string>((uuid) => ({ method: 'DELETE', path: sourceQueries.path(uuid) }), {
    invalidates: [sourceQueries.all],
  });
  const toggle = useApiMutation<One<SourceIntegration>, SourceIntegration>(
    (s) => ({ method: 'PATCH', path: sourceQueries.path(s.uuid), json: { is_active: !s.is_active } }),
    { invalidates: [sourceQueries.all] },
  );
  const columns: Column<SourceIntegration>[] = [
    { id: 'name', header: 'Name', cell: (s) => s.display_name },
    { id: 'plugin', header: 'Plugin', cell: (s) => s.source_name },
    { id: 'status', header: 'Status', cell: (s) => <Badge value={s.is_active ? 'active' : 'inactive'} /> },
    { id: 'secret', header: 'Webhook secret', cell: (s) => (s.has_webhook_secret ? 'set' : 'none') },
    {
      id: 'url',
      header: 'Webhook URL',
      className: 'wrap',
      cell: (s) => <code>{`${window.location.origin}${s.webhook_path}`}</code>,
    },
    { id: 'created', header: 'Created', cell: (s) => <Time value={s.created_at} /> },
    {
      id: 'actions',
      header: '',
      cell: (s) => (
        <div className="row">
          <button type="button" className="small" onClick={() => toggle.mutate(s)}>
            {s.is_active ? 'Disable' : 'Enable'}
          </button>
          <ConfirmButton
            small
            label="Delete"
            title={`Delete ${s.display_name}?`}
            onConfirm={() => remove.mutate(s.uuid)}
          >
            Its settings and webhook secret are deleted.
          </ConfirmButton>
        </div>
      ),
    },
  ];
  return (
    <>
      <PageHeader
        title="Alert sources"
        subtitle="SIEM integrations: point each source's webhook at its URL with an API key (alerts:write)."
        actions={
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            Add source
          </button>
        }
      />
      <ErrorBanner error={sources.error ?? remove.error ?? toggle.error} />
      {sources.isLoading && <Loading />}
      {sources.data && (
        <>
          <DataTable
            caption="Alert sources"
            columns={columns}
            rows={sources.data.data}
            rowKey={(s) => s.uuid}
            empty="No source integration yet; every plugin still accepts alerts at /v1/ingest/<plugin>."
          />
          <Pagination meta={sources.data.meta} onPage={list.setPage} onPageSize={list.setPageSize} />
        </>
      )}
      <CreateSourceDialog open={creating} onClose={() => setCreating(false)} />
    </>
  );
}

function CreateSourceDialog({ open, onClose }: { open: boolean; onClose(): void }) {
  const [plugin, setPlugin] = useState<(typeof SOURCE_PLUGINS)[number]>('elastic');
  const [name, setName] = useState('');
  const [secret, setSecret] = useState('');
  const create = useApiMutation<One<SourceIntegration>, SourceIntegrationCreate>(
    (json) => ({ path: sourceQueries.path(), json }),
    {
      invalidates: [sourceQueries.all],
      onSuccess: onClose,
    },
  );
  return (
    <Dialog open={open} onClose={onClose} title="Add alert source">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate({
            source_name: plugin,
            display_name: name,
            auth_config: secret ? { webhook_secret: secret } : null,
          });
        }}
      >
        <SelectField label="Plugin" value={plugin} options={SOURCE_PLUGINS} onChange={setPlugin} />
        <TextField label="Display name" value={name} onChange={setName} required />
        <TextField
          label="Webhook secret (optional)"
          type="password"
          value={secret}
          onChange={setSecret}
          hint="At least 16 characters; signatures are then verified on ingest. Never shown again."
        />
        <ErrorBanner error={create.error} />
        <button type="submit" className="primary" disabled={!name || create.isPending}>
          Add source
        </button>
      </form>
    </Dialog>
  );
}
