/**
 * Incidents (issue 23), adversarial review: correlation on vendor-shaped payloads where the obvious
 * grouping is wrong. Real API, real source plugins, real Postgres.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createHarness, type Harness } from './harness.js';
import { correlate, genericAlert, incidentOf, ingest, ingestAll, splunkAlert } from './incidents-scenarios.js';

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

describe('source grouping: Splunk', () => {
  test("a saved search's `event_id` (a Windows event code) is no ES notable id: it groups nothing", async () => {
    // Saved searches over Windows logs commonly carry the event code as `event_id` (4625 = failed logon).
    const [spray, lockout] = await ingestAll(h, 'splunk', [
      splunkAlert({
        search: 'Brute force against a workstation',
        result: { event_id: '4625', dest: 'fin-ws-031', src_ip: '45.155.205.233', user: 'kim', count: '57' },
      }),
      splunkAlert({
        search: 'Failed logons to a service account',
        result: { event_id: '4625', dest: 'sql-prod-02', src_ip: '91.240.118.172', user: 'svc_sql', count: '12' },
      }),
    ]);
    if (!spray || !lockout) throw new Error('ingest');
    await correlate(h, [spray]);
    expect((await correlate(h, [lockout])).changes).toEqual([]);

    // An ES notable's own event_id (`<guid>@@notable@@<hash>`) is still its group key.
    const notableId = '5F0A3C1E-7B2D-4E8F-9A61-2C3D4E5F6A7B@@notable@@9b2f0e6d4c8a1b3e5f7d9c0a2b4e6f8d';
    const notable = await ingest(
      h,
      'splunk',
      splunkAlert({
        search: 'Access - Brute Force - Rule',
        result: { event_id: notableId, dest: 'web-01', urgency: 'high' },
      }),
    );
    await correlate(h, [notable]);
    const groupKeys = async (alertId: number) =>
      (
        await h.query<{ n: string }>(
          "SELECT count(*) AS n FROM incident_correlation_keys WHERE alert_id = $1 AND key LIKE 'g:%'",
          [alertId],
        )
      )[0]?.n;
    expect(await groupKeys(notable.id)).toBe('1');
    expect(await groupKeys(spray.id)).toBe('0');
  });
});

describe('concurrency', () => {
  test('a lone alert another writer places meanwhile: the new alert follows it, no one-alert incident', async () => {
    // P is alone; X shares P's public IP. While X correlates, another writer (a second worker's
    // correlation, or an analyst's move) puts P into incident J and commits a moment later.
    const [p, x] = await ingestAll(h, 'generic', [
      genericAlert({
        title: 'Sign-in from Tor',
        severity: 'Medium',
        src_ip: '185.220.101.9',
        user: 'gina@contoso.com',
      }),
      genericAlert({ title: 'Mass download', severity: 'High', src_ip: '185.220.101.9' }),
    ]);
    if (!p || !x) throw new Error('ingest');
    await correlate(h, [p]);
    let release = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    let placed = () => {};
    const inserted = new Promise<void>((resolve) => {
      placed = resolve;
    });
    const writer = h.deps.db.transaction().execute(async (trx) => {
      const j = await trx
        .insertInto('incidents')
        .values({ uuid: crypto.randomUUID(), title: 'Analyst case' })
        .returning('uuid')
        .executeTakeFirstOrThrow();
      await trx
        .insertInto('incident_alerts')
        .values({
          incident_id: trx.selectFrom('incidents').select('id').where('uuid', '=', j.uuid),
          alert_id: p.id,
          pinned: true,
          added_by: 'analyst',
          reason: JSON.stringify({
            rule: 'analyst',
            entities: [],
            matched_alert_uuid: null,
            detection_rule_uuid: null,
            source_group: null,
            action: 'move',
            summary: 'Moved by an analyst.',
          }),
        })
        .execute();
      placed();
      await held;
      return j.uuid;
    });
    await inserted;
    const correlating = correlate(h, [x]);
    // X's correlation reaches P's membership row the writer holds, then waits for it.
    await waitForLockWait();
    release();
    const [incidentJ, result] = await Promise.all([writer, correlating]);
    const where = await incidentOf(h, [p, x]);
    expect(where.get(p.uuid)).toBe(incidentJ);
    expect(where.get(x.uuid)).toBe(incidentJ);
    expect(result.changes).toEqual([
      expect.objectContaining({ incidentUuid: incidentJ, opened: false, alertIds: [x.id] }),
    ]);
    const singles = await h.query<{ n: string }>(
      "SELECT count(*) AS n FROM incidents WHERE alert_count < 2 AND status <> 'Closed' AND title <> 'Analyst case'",
    );
    expect(Number(singles[0]?.n)).toBe(0);
  });
});

/** Resolves once some backend waits on a row or transaction lock (the correlation behind the writer). */
async function waitForLockWait(): Promise<void> {
  for (;;) {
    const rows = await h.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
    );
    if (Number(rows[0]?.n) > 0) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
}
