import type { AlertFinding, User } from '@calseta/schema';
import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { leavePage } from './api/client.js';
import { FindingCards } from './components/findings.js';
import { alertDetail, approval } from './test/fixtures.js';
import { forbidden, one, page, renderApp, session } from './test/render.js';

vi.mock('./api/client.js', async (original) => ({
  ...(await original<typeof import('./api/client.js')>()),
  leavePage: vi.fn(),
}));

const health = { status: 'ok', version: 'test' };
const oidc = one({ oidc: { enabled: true, display_name: 'Contoso Okta' }, api_key_sign_in: true });
const analyst = session({
  user: {
    uuid: '00000000-0000-7000-8000-0000000000a2',
    email: 'bo@example.com',
    name: 'Bo Analyst',
    roles: ['analyst'],
  },
  scopes: ['alerts:read', 'alerts:write', 'enrichments:read', 'workflows:read', 'workflows:execute', 'agents:read'],
});
const approver = session({
  user: { uuid: '00000000-0000-7000-8000-0000000000a3', email: 'cy@example.com', name: 'Cy Lead', roles: ['approver'] },
  scopes: [...analyst.scopes, 'approvals:write'],
});

describe('sign-in with the identity provider', () => {
  it('offers "Sign in with <provider>" as a plain link that comes back to this page', async () => {
    renderApp('/alerts?status=Open', { 'GET /v1/auth/config': oidc }, { signedIn: false });
    const link = await screen.findByRole('link', { name: 'Sign in with Contoso Okta' });
    expect(link.getAttribute('href')).toBe(
      `/v1/auth/oidc/login?return_to=${encodeURIComponent('/alerts?status=Open')}`,
    );
    // The key form stays, for local use.
    expect(screen.getByLabelText('API key')).toBeTruthy();
  });

  it('without an identity provider, only the key form', async () => {
    renderApp('/', {}, { signedIn: false });
    await screen.findByLabelText('API key');
    expect(screen.queryByRole('link', { name: /Sign in with/ })).toBeNull();
  });

  it('a failed provider sign-in (?sign_in_error=) is explained, and the code leaves the return path', async () => {
    renderApp('/alerts?sign_in_error=disabled', { 'GET /v1/auth/config': oidc }, { signedIn: false });
    expect((await screen.findByText(/Your account is disabled/)).getAttribute('role')).toBe('status');
    const link = await screen.findByRole('link', { name: 'Sign in with Contoso Okta' });
    expect(link.getAttribute('href')).toBe('/v1/auth/oidc/login?return_to=%2Falerts');
  });

  it('an unknown error code is named as text, never interpreted as markup', async () => {
    const code = '<img src=x onerror=alert(1)>';
    const { container } = renderApp(`/?sign_in_error=${encodeURIComponent(code)}`, {}, { signedIn: false });
    expect((await screen.findByText(/Sign-in with the identity provider failed/)).textContent).toContain(code);
    expect(container.querySelector('img')).toBeNull();
  });
});

