import { ROLES, type Role, type User } from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { One } from '../api/client.js';
import { useApiMutation } from '../api/hooks.js';
import { userQueries } from '../api/queries/auth.js';
import { useAuth } from '../auth.js';
import { ConfirmButton } from '../components/confirm-button.js';
import { Badge, ErrorBanner, Loading, Time } from '../components/feedback.js';
import { CheckboxGroup } from '../components/form.js';
import { Dialog, PageHeader } from '../components/layout.js';
import { type Column, DataTable, Pagination, useListParams } from '../components/table.js';

/** People who signed in with the identity provider: their roles, disabling them, ending their sessions. */
export function UsersPage() {
  const me = useAuth().session.user?.uuid;
  const list = useListParams();
  const users = useQuery(userQueries.list(list.apiParams));
  const [editing, setEditing] = useState<User | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const patch = useApiMutation<One<User>, { uuid: string; disabled: boolean }>(
    ({ uuid, disabled }) => ({ method: 'PATCH', path: userQueries.path(uuid), json: { disabled } }),
    {
      invalidates: [userQueries.all],
      onSuccess: ({ data }) => setDone(`${label(data)} ${data.disabled ? 'is disabled' : 'may sign in again'}.`),
    },
  );
  const endSessions = useApiMutation<One<{ revoked: number }>, User>(
    (user) => ({ method: 'DELETE', path: userQueries.sessionsPath(user.uuid) }),
    {
      onSuccess: ({ data }, user) => setDone(`Every session of ${label(user)} has ended (${data.revoked} signed out).`),
    },
  );
  const columns: Column<User>[] = [
    { id: 'name', header: 'Name', cell: (u) => (u.uuid === me ? `${u.name ?? '—'} (you)` : (u.name ?? '—')) },
    { id: 'email', header: 'Email', className: 'wrap', cell: (u) => u.email },
    {
      id: 'roles',
      header: 'Roles',
      cell: (u) =>
        u.roles.length ? (
          <span className="row">
            {u.roles.map((role) => (
              <Badge key={role} value={role} />
            ))}
          </span>
        ) : (
          <span className="muted">none</span>
        ),
    },
    { id: 'status', header: 'Status', cell: (u) => <Badge value={u.disabled ? 'disabled' : 'active'} /> },
    {
      id: 'last',
      header: 'Last sign-in',
      cell: (u) => (u.signed_in ? <Time value={u.last_sign_in_at} /> : <span className="muted">never</span>),
    },
    {
      id: 'actions',
      header: '',
      cell: (u) => (
        <div className="row">
          <button
            type="button"
            className="small"
            onClick={() => setEditing(u)}
            aria-label={`Edit roles of ${label(u)}`}
          >
            Edit roles
          </button>
          {u.disabled ? (
            <button
              type="button"
              className="small"
              disabled={patch.isPending}
              onClick={() => patch.mutate({ uuid: u.uuid, disabled: false })}
            >
              Enable
            </button>
          ) : (
            <ConfirmButton
              small
              label="Disable"
              title={`Disable ${label(u)}?`}
              disabled={u.uuid === me}
              onConfirm={() => patch.mutate({ uuid: u.uuid, disabled: true })}
            >
              They cannot sign in until enabled again; their sessions end now.
            </ConfirmButton>
          )}
          <ConfirmButton
            small
            label="End sessions"
            title={`End every session of ${label(u)}?`}
            onConfirm={() => endSessions.mutate(u)}
          >
            They are signed out everywhere at their next request and must sign in again.
          </ConfirmButton>
        </div>
      ),
    },
  ];
  return (
    <>
      <PageHeader
        title="Users"
        subtitle="People who signed in with the identity provider. Roles decide what each may do."
      />
      <ErrorBanner error={users.error ?? patch.error ?? endSessions.error} />
      {done && (
        <p className="banner ok" role="status">
          {done}
        </p>
      )}
      {users.isLoading && <Loading />}
      {users.data && (
        <>
          <DataTable
            caption="Users"
            columns={columns}
            rows={users.data.data}
            rowKey={(u) => u.uuid}
            empty="Nobody has signed in with the identity provider yet."
          />
          <Pagination meta={users.data.meta} onPage={list.setPage} onPageSize={list.setPageSize} />
        </>
      )}
      {editing && <EditRolesDialog key={editing.uuid} user={editing} onClose={() => setEditing(null)} />}
    </>
  );
}

const label = (u: Pick<User, 'name' | 'email'>) => u.name || u.email || 'this user';

function EditRolesDialog({ user, onClose }: { user: User; onClose(): void }) {
  // Only the roles granted here are edited: those from the identity provider return at each sign-in.
  const [roles, setRoles] = useState<Role[]>(user.granted_roles);
  const patch = useApiMutation<One<User>, void>(
    () => ({ method: 'PATCH', path: userQueries.path(user.uuid), json: { roles } }),
    { invalidates: [userQueries.all], onSuccess: onClose },
  );
  return (
    <Dialog open onClose={onClose} title={`Roles of ${label(user)}`}>
      <p className="muted small">
        viewer reads; analyst also triages and runs workflows; approver also decides approvals; admin may do everything.
      </p>
      <p className="small">
        From the identity provider (refreshed at each sign-in):{' '}
        {user.idp_roles.length ? user.idp_roles.join(', ') : 'none'}.
      </p>
      <CheckboxGroup legend="Roles granted here" options={ROLES} value={roles} onChange={setRoles} />
      <ErrorBanner error={patch.error} />
      <button type="button" className="primary" disabled={patch.isPending} onClick={() => patch.mutate()}>
        Save roles
      </button>
    </Dialog>
  );
}
