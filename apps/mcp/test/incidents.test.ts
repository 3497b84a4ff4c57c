/**
 * Incidents over MCP (issue 23): resources `calseta://incidents…` and the tools search_incidents,
 * get_incident, post_incident_finding and update_incident_status, each within the key's scopes.
 */
import { contextFor, correlateAlerts, SYSTEM } from '@calseta/core';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type McpKit, startMcpKit, text } from './kit.js';

let kit: McpKit;
let base: URL;
let incidentUuid: string;
let alertUuids: string[];

const sentinel = (title: string, at: string) => ({
  alertDisplayName: title,
  alertKind: 'SecurityAlert',
  severity: 'High',
  systemAlertId: crypto.randomUUID(),
  alertTime: at,
  relatedEntities: [
    { kind: 'Account', properties: { accountName: 'ivan.petrov', upnSuffix: 'contoso.com' } },
    { kind: 'Ip', properties: { address: '185.220.101.9' } },
  ],
});

beforeAll(async () => {
  kit = await startMcpKit();
  base = await kit.serve();
  const now = Date.now();
  const alerts = [
    await kit.ingest('sentinel', sentinel('Sign-in from a Tor exit node', new Date(now - 600_000).toISOString())),
    await kit.ingest('sentinel', sentinel('New inbox rule hides security mail', new Date(now - 300_000).toISOString())),
  ];
  alertUuids = alerts.map((a) => a.uuid);
  const { changes } = await correlateAlerts(
    contextFor(kit.deps, SYSTEM),
    alerts.map((a) => a.id),
  );
  incidentUuid = changes[0]?.incidentUuid as string;
}, 60_000);
afterAll(() => kit?.close());

async function readJson(client: Client, uri: string) {
  const [content] = (await client.readResource({ uri })).contents as { text: string }[];
  return JSON.parse(String(content?.text));
}

describe('incidents over MCP', () => {
  it('reads the incident resources', async () => {
    const client = await kit.connect(base, (await kit.key(['alerts:read'])).key);
    const list = await readJson(client, 'calseta://incidents');
    expect(list.incidents.map((i: { uuid: string }) => i.uuid)).toEqual([incidentUuid]);
    const incident = await readJson(client, `calseta://incidents/${incidentUuid}`);
    expect(incident.alerts.map((a: { uuid: string }) => a.uuid).sort()).toEqual([...alertUuids].sort());
    expect(incident.alerts[0].membership.reason.summary).toContain('ivan.petrov@contoso.com');
    const timeline = await readJson(client, `calseta://incidents/${incidentUuid}/timeline`);
    expect(timeline.events[0].event_type).toBe('incident_opened');
    const listed = (await client.listResources()).resources.map((r) => r.uri);
    expect(listed).toContain(`calseta://incidents/${incidentUuid}`);
  });

  it('searches, reads, posts a finding and updates the status', async () => {
    const client = await kit.connect(base, (await kit.key(['alerts:read', 'alerts:write'])).key);
    const call = async (name: string, args: Record<string, unknown>) => {
      const result = await client.callTool({ name, arguments: args });
      expect(result.isError, `${name}: ${text(result)}`).toBeFalsy();
      return result.structuredContent as Record<string, any>;
    };
    const found = await call('search_incidents', { alert_uuid: alertUuids[0], status: 'Open' });
    expect(found.incidents.map((i: { uuid: string }) => i.uuid)).toEqual([incidentUuid]);
    expect(found.total).toBe(1);
    const incident = await call('get_incident', { incident_uuid: incidentUuid });
    expect(incident).toMatchObject({ uuid: incidentUuid, alert_count: 2, severity: 'High' });
    const finding = await call('post_incident_finding', {
      incident_uuid: incidentUuid,
      summary: 'Account takeover via Tor, then persistence through an inbox rule.',
      confidence: 'high',
    });
    expect(finding.incident_uuid).toBe(incidentUuid);
    const updated = await call('update_incident_status', {
      incident_uuid: incidentUuid,
      status: 'Closed',
      close_classification: 'True Positive - Suspicious Activity',
    });
    expect(updated.status).toBe('Closed');
    const refused = await client.callTool({
      name: 'update_incident_status',
      arguments: { incident_uuid: incidentUuid, status: 'Closed' },
    });
    expect(refused.isError).toBe(true);
    expect(text(refused)).toContain('close_classification');
  });

  it('refuses what the key’s scopes do not grant', async () => {
    const reader = await kit.connect(base, (await kit.key(['alerts:read'])).key);
    const write = await reader.callTool({
      name: 'post_incident_finding',
      arguments: { incident_uuid: incidentUuid, summary: 'x', confidence: 'low' },
    });
    expect(write.isError).toBe(true);
    expect(text(write)).toMatch(/FORBIDDEN/);
    const agentOnly = await kit.connect(base, (await kit.key(['agents:read'])).key);
    await expect(agentOnly.readResource({ uri: `calseta://incidents/${incidentUuid}` })).rejects.toThrow(/FORBIDDEN/);
    const search = await agentOnly.callTool({ name: 'search_incidents', arguments: {} });
    expect(search.isError).toBe(true);
  });
});
