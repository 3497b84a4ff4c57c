/**
 * Incidents (issue 23): correlation scenarios on a real API, real source plugins and a real Postgres.
 * Each scenario uses its own entities, so they share one database without touching each other.
 */
import { correlateAlerts } from '@calseta/core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createHarness, type Harness } from './harness.js';
import {
  account,
  correlate,
  elasticAlert,
  genericAlert,
  incidentOf,
  ingest,
  ingestAll,
  ip,
  mailbox,
  minutesAgo,
  type Stored,
  sentinelAlert,
  splunkAlert,
  system,
  url,
} from './incidents-scenarios.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
}, 60_000);
afterAll(() => h?.close());

const detail = async (uuid: string) => {
  const response = await h.request('GET', `/v1/incidents/${uuid}`);
  expect(response.status).toBe(200);
  return response.body.data;
};

describe('correlation scenarios', () => {
  let chain: Stored[];

  test('identity compromise chain: brute force → sign-in from the same IP → mailbox rule → file download', async () => {
    const attacker = '185.220.101.47'; // a Tor exit: public, routable
    chain = await ingestAll(h, 'sentinel', [
      sentinelAlert({
        title: 'Password spray against multiple accounts',
        severity: 'Medium',
        at: minutesAgo(90),
        entities: [account('alice.nguyen', 'contoso.com'), ip(attacker)],
      }),
      sentinelAlert({
        title: 'Sign-in from an anonymous IP address',
        severity: 'Medium',
        at: minutesAgo(75),
        entities: [account('alice.nguyen', 'contoso.com'), ip(attacker)],
      }),
      sentinelAlert({
        title: 'Suspicious inbox forwarding rule created',
        severity: 'High',
        at: minutesAgo(60),
        entities: [account('alice.nguyen', 'contoso.com'), mailbox('alice.nguyen@contoso.com')],
      }),
      sentinelAlert({
        title: 'Mass download of SharePoint files',
        severity: 'High',
        at: minutesAgo(40),
        entities: [
          account('alice.nguyen', 'contoso.com'),
          ip(attacker),
          url('https://contoso.sharepoint.com/sites/Finance/Shared%20Documents/payroll-2026.xlsx'),
        ],
      }),
    ]);
    // The pipeline correlates each alert after its enrichment commits: one call per alert here.
    const results = [];
    for (const alert of chain) results.push(await correlate(h, [alert]));
    expect(results[0]?.changes).toEqual([]); // the first alert relates to nothing yet
    expect(results[1]?.changes).toEqual([
      expect.objectContaining({ opened: true, alertIds: [chain[1]?.id, chain[0]?.id] }),
    ]);
    expect(results[2]?.changes).toEqual([expect.objectContaining({ opened: false, alertIds: [chain[2]?.id] })]);

    const placed = await incidentOf(h, chain);
    const incidents = new Set(placed.values());
    expect(incidents.size).toBe(1);
    const uuid = [...incidents][0] as string;
    const incident = await detail(uuid);
    expect(incident).toMatchObject({ alert_count: 4, severity: 'High', status: 'Open' });
    expect(incident.title).toContain('Password spray against multiple accounts');
    // Each membership says why: the rule, the shared values and the earlier alert it matched.
    const byUuid = new Map(incident.alerts.map((a: any) => [a.uuid, a.membership]));
    const mailboxRule = byUuid.get(chain[2]?.uuid) as any;
    expect(mailboxRule.reason).toMatchObject({
      rule: 'shared_entity',
      entities: expect.arrayContaining([{ type: 'account', value: 'alice.nguyen@contoso.com' }]),
    });
    expect(chain.map((a) => a.uuid)).toContain(mailboxRule.reason.matched_alert_uuid);
    const download = byUuid.get(chain[3]?.uuid) as any;
    expect(download.reason.entities).toEqual(
      expect.arrayContaining([
        { type: 'account', value: 'alice.nguyen@contoso.com' },
        { type: 'ip', value: attacker },
      ]),
    );
    expect(incident.shared_entities).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'account', value: 'alice.nguyen@contoso.com', alert_count: 4 }),
        expect.objectContaining({ type: 'ip', value: attacker, alert_count: 3 }),
      ]),
    );
    // The graph's edges: which members carry each shared entity.
    const ipEntity = incident.shared_entities.find((e: any) => e.type === 'ip');
    expect(ipEntity.alert_uuids).toEqual([chain[0]?.uuid, chain[1]?.uuid, chain[3]?.uuid]);
    expect(incident.metrics.time_to_detect_seconds).toBeGreaterThan(0);

    const timeline = await h.request('GET', `/v1/incidents/${uuid}/timeline`);
    expect(timeline.body.data.map((e: any) => e.event_type)).toEqual([
      'incident_opened',
      'incident_alert_added',
      'incident_alert_added',
      'incident_alert_added',
      'incident_alert_added',
    ]);

    // Idempotent: correlating the same alerts again (a job run twice) changes nothing.
    expect((await correlate(h, chain)).changes).toEqual([]);
    expect((await detail(uuid)).alert_count).toBe(4);
  });

  test('ransomware beachhead: the same host and hash across Elastic endpoint alerts', async () => {
    const sha256 = 'ed01ebfbc9eb5bbea545af4d01bf5f1071661840480439c6e5babe8e080e41aa'; // WannaCry
    const host = 'fin-ws-042';
    const alerts = await ingestAll(h, 'elastic', [
      elasticAlert({ rule: 'Malware Detection Alert', severity: 'high', at: minutesAgo(30), host, sha256 }),
      elasticAlert({
        rule: 'Volume Shadow Copy Deletion via VssAdmin',
        severity: 'high',
        at: minutesAgo(29),
        host,
        extra: { 'process.name': 'vssadmin.exe', 'process.command_line': 'vssadmin.exe delete shadows /all /quiet' },
      }),
      elasticAlert({ rule: 'Ransomware Detection Alert', severity: 'critical', at: minutesAgo(28), host, sha256 }),
    ]);
    const result = await correlate(h, alerts); // one batch: later alerts see earlier ones
    expect(result.changes).toHaveLength(1);
    expect(result.changes[0]).toMatchObject({ opened: true });
    expect(new Set(result.changes[0]?.alertIds)).toEqual(new Set(alerts.map((a) => a.id)));
    const incident = await detail(result.changes[0]?.incidentUuid as string);
    expect(incident).toMatchObject({ alert_count: 3, severity: 'Critical' });
    const shadow = incident.alerts.find((a: any) => a.uuid === alerts[1]?.uuid);
    expect(shadow.membership.reason.entities).toEqual([{ type: 'host', value: host }]);
    const ransom = incident.alerts.find((a: any) => a.uuid === alerts[2]?.uuid);
    expect(ransom.membership.reason.entities).toEqual(
      expect.arrayContaining([
        { type: 'host', value: host },
        { type: 'hash_sha256', value: sha256 },
      ]),
    );
  });

  test('a misfiring rule storm: 300 alerts of one rule on one host → one incident', async () => {
    const payloads = Array.from({ length: 300 }, (_, i) =>
      splunkAlert({
        search: 'Network - Port Scan Detected - Rule',
        result: {
          src_dns: 'backup01.corp.example.com',
          user: 'svc_backup',
          // Each alert names another destination, so none is a duplicate of another.
          dest_ip: `34.${96 + Math.floor(i / 250)}.${i % 250}.${(i * 7) % 250}`,
          dest_port: '445',
          count: String(1000 + i),
          _time: String(Math.floor(Date.now() / 1000) - 3600 + i),
        },
      }),
    );
    const alerts = await ingestAll(h, 'splunk', payloads);
    // Batches of 50, as enrichment commits them.
    const opened: string[] = [];
    for (let i = 0; i < alerts.length; i += 50) {
      const result = await correlate(h, alerts.slice(i, i + 50));
      opened.push(...result.changes.filter((c) => c.opened).map((c) => c.incidentUuid));
    }
    expect(opened).toHaveLength(1);
    const placed = await incidentOf(h, alerts);
    expect(new Set(placed.values())).toEqual(new Set(opened));
    const incident = await detail(opened[0] as string);
    expect(incident.alert_count).toBe(300);
    // Past the prevalence cap the host alone no longer counts; the rule on the host still does.
    const last = incident.alerts.find((a: any) => a.uuid === alerts[299]?.uuid);
    expect(last.membership.reason.rule).toBe('rule_entity');
    expect(last.membership.reason.detection_rule_uuid).toEqual(expect.any(String));
  }, 120_000);

  test('unrelated noise does not merge, with itself or with the attacks', async () => {
    const noise = await ingestAll(h, 'generic', [
      genericAlert({ title: 'Impossible travel', severity: 'Low', src_ip: '81.2.69.142', user: 'bob@contoso.com' }),
      genericAlert({ title: 'Rare process', severity: 'Low', hostname: 'eng-ws-007', user: 'carol@contoso.com' }),
      genericAlert({ title: 'DNS to newly registered domain', severity: 'Medium', domain: 'kqzv-login.top' }),
      genericAlert({ title: 'USB mass storage', severity: 'Low', hostname: 'hr-ws-011', user: 'dan@contoso.com' }),
      genericAlert({ title: 'Failed MFA', severity: 'Low', src_ip: '92.40.12.9', user: 'erin@contoso.com' }),
      // Private addresses are never evidence by themselves: two alerts on 10.0.0.5 stay apart.
      genericAlert({ title: 'SMB signing disabled', severity: 'Low', src_ip: '10.0.0.5' }),
      genericAlert({ title: 'LLMNR poisoning', severity: 'Low', src_ip: '10.0.0.5' }),
    ]);
    const result = await correlate(h, noise);
    expect(result.changes).toEqual([]);
    expect([...(await incidentOf(h, noise)).values()]).toEqual(noise.map(() => null));
  });

  test('a shared proxy IP on many alerts does not merge them (prevalence cap)', async () => {
    const proxy = '52.95.110.1'; // the egress proxy every user's traffic leaves by
    const users = Array.from({ length: 30 }, (_, i) => `user${i}@contoso.com`);
    const noise = await ingestAll(
      h,
      'generic',
      users.map((user, i) =>
        genericAlert({
          title: ['Impossible travel', 'Unfamiliar sign-in properties', 'Anomalous token', 'Atypical travel'][i % 4],
          severity: 'Low',
          rule_id: `rule-${i % 4}-${i}`,
          src_ip: proxy,
          user,
          hostname: `ws-${String(i).padStart(3, '0')}`,
        }),
      ),
    );
    // The attack also leaves through the proxy; its own entities tie it together.
    const attack = await ingestAll(h, 'generic', [
      genericAlert({
        title: 'OAuth consent to unverified app',
        severity: 'Medium',
        src_ip: proxy,
        user: 'frank@contoso.com',
      }),
      genericAlert({
        title: 'Mailbox exported via eDiscovery',
        severity: 'High',
        src_ip: proxy,
        user: 'frank@contoso.com',
      }),
    ]);
    const result = await correlate(h, [...noise, ...attack]);
    expect(result.changes).toHaveLength(1);
    expect(new Set(result.changes[0]?.alertIds)).toEqual(new Set(attack.map((a) => a.id)));
    const incident = await detail(result.changes[0]?.incidentUuid as string);
    const reason = incident.alerts.find((a: any) => a.uuid === attack[1]?.uuid).membership.reason;
    expect(reason.entities).toEqual([{ type: 'account', value: 'frank@contoso.com' }]);
  });

  test('source grouping: Sentinel incident number and Elastic alert group correlate without shared entities', async () => {
    const sentinel = await ingestAll(h, 'sentinel', [
      sentinelAlert({
        title: 'Suspicious PowerShell download cradle',
        severity: 'Medium',
        at: minutesAgo(20),
        entities: [ip('45.33.32.156')],
        incidentNumber: '4711',
      }),
      sentinelAlert({
        title: 'New service installed on domain controller',
        severity: 'High',
        at: minutesAgo(19),
        entities: [account('svc_deploy', 'contoso.com')],
        incidentNumber: '4711',
      }),
    ]);
    const elastic = await ingestAll(h, 'elastic', [
      elasticAlert({
        rule: 'Sequence: Office spawns script',
        severity: 'medium',
        at: minutesAgo(10),
        host: 'mkt-ws-1',
        user: 'gina',
        groupId: 'a1b2c3d4e5f6',
      }),
      elasticAlert({
        rule: 'Sequence: Office spawns script',
        severity: 'medium',
        at: minutesAgo(10),
        host: 'mkt-ws-2',
        user: 'hank',
        groupId: 'a1b2c3d4e5f6',
      }),
    ]);
    const result = await correlate(h, [...sentinel, ...elastic]);
    expect(result.changes).toHaveLength(2);
    const incident = await detail(
      result.changes.find((c) => c.alertIds.includes(sentinel[0]?.id as number))?.incidentUuid as string,
    );
    expect(incident.alert_count).toBe(2);
    expect(incident.alerts[0].membership.reason).toMatchObject({
      rule: 'source_group',
      source_group: { source_name: 'sentinel', field: 'sentinel_incident_number', value: '4711' },
    });
    const group = result.changes.find((c) => c.alertIds.includes(elastic[0]?.id as number));
    expect(new Set(group?.alertIds)).toEqual(new Set(elastic.map((a) => a.id)));
  });

  test("analysts' merges, splits and moves are kept when correlation runs again", async () => {
    const chainIncident = [...new Set((await incidentOf(h, chain)).values())][0] as string;
    // Split the download out: the analyst decides it was a separate, sanctioned sync.
    const split = await h.request('POST', `/v1/incidents/${chainIncident}/split`, {
      json: { alert_uuids: [chain[3]?.uuid], title: 'Finance sync (reviewed)' },
    });
    expect(split.status).toBe(201);
    expect(split.body.data).toMatchObject({ title: 'Finance sync (reviewed)', alert_count: 1 });
    expect(split.body.data.alerts[0].membership).toMatchObject({
      pinned: true,
      added_by: 'analyst',
      reason: { rule: 'analyst', action: 'split' },
    });
    const splitUuid = split.body.data.uuid;
    expect((await detail(chainIncident)).alert_count).toBe(3);

    // Correlation runs again over every alert of the chain: nothing moves back.
    expect((await correlate(h, chain)).changes).toEqual([]);
    let placed = await incidentOf(h, chain);
    expect(placed.get(chain[3]?.uuid as string)).toBe(splitUuid);
    expect(placed.get(chain[0]?.uuid as string)).toBe(chainIncident);

    // A new alert related to both joins one of them; the pinned member stays put.
    const late = await ingest(
      h,
      'sentinel',
      sentinelAlert({
        title: 'Anomalous token use',
        severity: 'Low',
        at: minutesAgo(30),
        entities: [account('alice.nguyen', 'contoso.com'), ip('185.220.101.47')],
      }),
    );
    const joined = await correlate(h, [late]);
    expect(joined.changes).toHaveLength(1);
    expect(joined.changes[0]?.opened).toBe(false);
    placed = await incidentOf(h, [...chain, late]);
    expect(placed.get(chain[3]?.uuid as string)).toBe(splitUuid);

    // Merge the split incident back in: the source closes as a Duplicate pointing at the target.
    const merged = await h.request('POST', `/v1/incidents/${chainIncident}/merge`, {
      json: { incident_uuids: [splitUuid] },
    });
    expect(merged.status).toBe(200);
    const mergedAway = await detail(splitUuid);
    expect(mergedAway).toMatchObject({
      status: 'Closed',
      close_classification: 'Duplicate',
      merged_into_uuid: chainIncident,
      alert_count: 0,
    });
    expect((await correlate(h, [...chain, late])).changes).toEqual([]);
    placed = await incidentOf(h, [...chain, late]);
    expect(new Set(placed.values())).toEqual(new Set([chainIncident]));

    // Move one member out to the ransomware incident by hand; re-correlation keeps it there.
    const ransomware = (await h.request('GET', '/v1/incidents?q=Malware%20Detection')).body.data[0].uuid;
    const moved = await h.request('POST', `/v1/incidents/${ransomware}/alerts`, { json: { alert_uuids: [late.uuid] } });
    expect(moved.status).toBe(200);
    expect((await correlate(h, [...chain, late])).changes).toEqual([]);
    expect((await incidentOf(h, [late])).get(late.uuid)).toBe(ransomware);
  });

  test('two concurrent correlations of related alerts open one incident', async () => {
    for (let round = 0; round < 8; round++) {
      const user = `race${round}@contoso.com`;
      const seed = await ingest(h, 'generic', genericAlert({ title: 'Leaked credential', severity: 'Low', user }));
      await correlate(h, [seed]); // alone: related to nothing yet
      const [a, b] = await ingestAll(h, 'generic', [
        genericAlert({ title: 'Sign-in after leak', severity: 'Medium', user, src_ip: `91.198.174.${round}` }),
        genericAlert({ title: 'MFA method added', severity: 'High', user, src_ip: `91.198.175.${round}` }),
      ]);
      // Two workers, one alert each, at once.
      await Promise.all([correlate(h, [a as Stored]), correlate(h, [b as Stored])]);
      const placed = await incidentOf(h, [seed, a as Stored, b as Stored]);
      const incidents = new Set(placed.values());
      expect(incidents.size, `round ${round}`).toBe(1);
      expect(incidents.has(null), `round ${round}`).toBe(false);
    }
  });
});

