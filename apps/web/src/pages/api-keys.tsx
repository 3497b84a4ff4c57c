import { type ApiKey, type ApiKeyCreate, type ApiKeyCreated, SCOPES, type Scope } from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { One } from '../api/client.js';
import { useApiMutation } from '../api/hooks.js';
import { apiKeyQueries, type KeyResource, personalKeyQueries } from '../api/queries/settings.js';
import { useAuth } from '../auth.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { Badge, ErrorBanner, Loading, Time } from '../components/feedback.js';
import { CheckboxGroup, ListField, SelectField, TextField } from '../components/form.js';
import { Dialog, PageHeader } from '../components/layout.js';
import { type Column, DataTable, Pagination, useListParams } from '../components/table.js';

/** The scopes this person may put on a key: their own (the server refuses more); an admin, any. */
function useGrantableScopes(): readonly Scope[] {
  const { can, session } = useAuth();
  return can('admin') ? SCOPES : SCOPES.filter((scope) => session.scopes.includes(scope));
}

/**
 * An admin manages every key (`/v1/api-keys`); anyone else signed in with single sign-on manages their
 * personal keys (`/v1/users/me/api-keys`: always `human`, scopes within their roles, no scope edits).
 */
function useKeyStore(): { keys: KeyResource; personal: boolean } | null {
  const { can, session } = useAuth();
  if (can('admin')) return { keys: apiKeyQueries, personal: false };
  return session.kind === 'oidc' ? { keys: personalKeyQueries, personal: true } : null;
}

export function ApiKeysPage() {
  const store = useKeyStore();
  if (!store) {
    return (
      <>
        <PageHeader title="API keys" />
        <p className="banner warn" role="status">
          API keys are managed by an administrator. A person signed in with single sign-on creates personal keys here.
        </p>
      </>
    );
  }
  return <KeyList {...store} />;
}

function KeyList({ keys: store, personal }: { keys: KeyResource; personal: boolean }) {
  const list = useListParams();
  const keys = useQuery(store.list(list.apiParams));
  const [creating, setCreating] = useState(false);
  const [editing, setEditing] = useState<ApiKey | null>(null);
  const deactivate = useApiMutation<void, string>((uuid) => ({ method: 'DELETE', path: store.path(uuid) }), {
    invalidates: [store.all],
  });
  const columns: Column<ApiKey>[] = [
    { id: 'prefix', header: 'Prefix', cell: (k) => <code>{k.key_prefix}</code> },
    { id: 'name', header: 'Name', cell: (k) => k.name },
    { id: 'type', header: 'Type', cell: (k) => k.key_type },
    { id: 'scopes', header: 'Scopes', className: 'wrap', cell: (k) => k.scopes.join(', ') },
    { id: 'status', header: 'Status', cell: (k) => <Badge value={k.is_active ? 'active' : 'inactive'} /> },
    { id: 'sources', header: 'Sources', cell: (k) => k.allowed_sources?.join(', ') ?? 'any' },
    { id: 'used', header: 'Last used', cell: (k) => <Time value={k.last_used_at} /> },
    { id: 'expires', header: 'Expires', cell: (k) => <Time value={k.expires_at} /> },
    {
      id: 'actions',
      header: '',
      cell: (k) => (
        <div className="row">
          {!personal && (
            <button type="button" className="small" onClick={() => setEditing(k)}>
              Edit scopes
            </button>
          )}
          {k.is_active && (
            <ConfirmButton
              small
              label="Deactivate"
              title={`Deactivate ${k.name}?`}
              onConfirm={() => deactivate.mutate(k.uuid)}
            >
              Requests with this key are refused from now on.
            </ConfirmButton>
          )}
        </div>
      ),
    },
  ];
  return (
    <>
      <PageHeader
        title="API keys"
        subtitle={
          personal
            ? 'Your personal keys: each holds at most the scopes of your roles, and stops when you are disabled. Stored hashed; the full key is shown once.'
            : 'Keys for analysts and agents. Stored hashed; the full key is shown once.'
        }
        actions={
          <button type="button" className="primary" onClick={() => setCreating(true)}>
            Create key
          </button>
        }
      />
      <ErrorBanner error={keys.error ?? deactivate.error} />
      {keys.isLoading && <Loading />}
      {keys.data && (
        <>
          <DataTable caption="API keys" columns={columns} rows={keys.data.data} rowKey={(k) => k.uuid} />
          <Pagination meta={keys.data.meta} onPage={list.setPage} onPageSize={list.setPageSize} />
        </>
      )}
      <CreateKeyDialog store={store} personal={personal} open={creating} onClose={() => setCreating(false)} />
      {editing && <EditScopesDialog key={editing.uuid} apiKey={editing} onClose={() => setEditing(null)} />}
    </>
  );
}

