import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { alertDetail } from '../test/fixtures.js';
import { FINDING, IDS, IP, incidentDetail, incidentSummary, TIMELINE } from '../test/incidents.js';
import { type Call, one, page, renderApp, session } from '../test/render.js';

const health = { status: 'ok', version: 'test' };
const DETAIL = `/v1/incidents/${IDS.incident}`;
const other = incidentSummary({
  uuid: IDS.other,
  title: 'Ransomware beachhead on FIN-WS-042',
  severity: 'High',
  alert_count: 2,
});

/** The fake API of one incident (the identity-compromise chain) and the open incidents around it. */
function detailRoutes(over: Record<string, unknown> = {}) {
  return {
    'GET /health': health,
    [`GET ${DETAIL}`]: one(incidentDetail()),
    [`GET ${DETAIL}/timeline`]: page(TIMELINE),
    [`GET ${DETAIL}/findings`]: one([FINDING]),
    'GET /v1/incidents': page([incidentSummary(), other]),
    ...over,
  };
}
const writes = (calls: Call[]) => calls.filter((c) => c.method !== 'GET').map((c) => [c.method, c.path, c.body]);

describe('incident list', () => {
  it('puts filters, the date range, the search and sorting into the API query and the URL', async () => {
    const user = userEvent.setup();
    const many = Array.from({ length: 50 }, (_, i) =>
      incidentSummary({ uuid: `00000000-0000-7000-8000-${String(0xc100 + i).padStart(12, '0')}`, title: `Case ${i}` }),
    );
    const { calls } = renderApp('/incidents', {
      'GET /health': health,
      'GET /v1/incidents': page(many, { total: 120 }),
    });
    /** The query of the list's latest request. */
    const last = () =>
      Object.fromEntries(
        new URL(`http://x${calls.findLast((c) => c.path.startsWith('/v1/incidents'))?.path}`).searchParams,
      );
    const table = await screen.findByRole('table', { name: 'Incidents' });
    expect(within(table).getAllByRole('row')).toHaveLength(51);
    // Newest activity first unless the analyst sorts otherwise; the header says so.
    expect(last()).toMatchObject({ sort_by: 'last_alert_at', sort_order: 'desc' });
    expect(
      within(table)
        .getByRole('columnheader', { name: /Last alert/ })
        .getAttribute('aria-sort'),
    ).toBe('descending');
    await user.click(screen.getByText('Status', { selector: 'summary' }));
    await user.click(screen.getByRole('checkbox', { name: 'Escalated' }));
    await user.click(screen.getByText('Severity', { selector: 'summary' }));
    await user.click(screen.getByRole('checkbox', { name: 'Critical' }));
    await user.type(screen.getByLabelText('Title contains'), 'TOR exit{Enter}');
    await user.click(within(table).getByRole('button', { name: /Alerts/ }));
    await waitFor(() => {
      expect(last()).toMatchObject({
        status: 'Escalated',
        severity: 'Critical',
        q: 'TOR exit',
        sort_by: 'alert_count',
        sort_order: 'desc',
      });
    });
    const from = screen.getByLabelText('Opened from');
    await user.type(from, '2026-11-20');
    await waitFor(() => expect(last().from_time).toBe(new Date('2026-11-20T00:00:00').toISOString()));
    await user.click(screen.getByRole('button', { name: 'Next page' }));
    await waitFor(() => expect(last()).toMatchObject({ page: '2', q: 'TOR exit', status: 'Escalated' }));
    expect(screen.getByText(/120 total/)).toBeTruthy();
  });

  it('links each incident, marks merged ones and analyst-set severities', async () => {
    renderApp('/incidents', {
      'GET /health': health,
      'GET /v1/incidents': page([
        incidentSummary({ severity: 'Low', severity_override: 'Low' }),
        incidentSummary({ uuid: IDS.other, title: 'Old case', status: 'Closed', merged_into_uuid: IDS.incident }),
      ]),
    });
    const link = await screen.findByRole('link', { name: `Brute force then sign-in from ${IP}` });
    expect(link.getAttribute('href')).toBe(`/incidents/${IDS.incident}`);
    expect(screen.getByText('(merged)')).toBeTruthy();
    expect(screen.getByTitle('Set by an analyst').textContent).toContain('Low');
  });
});

