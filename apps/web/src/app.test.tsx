import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { alertDetail, alertSummary, approval } from './test/fixtures.js';
import { forbidden, one, page, renderApp, session } from './test/render.js';

const health = { status: 'ok', version: 'test' };

describe('sign-in and auth errors', () => {
  const KEY = 'cai_abcdefghijklmnopqrstuvwxyz012345';
  /** Nothing the browser keeps for this origin holds the key. */
  const stored = () =>
    [localStorage, sessionStorage].flatMap((s) => Object.keys(s).map((k) => `${k}=${s.getItem(k)}`)).join('\n');

  it('rejects a malformed key without calling the API, then signs in with a valid one: the server keeps it, the browser does not', async () => {
    const user = userEvent.setup();
    let signedIn = false;
    const { calls } = renderApp(
      '/alerts',
      {
        'GET /v1/alerts': page([alertSummary(1)]),
        'GET /health': health,
        'GET /v1/auth/session': () =>
          signedIn
            ? one(session({ kind: 'api_key', user: null }))
            : { status: 401, body: { error: { code: 'UNAUTHORIZED', message: 'Sign in first.' } } },
        'POST /v1/auth/session': () => {
          signedIn = true;
          return { status: 201, body: { data: {}, meta: {} } };
        },
      },
      { signedIn: false },
    );
    await user.type(await screen.findByLabelText('API key'), 'nope');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(screen.getByRole('alert').textContent).toMatch(/starts with cai_/);
    expect(calls.filter((c) => c.method !== 'GET')).toHaveLength(0);
    await user.clear(screen.getByLabelText('API key'));
    await user.type(screen.getByLabelText('API key'), KEY);
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('link', { name: 'Suspicious login 1' })).toBeTruthy();
    const post = calls.find((c) => c.method === 'POST');
    expect(post).toMatchObject({ path: '/v1/auth/session', body: { api_key: KEY }, credentials: 'same-origin' });
    // After sign-in no request carries the key: the session cookie does the work.
    const later = calls.slice(calls.indexOf(post as (typeof calls)[number]) + 1);
    expect(later.length).toBeGreaterThan(0);
    expect(JSON.stringify(later)).not.toContain(KEY);
    expect(stored()).not.toContain(KEY);
    expect(screen.getByRole('region', { name: 'Signed in as' }).textContent).toMatch(/Signed in with an API key/);
  });

  it('deletes a key an older console kept in localStorage', async () => {
    localStorage.setItem('calseta_api_key', KEY);
    sessionStorage.setItem('calseta_api_key', KEY);
    renderApp('/alerts', { 'GET /health': health, 'GET /v1/alerts': page([alertSummary(1)]) });
    await screen.findByRole('link', { name: 'Suspicious login 1' });
    expect(stored()).not.toContain(KEY);
  });

  it('reports a rejected key on the sign-in form', async () => {
    const user = userEvent.setup();
    renderApp(
      '/',
      {
        'POST /v1/auth/session': {
          status: 401,
          body: { error: { code: 'UNAUTHORIZED', message: 'Invalid API key.' }, request_id: 'r' },
        },
      },
      { signedIn: false },
    );
    await user.type(await screen.findByLabelText('API key'), KEY);
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/Key rejected: Invalid API key/);
    expect(screen.getByLabelText('API key')).toBeTruthy();
    expect(stored()).not.toContain(KEY);
  });

  it('a 401 while signed in signs out and says why', async () => {
    renderApp('/alerts', {
      'GET /health': health,
      'GET /v1/alerts': {
        status: 401,
        body: { error: { code: 'SESSION_EXPIRED', message: 'The session has expired.' }, request_id: 'r' },
      },
    });
    expect((await screen.findByText(/Signed out: The session has expired/)).getAttribute('role')).toBe('status');
    expect(screen.getByLabelText('API key')).toBeTruthy();
    expect(screen.queryByRole('navigation', { name: 'Main' })).toBeNull();
  });

  it('a 403 keeps the session and names the missing scope', async () => {
    renderApp('/approvals', {
      'GET /health': health,
      'GET /v1/workflow-approvals': forbidden('approvals:write'),
    });
    expect((await screen.findByRole('alert')).textContent).toMatch(/needs approvals:write/);
    expect(screen.getByRole('navigation', { name: 'Main' })).toBeTruthy();
  });
});

describe('alerts list', () => {
  it('renders 50 rows and puts filters and sorting into the API query', async () => {
    const user = userEvent.setup();
    const rows = Array.from({ length: 50 }, (_, i) => alertSummary(i + 1));
    const { calls } = renderApp('/alerts', { 'GET /health': health, 'GET /v1/alerts': page(rows, { total: 120 }) });
    await screen.findByRole('link', { name: 'Suspicious login 50' });
    const table = screen.getByRole('table');
    expect(within(table).getAllByRole('row')).toHaveLength(51);
    expect(screen.getByText(/120 total · page 1 of 3/)).toBeTruthy();

    await user.click(screen.getByText('Severity', { selector: 'summary' }));
    await user.click(screen.getByRole('checkbox', { name: 'Critical' }));
    await waitFor(() => expect(calls.some((c) => c.path.includes('severity=Critical'))).toBe(true));
    await user.click(screen.getByRole('button', { name: /Title/ }));
    await waitFor(() => expect(calls.some((c) => c.path.includes('sort_by=title'))).toBe(true));
    await user.click(screen.getByRole('button', { name: 'Next page' }));
    await waitFor(() => expect(calls.some((c) => c.path.includes('page=2'))).toBe(true));
  });
});