describe('REST', () => {
  test('list filters and pagination; patch lifecycle; findings', async () => {
    const list = await h.request('GET', '/v1/incidents?page_size=2&sort_by=alert_count');
    expect(list.status).toBe(200);
    expect(list.body.meta).toMatchObject({ page: 1, page_size: 2 });
    expect(list.body.data).toHaveLength(2);
    expect(list.body.data[0].alert_count).toBeGreaterThanOrEqual(list.body.data[1].alert_count);
    const closed = await h.request('GET', '/v1/incidents?status=Closed');
    expect(closed.body.data.every((i: any) => i.status === 'Closed')).toBe(true);

    const uuid = list.body.data[0].uuid;
    const refused = await h.request('PATCH', `/v1/incidents/${uuid}`, { json: { status: 'Closed' } });
    expect(refused.status).toBe(422);
    const triaging = await h.request('PATCH', `/v1/incidents/${uuid}`, {
      json: { status: 'Triaging', severity: 'Informational' },
    });
    expect(triaging.body.data).toMatchObject({
      status: 'Triaging',
      severity: 'Informational',
      severity_override: 'Informational',
    });
    expect(triaging.body.data.acknowledged_at).not.toBeNull();
    expect(triaging.body.data.metrics.time_to_acknowledge_seconds).toEqual(expect.any(Number));
    const reset = await h.request('PATCH', `/v1/incidents/${uuid}`, {
      json: { severity: null, status: 'Closed', close_classification: 'True Positive - Suspicious Activity' },
    });
    expect(reset.body.data).toMatchObject({ status: 'Closed', severity_override: null });
    expect(reset.body.data.severity).toBe(list.body.data[0].severity); // the members' worst again
    expect(reset.body.data.metrics.time_to_close_seconds).toEqual(expect.any(Number));

    const finding = await h.request('POST', `/v1/incidents/${uuid}/findings`, {
      json: { agent_name: 'triage-agent', summary: 'One actor, one campaign.', confidence: 'high' },
    });
    expect(finding.status).toBe(201);
    const findings = await h.request('GET', `/v1/incidents/${uuid}/findings`);
    expect(findings.body.data).toEqual([expect.objectContaining({ agent_name: 'triage-agent', confidence: 'high' })]);
    expect((await detail(uuid)).finding_count).toBe(1);
    const events = (await h.request('GET', `/v1/incidents/${uuid}/timeline?page_size=500`)).body.data;
    expect(events.map((e: any) => e.event_type)).toEqual(
      expect.arrayContaining(['incident_status_updated', 'incident_closed', 'incident_finding_added']),
    );
    // A closed incident takes no new members: a related alert stays out of it.
    const byAlert = await h.request('GET', `/v1/incidents?alert_uuid=${(await detail(uuid)).alerts[0].uuid}`);
    expect(byAlert.body.data.map((i: any) => i.uuid)).toEqual([uuid]);
  });

  test("an incident follows its members: a member's new severity, a deleted member", async () => {
    const alerts = await ingestAll(h, 'generic', [
      genericAlert({ title: 'Suspicious OAuth grant', severity: 'Low', user: 'lena@contoso.com' }),
      genericAlert({ title: 'Unusual mailbox access', severity: 'Low', user: 'lena@contoso.com' }),
      genericAlert({ title: 'Data staged to personal cloud', severity: 'Medium', user: 'lena@contoso.com' }),
    ]);
    const uuid = (await correlate(h, alerts)).changes[0]?.incidentUuid as string;
    expect(await detail(uuid)).toMatchObject({ severity: 'Medium', alert_count: 3 });
    // An analyst raises one alert: the incident's severity is the worst of its alerts again.
    const raised = await h.request('PATCH', `/v1/alerts/${alerts[0]?.uuid}`, { json: { severity: 'Critical' } });
    expect(raised.status).toBe(200);
    expect((await detail(uuid)).severity).toBe('Critical');
    // The raised alert is deleted: the count and the severity follow.
    expect((await h.request('DELETE', `/v1/alerts/${alerts[0]?.uuid}`)).status).toBe(204);
    expect(await detail(uuid)).toMatchObject({ severity: 'Medium', alert_count: 2 });
  });

  test('dry run shows what would group and writes nothing; rules are configuration', async () => {
    const before = await h.query<{ n: string }>('SELECT count(*) AS n FROM incident_alerts');
    const run = await h.request('POST', '/v1/incidents/correlation/dry-run', {
      json: { from_time: minutesAgo(24 * 60), to_time: minutesAgo(-5) },
    });
    expect(run.status).toBe(200);
    expect(run.body.data.alerts_considered).toBeGreaterThan(300);
    const storm = run.body.data.groups[0];
    expect(storm.alert_count).toBe(300);
    expect(storm.alerts.length).toBeLessThanOrEqual(100);
    // The proxy's 30 alerts group nowhere.
    expect(JSON.stringify(run.body.data.groups)).not.toContain('Unfamiliar sign-in properties');
    // With entities alone (rule + entity off) and a low cap, the storm no longer groups.
    const strict = await h.request('POST', '/v1/incidents/correlation/dry-run', {
      json: { from_time: minutesAgo(24 * 60), to_time: minutesAgo(-5), config: { rule_entity: false } },
    });
    expect(strict.body.data.groups.some((g: any) => g.alert_count === 300)).toBe(false);
    expect(await h.query('SELECT count(*) AS n FROM incident_alerts')).toEqual(before);

    const config = await h.request('GET', '/v1/incidents/correlation/config');
    expect(config.body.data).toMatchObject({ enabled: true, window_minutes: 1440, prevalence_cap: 20 });
    const bad = await h.request('PUT', '/v1/incidents/correlation/config', {
      json: { excluded_cidrs: ['not-a-range'] },
    });
    expect(bad.status).toBe(422);
    const saved = await h.request('PUT', '/v1/incidents/correlation/config', {
      json: { excluded_values: ['build-agent-01'], excluded_cidrs: ['198.18.0.0/15'], enabled: false },
    });
    expect(saved.status).toBe(200);
    const alert = await ingest(
      h,
      'generic',
      genericAlert({ title: 'x', severity: 'Low', user: 'alice.nguyen@contoso.com' }),
    );
    expect((await correlateAlerts(system(h), [alert.id])).changes).toEqual([]); // disabled: nothing joins
    await h.request('PUT', '/v1/incidents/correlation/config', { json: {} });
  });
});
