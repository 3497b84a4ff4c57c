import { type CorrelationConfig, type CorrelationDryRunResult, INCIDENT_ENTITY_TYPES } from '@calseta/schema';
import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { IDS, MEMBERS } from '../test/incidents.js';
import { type Call, one, page, renderApp, session } from '../test/render.js';

const STORED: CorrelationConfig = {
  enabled: true,
  window_minutes: 1440,
  entity_types: [...INCIDENT_ENTITY_TYPES],
  min_shared_entities: 1,
  prevalence_cap: 20,
  excluded_values: [],
  excluded_cidrs: ['10.0.0.0/8'],
  ignore_private_ips: true,
  rule_entity: true,
  source_grouping: true,
};
const RESULT: CorrelationDryRunResult = {
  config: STORED,
  alerts_considered: 7,
  truncated: false,
  ungrouped_count: 1,
  groups: [
    {
      title: 'Password spray against multiple accounts — account alice.nguyen@contoso.com',
      severity: 'High',
      alert_count: 4,
      alerts: MEMBERS.map((m) => ({
        uuid: m.uuid,
        title: m.title,
        occurred_at: m.occurred_at,
        reason: m.membership.reason,
      })),
    },
  ],
};
const routes = {
  'GET /health': { status: 'ok' },
  'GET /v1/incidents': page([]),
  'GET /v1/incidents/correlation/config': one(STORED),
  'POST /v1/incidents/correlation/dry-run': one(RESULT),
  'PUT /v1/incidents/correlation/config': one(STORED),
};
const posted = (calls: Call[], method: string) => calls.filter((c) => c.method === method).map((c) => c.body);

describe('correlation rules and dry run', () => {
  it('an admin tries edited rules on a time range, sees what would group and why, then saves them', async () => {
    const user = userEvent.setup();
    const { calls } = renderApp('/incidents', routes);
    await user.click(await screen.findByText('Correlation rules and dry run'));
    const windowField = await screen.findByLabelText('Window (minutes)');
    await user.clear(windowField);
    await user.type(windowField, '120');
    await user.click(screen.getByRole('checkbox', { name: 'ip' }));
    await user.click(screen.getByRole('button', { name: 'Dry run with these rules' }));
    const result = await screen.findByRole('region', { name: 'Dry run result' });
    expect(within(result).getByRole('status').textContent).toBe(
      '7 alerts considered: 1 incident would form, 1 alert would stay alone.',
    );
    const group = within(result).getByRole('list', { name: /^Would join Password spray/ });
    expect(within(group).getAllByRole('listitem')).toHaveLength(4);
    expect(within(result).getByText('4 alerts')).toBeTruthy();
    expect(within(group).getByText('Grouped by the source')).toBeTruthy();
    // The alert each matched is named by its title.
    expect(
      within(group).getAllByRole('link', { name: 'Successful sign-in from a TOR exit node' }).length,
    ).toBeGreaterThan(1);
    const [dry] = posted(calls, 'POST') as Array<{ from_time: string; to_time: string; config: CorrelationConfig }>;
    expect(dry?.config).toEqual({
      ...STORED,
      window_minutes: 120,
      entity_types: INCIDENT_ENTITY_TYPES.filter((t) => t !== 'ip'),
    });
    expect(Date.parse(dry?.to_time ?? '') - Date.parse(dry?.from_time ?? '')).toBe(86_400_000);

    await user.click(screen.getByRole('button', { name: 'Save rules' }));
    await screen.findByText('Rules saved.');
    expect(posted(calls, 'PUT')).toEqual([dry?.config]);
  });

  it('someone who is not an admin dry-runs the stored rules without reading them', async () => {
    const user = userEvent.setup();
    const { calls } = renderApp('/incidents', routes, {
      as: session({
        scopes: ['alerts:read'],
        user: { uuid: IDS.other, email: 'val@example.com', name: 'Val Viewer', roles: ['viewer'] },
      }),
    });
    await user.click(await screen.findByText('Correlation rules and dry run'));
    await user.click(await screen.findByRole('button', { name: 'Dry run' }));
    await screen.findByRole('region', { name: 'Dry run result' });
    expect(screen.queryByLabelText('Window (minutes)')).toBeNull();
    expect(calls.some((c) => c.path.startsWith('/v1/incidents/correlation/config'))).toBe(false);
    const [dry] = posted(calls, 'POST') as Array<Record<string, unknown>>;
    expect(dry && 'config' in dry).toBe(false);
  });

  it('the rules are fetched only when someone opens them', async () => {
    const { calls } = renderApp('/incidents', routes);
    await screen.findByText('Correlation rules and dry run');
    await waitFor(() => expect(calls.some((c) => c.path.startsWith('/v1/incidents?'))).toBe(true));
    expect(calls.some((c) => c.path.startsWith('/v1/incidents/correlation'))).toBe(false);
  });
});