function CreateKeyDialog({
  store,
  personal,
  open,
  onClose,
}: {
  store: KeyResource;
  personal: boolean;
  open: boolean;
  onClose(): void;
}) {
  const [name, setName] = useState('');
  const [type, setType] = useState<'human' | 'agent'>('human');
  const grantable = useGrantableScopes();
  const [scopes, setScopes] = useState<Scope[]>(() => grantable.filter((scope) => scope === 'alerts:read'));
  const [sources, setSources] = useState<string[]>([]);
  const [expires, setExpires] = useState('');
  const create = useApiMutation<One<ApiKeyCreated>, ApiKeyCreate>((json) => ({ path: store.path(), json }), {
    invalidates: [store.all],
  });
  const close = () => {
    create.reset();
    onClose();
  };
  return (
    <Dialog open={open} onClose={close} title="Create API key">
      {create.data ? (
        <div className="stack">
          <p className="banner warn" role="status">
            Copy the key now: it is not shown again.
          </p>
          <pre className="block">{create.data.data.key}</pre>
          <button type="button" onClick={() => void navigator.clipboard?.writeText(create.data?.data.key ?? '')}>
            Copy
          </button>
        </div>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            create.mutate({
              name,
              // A personal key is a person's: always human.
              key_type: personal ? 'human' : type,
              scopes,
              allowed_sources: sources.length ? sources : null,
              expires_at: expires ? new Date(expires).toISOString() : null,
            });
          }}
        >
          <TextField label="Name" value={name} onChange={setName} required />
          {!personal && (
            <SelectField
              label="Key type"
              value={type}
              options={['human', 'agent'] as const}
              onChange={setType}
              hint="Agent keys must give a reason and confidence when they run workflows."
            />
          )}
          <CheckboxGroup legend="Scopes" options={grantable} value={scopes} onChange={setScopes} />
          <ListField
            label="Allowed sources (optional)"
            value={sources}
            onChange={setSources}
            hint="Comma-separated; empty: any source may be ingested."
          />
          <TextField label="Expires (optional)" type="datetime-local" value={expires} onChange={setExpires} />
          <ErrorBanner error={create.error} />
          <button type="submit" className="primary" disabled={!name || scopes.length === 0 || create.isPending}>
            Create key
          </button>
        </form>
      )}
    </Dialog>
  );
}

function EditScopesDialog({ apiKey, onClose }: { apiKey: ApiKey; onClose(): void }) {
  const grantable = useGrantableScopes();
  const [scopes, setScopes] = useState<Scope[]>(apiKey.scopes);
  const patch = useApiMutation<One<ApiKey>, void>(
    () => ({ method: 'PATCH', path: apiKeyQueries.path(apiKey.uuid), json: { scopes } }),
    {
      invalidates: [apiKeyQueries.all],
      onSuccess: onClose,
    },
  );
  return (
    <Dialog open onClose={onClose} title={`Scopes of ${apiKey.name}`}>
      <CheckboxGroup legend="Scopes" options={grantable} value={scopes} onChange={setScopes} />
      <ErrorBanner error={patch.error} />
      <button type="button" className="primary" disabled={scopes.length === 0} onClick={() => patch.mutate()}>
        Save scopes
      </button>
    </Dialog>
  );
}