describe('the session', () => {
  it('every request goes with the cookie; writes carry the CSRF token, reads do not', async () => {
    const user = userEvent.setup();
    const { calls } = renderApp(
      '/approvals',
      {
        'GET /health': health,
        'GET /v1/workflow-approvals': page([approval()]),
        'POST /v1/workflow-approvals/00000000-0000-7000-8000-0000000000e1/approve': one(
          approval({ status: 'approved' }),
        ),
      },
      { as: approver },
    );
    await user.click(await screen.findByRole('button', { name: /Approve Block IP/ }));
    await screen.findByText(/Approved: the run is queued/);
    expect(calls.every((c) => c.credentials === 'same-origin')).toBe(true);
    const post = calls.find((c) => c.method === 'POST');
    expect(post?.headers['x-csrf-token']).toBe('csrf-token-of-the-session');
    expect(post?.headers.authorization).toBeUndefined();
    expect(calls.filter((c) => c.method === 'GET').some((c) => 'x-csrf-token' in c.headers)).toBe(false);
  });

  it('a write refused for its CSRF token (signed in again in another tab) reloads the session: the next try goes through', async () => {
    const user = userEvent.setup();
    let token = 'token-of-the-old-session';
    const { calls } = renderApp('/approvals', {
      'GET /health': health,
      'GET /v1/auth/session': () => one({ ...approver, csrf_token: token }),
      'GET /v1/workflow-approvals': page([approval()]),
      'POST /v1/workflow-approvals/00000000-0000-7000-8000-0000000000e1/approve': (c: {
        headers: Record<string, string>;
      }) =>
        c.headers['x-csrf-token'] === 'token-of-the-new-session'
          ? one(approval({ status: 'approved' }))
          : {
              status: 403,
              body: { error: { code: 'CSRF_REJECTED', message: 'Missing or wrong X-CSRF-Token header.' } },
            },
    });
    await screen.findByRole('button', { name: /Approve Block IP/ });
    token = 'token-of-the-new-session';
    await user.click(screen.getByRole('button', { name: /Approve Block IP/ }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/CSRF_REJECTED/);
    await waitFor(() => expect(calls.filter((c) => c.path === '/v1/auth/session')).toHaveLength(2));
    await user.click(screen.getByRole('button', { name: /Approve Block IP/ }));
    await screen.findByText(/Approved: the run is queued/);
  });

  it('the header names the person and their roles; "Sign out" ends the session and leaves through the provider', async () => {
    const user = userEvent.setup();
    const logout = 'https://idp.example.com/logout?id_token_hint=x&post_logout_redirect_uri=https%3A%2F%2Fcalseta';
    const { calls } = renderApp(
      '/alerts',
      {
        'GET /health': health,
        'GET /v1/alerts': page([]),
        'DELETE /v1/auth/session': one({ logout_url: logout }),
      },
      { as: approver },
    );
    const person = await screen.findByRole('region', { name: 'Signed in as' });
    expect(person.textContent).toContain('Cy Lead');
    expect(person.textContent).toContain('cy@example.com');
    expect(within(person).getByText('approver')).toBeTruthy();
    await user.click(screen.getByRole('button', { name: 'Sign out' }));
    await screen.findByLabelText('API key');
    const del = calls.find((c) => c.method === 'DELETE');
    expect(del).toMatchObject({ path: '/v1/auth/session', credentials: 'same-origin' });
    expect(del?.headers['x-csrf-token']).toBe('csrf-token-of-the-session');
    expect(leavePage).toHaveBeenCalledWith(logout);
  });

  it('a failed sign-out says so and keeps the session (the server still holds it)', async () => {
    const user = userEvent.setup();
    renderApp('/alerts', {
      'GET /health': health,
      'GET /v1/alerts': page([]),
      'DELETE /v1/auth/session': {
        status: 403,
        body: { error: { code: 'CSRF_REJECTED', message: 'The request did not come from this site.' } },
      },
    });
    await user.click(await screen.findByRole('button', { name: 'Sign out' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/Sign-out failed/);
    expect(screen.getByRole('navigation', { name: 'Main' })).toBeTruthy();
  });
});

describe('roles decide what is offered', () => {
  const pending = {
    'GET /health': health,
    'GET /v1/workflow-approvals': page([approval()]),
  };

  it('an analyst is told approvals need the approver role: no queue, no decision buttons, no link', async () => {
    const { calls } = renderApp('/approvals', pending, { as: analyst });
    expect((await screen.findByText(/Approvals are decided by approvers/)).textContent).toMatch(
      /your roles \(analyst\) do not include it/,
    );
    expect(screen.queryByRole('button', { name: /^Approve/ })).toBeNull();
    expect(screen.queryByRole('button', { name: 'Reject' })).toBeNull();
    expect(calls.some((c) => c.path.startsWith('/v1/workflow-approvals'))).toBe(false);
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect(within(nav).queryByRole('link', { name: 'Approvals' })).toBeNull();
  });

  it('an approver sees them', async () => {
    renderApp('/approvals', pending, { as: approver });
    expect(await screen.findByRole('button', { name: /^Approve Block IP/ })).toBeTruthy();
    expect(screen.getByRole('button', { name: 'Reject' })).toBeTruthy();
    expect(
      within(screen.getByRole('navigation', { name: 'Main' })).getByRole('link', { name: 'Approvals' }),
    ).toBeTruthy();
  });

  it('a 403 from the server is still shown clearly', async () => {
    const user = userEvent.setup();
    renderApp(
      '/approvals',
      {
        ...pending,
        'POST /v1/workflow-approvals/00000000-0000-7000-8000-0000000000e1/approve': forbidden('approvals:write'),
      },
      { as: approver },
    );
    await user.click(await screen.findByRole('button', { name: /^Approve Block IP/ }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/needs approvals:write/);
  });

  it('an analyst who runs a gated workflow is told an approver decides, with no link to a queue they cannot read', async () => {
    const user = userEvent.setup();
    renderApp(
      '/alerts/00000000-0000-7000-8000-000000000001',
      {
        'GET /health': health,
        'GET /v1/alerts/00000000-0000-7000-8000-000000000001': one(alertDetail()),
        'GET /v1/workflows': page([
          { uuid: '00000000-0000-7000-8000-0000000000f1', name: 'Block IP', indicator_types: ['ip'] },
        ]),
        'POST /v1/workflows/00000000-0000-7000-8000-0000000000f1/execute': {
          status: 202,
          body: one({ status: 'pending_approval', approval_request_uuid: '00000000-0000-7000-8000-0000000000e1' }),
        },
      },
      { as: analyst },
    );
    await user.click(await screen.findByRole('button', { name: 'Run workflow' }));
    const dialog = screen.getByRole('dialog', { name: 'Run workflow' });
    await user.selectOptions(await within(dialog).findByLabelText('Workflow'), '00000000-0000-7000-8000-0000000000f1');
    await user.click(within(dialog).getByRole('button', { name: 'Run workflow' }));
    expect((await within(dialog).findByText(/Approval required/)).textContent).toMatch(/An approver decides it\./);
    expect(within(dialog).queryByRole('link', { name: 'Open the approvals queue' })).toBeNull();
  });

  it('only an admin has the Users page in the navigation', async () => {
    renderApp('/alerts', { 'GET /health': health, 'GET /v1/alerts': page([]) }, { as: analyst });
    const nav = await screen.findByRole('navigation', { name: 'Main' });
    expect(within(nav).queryByRole('link', { name: 'Users' })).toBeNull();
    // Links to pages whose reads the session may not make are not offered either.
    expect(within(nav).queryByRole('link', { name: 'Indicator mappings' })).toBeNull();
    expect(within(nav).getByRole('link', { name: 'API keys' })).toBeTruthy();
    expect(within(nav).getByRole('link', { name: 'Agents' })).toBeTruthy();
  });

  it('a person’s own API keys: only the scopes of their roles, always human, revocable', async () => {
    const user = userEvent.setup();
    const mine = {
      uuid: '00000000-0000-7000-8000-0000000000c9',
      name: 'laptop',
      key_prefix: 'cai_lapt',
      scopes: ['alerts:read'],
      key_type: 'human',
      is_active: true,
      created_at: '2026-11-20T09:00:00.000Z',
      expires_at: null,
      last_used_at: null,
      revoked_at: null,
      allowed_sources: null,
    };
    const { calls } = renderApp(
      '/settings/api-keys',
      {
        'GET /health': health,
        'GET /v1/users/me/api-keys': page([mine]),
        'POST /v1/users/me/api-keys': () => ({ status: 201, body: one({ ...mine, key: 'cai_x' }) }),
        'DELETE /v1/users/me/api-keys/00000000-0000-7000-8000-0000000000c9': { status: 204 },
      },
      { as: analyst },
    );
    const row = within(await screen.findByRole('table', { name: 'API keys' })).getByRole('row', { name: /laptop/ });
    // No scope edits of a personal key (the server has none): revoke and create another.
    expect(within(row).queryByRole('button', { name: 'Edit scopes' })).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Create key' }));
    const dialog = screen.getByRole('dialog', { name: 'Create API key' });
    const offered = within(dialog)
      .getAllByRole('checkbox')
      .map((c) => c.closest('label')?.textContent?.trim());
    expect(offered).toEqual(analyst.scopes);
    expect(within(dialog).queryByLabelText('Key type')).toBeNull();
    await user.type(within(dialog).getByLabelText('Name'), 'my laptop');
    await user.click(within(dialog).getByRole('button', { name: 'Create key' }));
    await within(dialog).findByText('cai_x');
    expect(calls.find((c) => c.method === 'POST')).toMatchObject({
      path: '/v1/users/me/api-keys',
      body: { name: 'my laptop', key_type: 'human', scopes: ['alerts:read'] },
    });
    await user.click(within(dialog).getByRole('button', { name: 'Close' }));
    await user.click(within(row).getByRole('button', { name: 'Deactivate' }));
    await user.click(
      within(screen.getByRole('dialog', { name: 'Deactivate laptop?' })).getByRole('button', { name: 'Deactivate' }),
    );
    await waitFor(() =>
      expect(calls.find((c) => c.method === 'DELETE')?.path).toBe(
        '/v1/users/me/api-keys/00000000-0000-7000-8000-0000000000c9',
      ),
    );
    expect(calls.some((c) => c.path.startsWith('/v1/api-keys'))).toBe(false);
  });

  it('a key session without admin is told keys are an administrator’s', async () => {
    const { calls } = renderApp(
      '/settings/api-keys',
      { 'GET /health': health },
      {
        as: session({ kind: 'api_key', user: null, scopes: ['alerts:read'] }),
      },
    );
    expect((await screen.findByText(/API keys are managed by an administrator/)).getAttribute('role')).toBe('status');
    expect(screen.queryByRole('button', { name: 'Create key' })).toBeNull();
    expect(calls.some((c) => c.path.includes('api-keys'))).toBe(false);
  });
});

describe('users (admin)', () => {
  const user = (over: Partial<User> & Pick<User, 'uuid' | 'email' | 'name'>): User => ({
    roles: ['analyst'],
    idp_roles: ['analyst'],
    granted_roles: [],
    scopes: analyst.scopes,
    disabled: false,
    signed_in: true,
    last_sign_in_at: '2026-11-20T09:00:00.000Z',
    created_at: '2026-11-01T09:00:00.000Z',
    ...over,
  });
  const bo = user({ uuid: '00000000-0000-7000-8000-0000000000a2', email: 'bo@example.com', name: 'Bo Analyst' });
  const routes = () => ({
    'GET /health': health,
    'GET /v1/users': page([bo]),
    'PATCH /v1/users/00000000-0000-7000-8000-0000000000a2': (c: { body: unknown }) =>
      one({ ...bo, ...(c.body as object) }),
    'DELETE /v1/users/00000000-0000-7000-8000-0000000000a2/sessions': one({ revoked: 2 }),
  });

  it('lists people with their roles; an admin changes roles, disables, and ends sessions', async () => {
    const ui = userEvent.setup();
    const { calls } = renderApp('/settings/users', routes());
    const table = await screen.findByRole('table', { name: 'Users' });
    const row = within(table).getByRole('row', { name: /Bo Analyst/ });
    expect(within(row).getByText('analyst')).toBeTruthy();
    expect(within(row).getByText('active')).toBeTruthy();

    await ui.click(within(row).getByRole('button', { name: 'Edit roles of Bo Analyst' }));
    const roles = screen.getByRole('dialog', { name: 'Roles of Bo Analyst' });
    // The provider's roles are shown; only those granted here are edited (the others return at sign-in).
    expect(roles.textContent).toMatch(/From the identity provider \(refreshed at each sign-in\): analyst\./);
    await ui.click(within(roles).getByRole('checkbox', { name: 'approver' }));
    await ui.click(within(roles).getByRole('button', { name: 'Save roles' }));
    await waitFor(() => expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ roles: ['approver'] }));

    await ui.click(within(row).getByRole('button', { name: 'Disable' }));
    await ui.click(
      within(screen.getByRole('dialog', { name: 'Disable Bo Analyst?' })).getByRole('button', { name: 'Disable' }),
    );
    await waitFor(() => expect(calls.filter((c) => c.method === 'PATCH')[1]?.body).toEqual({ disabled: true }));
    expect((await screen.findByText(/Bo Analyst is disabled/)).getAttribute('role')).toBe('status');

    await ui.click(within(row).getByRole('button', { name: 'End sessions' }));
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    const end = screen.getByRole('dialog', { name: 'End every session of Bo Analyst?' });
    await ui.click(within(end).getByRole('button', { name: 'End sessions' }));
    await screen.findByText('Every session of Bo Analyst has ended (2 signed out).');
    const del = calls.find((c) => c.method === 'DELETE');
    expect(del?.path).toBe('/v1/users/00000000-0000-7000-8000-0000000000a2/sessions');
    expect(del?.headers['x-csrf-token']).toBe('csrf-token-of-the-session');
  });

  it('an admin cannot disable themself', async () => {
    renderApp('/settings/users', {
      ...routes(),
      'GET /v1/users': page([
        { ...(session().user as NonNullable<ReturnType<typeof session>['user']>), disabled: false },
      ]),
    });
    const row = within(await screen.findByRole('table', { name: 'Users' })).getByRole('row', {
      name: /Ada Admin \(you\)/,
    });
    expect((within(row).getByRole('button', { name: 'Disable' }) as HTMLButtonElement).disabled).toBe(true);
  });
});

describe('people appear as themselves', () => {
  const finding = (posted_by: AlertFinding['posted_by']): AlertFinding => ({
    id: 'f1',
    agent_name: 'analyst notes',
    summary: 'Contained.',
    confidence: 'high',
    recommended_action: null,
    evidence: null,
    posted_at: '2026-11-20T09:00:00.000Z',
    posted_by,
  });

  it('a finding posted by a person names them; one posted by a key names the key', () => {
    const { unmount } = render(
      <FindingCards
        empty="none"
        findings={[
          finding({
            actor_type: 'api',
            key_prefix: null,
            key_name: null,
            key_type: null,
            user: { uuid: '00000000-0000-7000-8000-0000000000a3', email: 'cy@example.com' },
          }),
        ]}
      />,
    );
    expect(screen.getByText(/^by/).textContent).toBe('by cy@example.com');
    unmount();
    render(
      <FindingCards
        empty="none"
        findings={[finding({ actor_type: 'api', key_prefix: 'cai_agnt', key_name: 'triage', key_type: 'agent' })]}
      />,
    );
    expect(screen.getByText(/^by/).textContent).toBe('by cai_agnt');
  });
});
