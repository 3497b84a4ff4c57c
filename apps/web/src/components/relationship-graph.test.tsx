import type { RelationshipGraph } from '@calseta/schema';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router';
import { describe, expect, it } from 'vitest';
import { RelationshipGraphView } from './relationship-graph.js';

const T = '2026-11-20T10:00:00.000Z';
const node = (uuid: string, title: string) => ({
  uuid,
  title,
  severity: 'High' as const,
  status: 'Open' as const,
  source_name: 'elastic',
  occurred_at: T,
  tags: [],
});
const graph: RelationshipGraph = {
  alert: node('00000000-0000-7000-8000-000000000001', 'This alert'),
  indicators: [
    {
      uuid: '00000000-0000-7000-8000-0000000000a1',
      type: 'ip',
      value: '185.220.101.34',
      malice: 'Malicious',
      first_seen: T,
      last_seen: T,
      is_enriched: true,
      enrichment_summary: { abuseipdb: 'Malicious' },
      total_alert_count: 1,
      sibling_alerts: [node('00000000-0000-7000-8000-000000000002', 'Earlier alert')],
    },
  ],
};

describe('RelationshipGraphView', () => {
  it('nodes are keyboard links to the indicator and to sibling alerts', async () => {
    const user = userEvent.setup();
    render(
      <MemoryRouter initialEntries={['/alerts/1']}>
        <Routes>
          <Route path="/alerts/1" element={<RelationshipGraphView graph={graph} />} />
          <Route path="/indicators/:uuid" element={<p>indicator page</p>} />
        </Routes>
      </MemoryRouter>,
    );
    expect(screen.getByRole('button', { name: 'Alert Earlier alert' })).toBeTruthy();
    screen.getByRole('button', { name: 'Indicator ip 185.220.101.34, Malicious' }).focus();
    await user.keyboard('{Enter}');
    expect(screen.getByText('indicator page')).toBeTruthy();
  });
});