describe('incident detail', () => {
  it('shows the header with its metrics, and why each alert joined', async () => {
    const { client } = renderApp(`/incidents/${IDS.incident}`, detailRoutes());
    await screen.findByRole('heading', { name: `Brute force then sign-in from ${IP}` });
    // Alerts keep joining an open incident: the page polls it.
    const query = client.getQueryCache().find({ queryKey: ['incidents', 'detail', IDS.incident], exact: true });
    expect(query?.observers.some((o) => o.options.refetchInterval === 15_000)).toBe(true);
    const header = document.querySelector('.page-header') as HTMLElement;
    expect(within(header).getByText('Critical')).toBeTruthy();
    expect(within(header).getByText('4 alerts')).toBeTruthy();
    expect(within(header).getByTitle(/Time to detect/).textContent).toBe('MTTD 2.0 min');
    expect(within(header).getByTitle(/Time to acknowledge/).textContent).toBe('MTTA —');

    const table = screen.getByRole('table', { name: 'Member alerts' });
    const row = (title: string) => within(table).getByRole('row', { name: new RegExp(`^Select ${title}`) });
    // The sign-in joined on the same rule and address as the brute force, named and linked.
    const signIn = row('Successful sign-in from a TOR exit node');
    expect(within(signIn).getByText('Same rule, same entity')).toBeTruthy();
    expect(
      within(signIn).getByText(`Shares ${IP} with the brute force 7 minutes earlier.`, { exact: false }),
    ).toBeTruthy();
    expect(
      within(signIn)
        .getByRole('link', { name: 'Brute force against Entra ID from 185.220.101.34' })
        .getAttribute('href'),
    ).toBe(`/alerts/${IDS.bruteForce}`);
    expect(within(signIn).getByRole('link', { name: 'the detection rule' }).getAttribute('href')).toBe(
      `/detection-rules/${IDS.rule}`,
    );
    // The download joined because Sentinel grouped it: the source, its field and value.
    const download = row('Mass download');
    expect(within(download).getByText('Grouped by the source')).toBeTruthy();
    expect(within(download).getByText('IncidentNumber')).toBeTruthy();
    expect(within(download).getByText('4711')).toBeTruthy();
  });

  it('splits the selected alerts into a new incident and links it', async () => {
    const user = userEvent.setup();
    const created = incidentSummary({ uuid: IDS.other, title: 'Inbox rule follow-up' });
    const { calls } = renderApp(
      `/incidents/${IDS.incident}`,
      detailRoutes({ [`POST ${DETAIL}/split`]: { status: 201, body: one(incidentDetail(created)) } }),
    );
    await user.click(await screen.findByRole('checkbox', { name: /Select New inbox rule/ }));
    await user.click(screen.getByRole('button', { name: 'Split into a new incident' }));
    const dialog = screen.getByRole('dialog', { name: 'Split into a new incident' });
    await user.type(within(dialog).getByLabelText('Title of the new incident'), 'Inbox rule follow-up');
    await user.click(within(dialog).getByRole('button', { name: 'Split' }));
    const createdLink = await screen.findByRole('link', { name: 'Inbox rule follow-up' });
    expect(createdLink.getAttribute('href')).toBe(`/incidents/${IDS.other}`);
    expect(createdLink.closest('p')?.textContent).toBe('Split into Inbox rule follow-up.');
    expect(writes(calls)).toEqual([
      ['POST', `${DETAIL}/split`, { alert_uuids: [IDS.inboxRule], title: 'Inbox rule follow-up' }],
    ]);
  });

  it('moves the selected alerts into another open incident chosen by title', async () => {
    const user = userEvent.setup();
    const { calls } = renderApp(
      `/incidents/${IDS.incident}`,
      detailRoutes({ [`POST /v1/incidents/${IDS.other}/alerts`]: one(incidentDetail(other)) }),
    );
    await user.click(await screen.findByRole('checkbox', { name: /Select Mass download/ }));
    await user.click(screen.getByRole('checkbox', { name: /Select Brute force/ }));
    await user.click(screen.getByRole('button', { name: 'Move to another incident' }));
    const dialog = screen.getByRole('dialog', { name: 'Move to another incident' });
    // The incident itself is not a target.
    await within(dialog).findByRole('radio', { name: /Ransomware beachhead/ });
    expect(within(dialog).queryByRole('radio', { name: /Brute force then sign-in/ })).toBeNull();
    await user.type(within(dialog).getByLabelText('Search incidents by title'), 'Ransom');
    await waitFor(() =>
      expect(calls.some((c) => c.path.startsWith('/v1/incidents?') && c.path.includes('q=Ransom'))).toBe(true),
    );
    await user.click(within(dialog).getByRole('radio', { name: /Ransomware beachhead/ }));
    await user.click(within(dialog).getByRole('button', { name: 'Move 2 alerts' }));
    await screen.findByText(/Moved to/);
    expect(writes(calls)).toEqual([
      ['POST', `/v1/incidents/${IDS.other}/alerts`, { alert_uuids: [IDS.download, IDS.bruteForce] }],
    ]);
  });

  it('merges other incidents into this one', async () => {
    const user = userEvent.setup();
    const { calls } = renderApp(
      `/incidents/${IDS.incident}`,
      detailRoutes({ [`POST ${DETAIL}/merge`]: one(incidentDetail()) }),
    );
    await user.click(await screen.findByRole('button', { name: 'Merge incidents…' }));
    const dialog = screen.getByRole('dialog', { name: 'Merge incidents into this one' });
    await user.click(await within(dialog).findByRole('checkbox', { name: /Ransomware beachhead/ }));
    await user.click(within(dialog).getByRole('button', { name: 'Merge 1' }));
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(writes(calls)).toEqual([['POST', `${DETAIL}/merge`, { incident_uuids: [IDS.other] }]]);
  });

  it('changes status, hands severity back to the alerts, and closes only with a classification', async () => {
    const user = userEvent.setup();
    const { calls } = renderApp(
      `/incidents/${IDS.incident}`,
      detailRoutes({
        [`GET ${DETAIL}`]: one(incidentDetail({ severity: 'Low', severity_override: 'Low' })),
        [`PATCH ${DETAIL}`]: one(incidentDetail()),
      }),
    );
    await user.selectOptions(await screen.findByLabelText('Status'), 'Triaging');
    await user.selectOptions(screen.getByLabelText('Severity'), '');
    await user.selectOptions(screen.getByLabelText('Status'), 'Closed');
    const dialog = screen.getByRole('dialog', { name: 'Close incident' });
    const close = within(dialog).getByRole('button', { name: 'Close incident' }) as HTMLButtonElement;
    expect(close.disabled).toBe(true);
    await user.selectOptions(within(dialog).getByLabelText('Classification'), 'True Positive - Suspicious Activity');
    await user.click(close);
    await waitFor(() => expect(screen.queryByRole('dialog')).toBeNull());
    expect(writes(calls)).toEqual([
      ['PATCH', DETAIL, { status: 'Triaging' }],
      ['PATCH', DETAIL, { severity: null }],
      ['PATCH', DETAIL, { status: 'Closed', close_classification: 'True Positive - Suspicious Activity' }],
    ]);
  });

  it('lists findings and posts one', async () => {
    const user = userEvent.setup();
    const { calls } = renderApp(
      `/incidents/${IDS.incident}?tab=findings`,
      detailRoutes({ [`POST ${DETAIL}/findings`]: { status: 201, body: one(FINDING) } }),
    );
    await screen.findByText(/the attacker set up mail forwarding/);
    const post = screen.getByRole('button', { name: 'Post finding' }) as HTMLButtonElement;
    expect(post.disabled).toBe(true);
    await user.type(screen.getByLabelText('Author'), 'Ada (analyst)');
    await user.type(screen.getByLabelText('Summary'), 'Confirmed with the user: not them.');
    await user.selectOptions(screen.getByLabelText('Confidence'), 'high');
    await user.click(post);
    await waitFor(() => expect((screen.getByLabelText('Author') as HTMLInputElement).value).toBe(''));
    expect(writes(calls)).toEqual([
      [
        'POST',
        `${DETAIL}/findings`,
        {
          agent_name: 'Ada (analyst)',
          summary: 'Confirmed with the user: not them.',
          confidence: 'high',
          recommended_action: null,
        },
      ],
    ]);
  });

  it('shows the timeline with the alerts by title, and the shared entities with their verdicts', async () => {
    const user = userEvent.setup();
    renderApp(`/incidents/${IDS.incident}?tab=timeline`, detailRoutes());
    const timeline = await screen.findByRole('list', { name: 'Timeline, oldest first' });
    const items = within(timeline).getAllByRole('listitem');
    expect(items[0]?.textContent).toContain('opened');
    expect(items[0]?.textContent).toContain(`the sign-in shares ${IP}`);
    expect(within(items[1] as HTMLElement).getByRole('link').textContent).toBe(
      'New inbox rule forwards mail to an external address',
    );
    expect(items[2]?.textContent).toContain('merged');
    expect(
      within(items[2] as HTMLElement)
        .getByRole('link')
        .getAttribute('href'),
    ).toBe(`/incidents/${IDS.other}`);
    await user.click(screen.getByRole('tab', { name: 'Shared entities (2)' }));
    const table = screen.getByRole('table', { name: 'Shared entities' });
    const ip = within(table).getByRole('row', { name: new RegExp(IP.replaceAll('.', '\\.')) });
    expect(within(ip).getByText('Malicious')).toBeTruthy();
    expect(within(ip).getByRole('link').getAttribute('href')).toBe(`/indicators/${IDS.ip}`);
    expect(screen.getByRole('figure', { name: /Shared-entity graph/ })).toBeTruthy();
  });

  it('a reader sees the incident but is not offered what the server would refuse', async () => {
    const user = userEvent.setup();
    renderApp(`/incidents/${IDS.incident}`, detailRoutes(), {
      as: session({
        scopes: ['alerts:read'],
        user: { uuid: IDS.other, email: 'val@example.com', name: 'Val Viewer', roles: ['viewer'] },
      }),
    });
    const table = await screen.findByRole('table', { name: 'Member alerts' });
    expect(within(table).getAllByRole('row')).toHaveLength(5);
    expect(within(table).queryAllByRole('checkbox')).toHaveLength(0);
    for (const name of ['Close incident', 'Merge incidents…', 'Split into a new incident', 'Move in'])
      expect(screen.queryByRole('button', { name })).toBeNull();
    expect(screen.queryByRole('heading', { name: 'Triage' })).toBeNull();
    await user.click(screen.getByRole('tab', { name: 'Findings (1)' }));
    await screen.findByText(/the attacker set up mail forwarding/);
    expect(screen.queryByRole('button', { name: 'Post finding' })).toBeNull();
  });

  it('a missing incident says so and leads back to the list', async () => {
    renderApp(`/incidents/${IDS.incident}`, {
      'GET /health': health,
      [`GET ${DETAIL}`]: { status: 404, body: { error: { code: 'NOT_FOUND', message: 'No such incident.' } } },
    });
    expect((await screen.findByRole('link', { name: 'Back to incidents' })).getAttribute('href')).toBe('/incidents');
  });
});

describe('alert detail', () => {
  it('links the incident the alert belongs to', async () => {
    const alert = alertDetail({ uuid: IDS.signIn, title: 'Successful sign-in from a TOR exit node' });
    const { calls } = renderApp(`/alerts/${IDS.signIn}`, {
      'GET /health': health,
      [`GET /v1/alerts/${IDS.signIn}`]: one(alert),
      'GET /v1/incidents': page([incidentSummary()]),
    });
    const link = await screen.findByRole('link', { name: `Brute force then sign-in from ${IP}` });
    expect(link.getAttribute('href')).toBe(`/incidents/${IDS.incident}`);
    expect(calls.some((c) => c.path === `/v1/incidents?alert_uuid=${IDS.signIn}&page_size=1`)).toBe(true);
  });
});
