/**
 * Incidents (issue 23), adversarial review: correlation on vendor-shaped payloads where the obvious
 * grouping is wrong. Real API, real source plugins, real Postgres.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createHarness, type Harness } from './harness.js';
import { correlate, incidentOf, ingest } from './incidents-scenarios.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
}, 60_000);
afterAll(() => h?.close());

/** The Logic App "Microsoft Sentinel incident" trigger body (SEKOIA-IO intake-formats sample, in the corpus). */
const sentinelIncident = JSON.parse(
  readFileSync(
    new URL('../../../packages/integrations/corpus/sentinel/incident_trigger_bec_aitm.json', import.meta.url),
    'utf8',
  ),
);

/** The sample as raised in another workspace (`subscription`/`workspace`), with its own GUID and entities. */
function incidentIn(input: { subscription: string; workspace: string; guid: string; ip: string; upn: string }) {
  const body = structuredClone(sentinelIncident);
  const arm = `/subscriptions/${input.subscription}/resourceGroups/rg-siem/providers/Microsoft.OperationalInsights/workspaces/${input.workspace}`;
  body.eventUniqueId = input.guid;
  body.workspaceInfo = {
    SubscriptionId: input.subscription,
    ResourceGroupName: 'rg-siem',
    WorkspaceName: input.workspace,
  };
  body.object.id = `${arm}/providers/Microsoft.SecurityInsights/Incidents/${input.guid}`;
  body.object.name = input.guid;
  body.object.properties.incidentUrl = `https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident${body.object.id}`;
  body.object.properties.relatedEntities = [
    { kind: 'Account', properties: { accountName: input.upn, friendlyName: input.upn } },
    { kind: 'Ip', properties: { address: input.ip, friendlyName: input.ip } },
  ];
  return body;
}

describe('source grouping', () => {
  test('Sentinel incident numbers are per workspace: the same number in two workspaces does not merge', async () => {
    // An MSSP relays two customers' workspaces; each numbers its incidents from 1, so 12372 exists in both.
    const contoso = await ingest(
      h,
      'sentinel',
      incidentIn({
        subscription: '11111111-1111-4111-8111-111111111111',
        workspace: 'contoso-sentinel',
        guid: '0bdf7ce3-1111-4000-8000-e5878383de46',
        ip: '198.51.100.20',
        upn: 'user1@contoso.com',
      }),
    );
    const fabrikam = await ingest(
      h,
      'sentinel',
      incidentIn({
        subscription: '22222222-2222-4222-8222-222222222222',
        workspace: 'fabrikam-sentinel',
        guid: '7a1c93e0-2222-4000-8000-0c2b9f6d1a77',
        ip: '203.0.113.200',
        upn: 'user9@fabrikam.com',
      }),
    );
    await correlate(h, [contoso]);
    expect((await correlate(h, [fabrikam])).changes).toEqual([]);
    expect([...(await incidentOf(h, [contoso, fabrikam])).values()]).toEqual([null, null]);

    // The same incident of one workspace, sent again as it grows (an update), still groups.
    const update = await ingest(h, 'sentinel', {
      ...incidentIn({
        subscription: '11111111-1111-4111-8111-111111111111',
        workspace: 'contoso-sentinel',
        guid: '0bdf7ce3-1111-4000-8000-e5878383de46',
        ip: '192.0.2.77',
        upn: 'user2@contoso.com',
      }),
      eventUniqueId: '0bdf7ce3-1111-4000-8000-000000000002',
      objectEventType: 'Update',
    });
    const grouped = await correlate(h, [update]);
    expect(grouped.changes).toHaveLength(1);
    expect(new Set(grouped.changes[0]?.alertIds)).toEqual(new Set([contoso.id, update.id]));
  });
});
