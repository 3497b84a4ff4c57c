import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter, Route, Routes } from 'react-router';
import { describe, expect, it } from 'vitest';
import { ACCOUNT, IDS, IP, incidentDetail, MEMBERS } from '../test/incidents.js';
import { GRAPH_MAX_ALERTS, IncidentGraphView, incidentGraph } from './incident-graph.js';

const key = (a: string, e: string) => `${a}|${e}`;
const edgeSet = (edges: Array<[string, string]>) => new Set(edges.map(([a, e]) => key(a, e)));

describe('incidentGraph', () => {
  it('from the reasons alone: the alert that joined and the alert it matched to what they shared, the SIEM group to its members', () => {
    const detail = incidentDetail();
    const model = incidentGraph({
      ...detail,
      shared_entities: detail.shared_entities.map((e) => ({ ...e, alert_uuids: [] })),
    });
    expect(edgeSet(model.edges)).toEqual(
      new Set([
        key(IDS.bruteForce, `ip:${IP}`),
        key(IDS.signIn, `ip:${IP}`),
        key(IDS.inboxRule, `account:${ACCOUNT}`),
        key(IDS.signIn, `account:${ACCOUNT}`),
        key(IDS.download, 'group:sentinel:IncidentNumber:4711'),
        key(IDS.signIn, 'group:sentinel:IncidentNumber:4711'),
      ]),
    );
    // Oldest alert at the top; the group is a node of its own that leads nowhere.
    expect(model.alerts.map((a) => a.uuid)).toEqual([IDS.bruteForce, IDS.signIn, IDS.inboxRule, IDS.download]);
    expect(model.entities.find((e) => e.key.startsWith('group:'))?.to).toBeNull();
    expect(model.hidden).toEqual({ alerts: 0, entities: 0 });
  });

  it('draws what a reason names that is no indicator (a host) as a node of its own', () => {
    const [first, second] = MEMBERS;
    if (!first || !second) throw new Error('fixture');
    const host = (m: typeof first, matched: string | null) => ({
      ...m,
      membership: {
        ...m.membership,
        reason: {
          ...m.membership.reason,
          rule: 'shared_entity' as const,
          entities: [{ type: 'host' as const, value: 'fin-ws-042' }],
          source_group: null,
          matched_alert_uuid: matched,
        },
      },
    });
    const model = incidentGraph(
      incidentDetail({ alerts: [host(first, second.uuid), host(second, first.uuid)], shared_entities: [] }),
    );
    expect(model.entities).toEqual([expect.objectContaining({ key: 'host:fin-ws-042', to: null })]);
    expect(edgeSet(model.edges)).toEqual(
      new Set([key(first.uuid, 'host:fin-ws-042'), key(second.uuid, 'host:fin-ws-042')]),
    );
  });

  it('uses the members the API lists per entity, and ignores alerts that are not members', () => {
    const detail = incidentDetail();
    const shared = detail.shared_entities.map((e) =>
      e.type === 'account' ? { ...e, alert_uuids: [IDS.download, '00000000-0000-7000-8000-0000000a0999'] } : e,
    );
    const edges = edgeSet(incidentGraph({ ...detail, shared_entities: shared }).edges);
    expect(edges.has(key(IDS.download, `account:${ACCOUNT}`))).toBe(true);
    expect([...edges].some((e) => e.includes('0000000a0999'))).toBe(false);
  });

  it('a misfiring-rule storm draws the best-connected alerts up to the cap and says how many it left out', () => {
    const template = MEMBERS[2];
    if (!template) throw new Error('fixture');
    const storm = Array.from({ length: 300 }, (_, i) => ({
      ...template,
      uuid: `00000000-0000-7000-8000-${String(0xa1000 + i).padStart(12, '0')}`,
      occurred_at: new Date(Date.UTC(2026, 10, 20, 10, 0, i)).toISOString(),
    }));
    const model = incidentGraph(incidentDetail({ alerts: storm, alert_count: 300 }));
    expect(model.alerts).toHaveLength(GRAPH_MAX_ALERTS);
    expect(model.hidden.alerts).toBe(300 - GRAPH_MAX_ALERTS);
    expect(model.edges.length).toBeGreaterThanOrEqual(GRAPH_MAX_ALERTS);
  });
});

describe('IncidentGraphView', () => {
  it('nodes are keyboard links to the alert and to the indicator; alert content stays text', async () => {
    const user = userEvent.setup();
    const hostile = '<img src=x onerror=alert(1)>'.repeat(5);
    const alerts = MEMBERS.map((m) => (m.uuid === IDS.inboxRule ? { ...m, title: hostile } : m));
    render(
      <MemoryRouter initialEntries={['/incidents/1']}>
        <Routes>
          <Route path="/incidents/1" element={<IncidentGraphView incident={incidentDetail({ alerts })} />} />
          <Route path="/indicators/:uuid" element={<p>indicator page</p>} />
          <Route path="/alerts/:uuid" element={<p>alert page</p>} />
        </Routes>
      </MemoryRouter>,
    );
    expect(screen.getByRole('figure', { name: /Shared-entity graph/ })).toBeTruthy();
    expect(document.querySelector('img[src="x"]')).toBeNull();
    expect(screen.getByRole('button', { name: `Alert ${hostile} (High, Open)` })).toBeTruthy();
    // The group leads nowhere: an image with its explanation, not a button.
    expect(screen.getByRole('img', { name: /sentinel grouped these alerts \(IncidentNumber = 4711\)/ })).toBeTruthy();
    screen.getByRole('button', { name: new RegExp(`^ip: ${IP.replaceAll('.', '\\.')} — Malicious`) }).focus();
    await user.keyboard('{Enter}');
    expect(screen.getByText('indicator page')).toBeTruthy();
  });

  it('says so when the members share nothing', () => {
    const alerts = MEMBERS.map((m) => ({
      ...m,
      membership: { ...m.membership, reason: { ...m.membership.reason, entities: [], source_group: null } },
    }));
    render(
      <MemoryRouter>
        <IncidentGraphView incident={incidentDetail({ alerts, shared_entities: [] })} />
      </MemoryRouter>,
    );
    expect(screen.getByText('The members share no entity.')).toBeTruthy();
  });
});