describe('alert detail', () => {
  const routes = (over = {}) => ({
    'GET /health': health,
    'GET /v1/alerts/00000000-0000-7000-8000-000000000001': one(alertDetail()),
    'PATCH /v1/alerts/00000000-0000-7000-8000-000000000001': (c: { body: unknown }) =>
      one({ ...alertDetail(), ...(c.body as object) }),
    ...over,
  });

  it('shows verdicts with their explanation and the runbook', async () => {
    const user = userEvent.setup();
    renderApp('/alerts/00000000-0000-7000-8000-000000000001?tab=indicators', routes());
    expect(await screen.findByRole('link', { name: '185.220.101.34' })).toBeTruthy();
    expect(screen.getByText(/abuseipdb: data.abuseConfidenceScore >= 75 \(actual 100\)/)).toBeTruthy();
    await user.click(screen.getByRole('tab', { name: /Context/ }));
    expect(await screen.findByRole('heading', { name: 'Contain' })).toBeTruthy();
  });

  it('tabs move with the arrow keys', async () => {
    const user = userEvent.setup();
    renderApp('/alerts/00000000-0000-7000-8000-000000000001', routes());
    const overview = await screen.findByRole('tab', { name: 'Overview' });
    overview.focus();
    await user.keyboard('{ArrowRight}');
    expect(document.activeElement?.textContent).toMatch(/Indicators/);
    expect(screen.getByRole('tab', { name: /Indicators/ }).getAttribute('aria-selected')).toBe('true');
  });

  it('closing asks for a classification and sends it', async () => {
    const user = userEvent.setup();
    const { calls } = renderApp('/alerts/00000000-0000-7000-8000-000000000001', routes());
    await user.click(await screen.findByRole('button', { name: 'Close alert' }));
    const dialog = screen.getByRole('dialog', { name: 'Close alert' });
    const submit = within(dialog).getByRole('button', { name: 'Close alert' });
    expect((submit as HTMLButtonElement).disabled).toBe(true);
    await user.selectOptions(within(dialog).getByLabelText('Classification'), 'Duplicate');
    await user.click(submit);
    await waitFor(() =>
      expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({
        status: 'Closed',
        close_classification: 'Duplicate',
      }),
    );
  });
});

describe('approvals', () => {
  it('approves a pending request', async () => {
    const user = userEvent.setup();
    const { calls } = renderApp('/approvals', {
      'GET /health': health,
      'GET /v1/workflow-approvals': page([approval()]),
      'POST /v1/workflow-approvals/00000000-0000-7000-8000-0000000000e1/approve': one(approval({ status: 'approved' })),
    });
    await user.click(await screen.findByRole('button', { name: /Approve Block IP/ }));
    expect((await screen.findByText(/Approved: the run is queued/)).textContent).toBeTruthy();
    expect(calls.some((c) => c.method === 'POST' && c.path.endsWith('/approve'))).toBe(true);
    expect(calls.find((c) => c.path.startsWith('/v1/workflow-approvals'))?.path).toContain('status=pending');
  });

  it('approving one’s own request is refused with the reason, and the session stays', async () => {
    const user = userEvent.setup();
    renderApp('/approvals', {
      'GET /health': { ...health, mocked_providers: ['virustotal'] },
      'GET /v1/workflow-approvals': page([approval({ reason: 'x'.repeat(400) })]),
      'POST /v1/workflow-approvals/00000000-0000-7000-8000-0000000000e1/approve': () => ({
        status: 403,
        body: {
          error: {
            code: 'FORBIDDEN',
            message: 'The requester of an approval cannot decide it: another person must.',
            details: { reason: 'requester' },
          },
        },
      }),
    });
    // While a provider is mocked, the page says so.
    expect((await screen.findByRole('note', { name: 'Demo data' })).textContent).toContain('virustotal');
    // A long reason is cut, and opens whole.
    expect(screen.queryByText('x'.repeat(400))).toBeNull();
    await user.click(screen.getByRole('button', { name: 'Read all' }));
    expect(screen.getByText('x'.repeat(400))).toBeTruthy();
    await user.click(screen.getByRole('button', { name: /^Approve/ }));
    expect((await screen.findByRole('alert')).textContent).toMatch(/You requested this run/);
    expect(screen.getByRole('heading', { name: 'Approvals' })).toBeTruthy();
  });

  it('rejecting asks for confirmation', async () => {
    const user = userEvent.setup();
    const { calls } = renderApp('/approvals', {
      'GET /health': health,
      'GET /v1/workflow-approvals': page([approval()]),
      'POST /v1/workflow-approvals/00000000-0000-7000-8000-0000000000e1/reject': one(approval({ status: 'rejected' })),
    });
    await user.click(await screen.findByRole('button', { name: 'Reject' }));
    expect(calls.some((c) => c.path.endsWith('/reject'))).toBe(false);
    await user.click(within(screen.getByRole('dialog')).getByRole('button', { name: 'Reject' }));
    await waitFor(() => expect(calls.some((c) => c.path.endsWith('/reject'))).toBe(true));
  });
});
