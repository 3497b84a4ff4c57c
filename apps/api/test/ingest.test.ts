import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture, fixtureText } from './fixtures.js';
import { createHarness, type Harness } from './harness.js';

interface Expected {
  file: string;
  source: string;
  title: string;
  severity: string;
  occurred_at: string;
  tags: string[];
  rule: string;
  ruleName: string;
  indicators: string[];
}

// Expected results per reference §3.8 (pass 1), plus what the system mappings now add (pass 2:
// the source host as a domain), which the reference missed because its plugins left those fields empty.
const CASES: Expected[] = [
  {
    file: '01_sentinel_brute_force_tor.json',
    source: 'sentinel',
    title: 'Brute force sign-in attempts from TOR network detected',
    severity: 'High',
    occurred_at: '2026-03-01T14:23:11.000Z',
    tags: ['TOR', 'BruteForce', 'IdentityThreat'],
    rule: 'c9a7e4d2-3b1f-4e8a-9c6d-f0123456789a',
    ruleName: 'Brute force sign-in attempts from TOR network detected',
    indicators: ['account j.martinez@contoso.com', 'domain AAD-SIGNIN-SVC.contoso.com', 'ip 185.220.101.34'],
  },
  {
    file: '02_elastic_malware_hash.json',
    source: 'elastic',
    title: 'Known Malware Hash Detected on Endpoint',
    severity: 'Critical',
    occurred_at: '2026-03-01T16:42:18.000Z',
    tags: ['Malware', 'Emotet', 'Endpoint', 'T1204.002', 'Execution'],
    rule: 'd8e5f6a7-b9c0-4d1e-a2f3-456789abcdef',
    ruleName: 'Known Malware Hash Detected on Endpoint',
    indicators: [
      'account admin',
      'domain WORKSTATION12.corp.acmeinc.com',
      'email admin@acmeinc.com',
      'hash_md5 d41d8cd98f00b204e9800998ecf8427e',
      'hash_sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709',
      'hash_sha256 a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2',
      'ip 10.0.15.201',
      'ip 198.51.100.42',
      'ip fe80::1a2b:3c4d:5e6f:7890',
    ],
  },
  {
    file: '03_splunk_anomalous_data_transfer.json',
    source: 'splunk',
    title: 'Anomalous Outbound Data Transfer',
    severity: 'High',
    occurred_at: '2024-03-01T15:00:00.000Z',
    tags: [],
    rule: 'Anomalous Outbound Data Transfer',
    ruleName: 'Anomalous Outbound Data Transfer',
    indicators: [
      'account svc_backup',
      // 'FILESERVER03' (dest_host) is a bare host name, not a domain: refused by validation.
      'domain suspicious-cloud-sync.com',
      'ip 10.0.8.55',
      'ip 45.33.32.156',
      'url https://suspicious-cloud-sync.com/api/v2/upload',
    ],
  },
  {
    file: '04_sentinel_impossible_travel.json',
    source: 'sentinel',
    title: 'Impossible travel activity detected for user r.chen@contoso.com',
    severity: 'High',
    occurred_at: '2026-03-01T09:15:22.000Z',
    tags: ['ImpossibleTravel', 'IdentityThreat', 'HighPrivilege', 'GlobalAdmin'],
    rule: 'e7f8a9b0-c1d2-4e3f-a5b6-c7d8e9f01234',
    ruleName: 'Impossible travel activity detected for user r.chen@contoso.com',
    indicators: [
      'account r.chen@contoso.com',
      'domain RChen-Laptop.contoso.com',
      'ip 203.0.113.25',
      'ip 91.234.56.78',
      'url https://portal.azure.com',
    ],
  },
  {
    file: '05_elastic_suspicious_powershell.json',
    source: 'elastic',
    title: 'Suspicious PowerShell Execution with Encoded Command',
    severity: 'High',
    occurred_at: '2026-03-01T22:14:37.000Z',
    tags: ['PowerShell', 'EncodedCommand', 'LivingOffTheLand', 'T1059.001', 'T1027', 'DefenseEvasion', 'Execution'],
    rule: 'a9b0c1d2-e3f4-5678-9abc-def012345678',
    ruleName: 'Suspicious PowerShell Execution with Encoded Command',
    indicators: [
      'account SYSTEM',
      'domain DC01.corp.widgets-inc.com',
      'domain c2-relay.darkops.net',
      'hash_sha256 de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c',
      'ip 10.0.1.10',
      'ip 198.51.100.99',
      'url https://c2-relay.darkops.net/stager.ps1',
    ],
  },
  {
    file: 'elastic_alert.json',
    source: 'elastic',
    title: 'Suspicious PowerShell Execution',
    severity: 'High',
    occurred_at: '2024-01-15T10:29:50.000Z',
    tags: ['PowerShell', 'Endpoint', 'T1059.001'],
    rule: 'rule-uuid-elastic-abc',
    ruleName: 'Suspicious PowerShell Execution',
    indicators: [
      'account jdoe',
      'domain WORKSTATION-01.corp.com',
      'domain c2-server.evil.com',
      'domain evil.example.com',
      'email jdoe@corp.com',
      'hash_md5 d41d8cd98f00b204e9800998ecf8427e',
      'hash_sha256 a1b2c3d4e5f6789012345678901234567890abcdef1234567890abcdef123456',
      'ip 10.0.0.55',
      'ip 185.220.101.32',
      'url https://evil.example.com/payload/stage2.ps1',
    ],
  },
  {
    file: 'sentinel_alert.json',
    source: 'sentinel',
    title: 'Suspicious PowerShell Execution on WORKSTATION-01',
    severity: 'High',
    occurred_at: '2024-01-15T10:29:50.000Z',
    tags: ['powershell', 'endpoint'],
    rule: 'rule-uuid-abc123',
    ruleName: 'Suspicious PowerShell Execution on WORKSTATION-01',
    indicators: [
      'account jdoe@corp.com',
      'domain WORKSTATION-01.corp.com',
      'hash_md5 d41d8cd98f00b204e9800998ecf8427e',
      'hash_sha256 a1b2c3d4e5f6789012345678901234567890abcdef1234567890abcdef123456',
      'ip 10.0.0.55',
      'ip 185.220.101.32',
    ],
  },
  {
    file: 'splunk_alert.json',
    source: 'splunk',
    title: 'Brute Force Login Attempt',
    severity: 'High',
    occurred_at: '2024-01-15T09:50:00.000Z',
    tags: [],
    rule: 'Brute Force Login Attempt',
    ruleName: 'Brute Force Login Attempt',
    indicators: [
      'account admin',
      'domain corp.example.com',
      // The fixture's file_hash is 63 hex characters: not a SHA-256, refused by validation.
      'ip 10.0.0.99',
      'ip 192.168.1.10',
    ],
  },
];

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
  await h.startWorker();
});
afterAll(() => h.close());

async function count(table: 'alerts' | 'activity_events' | 'indicators'): Promise<number> {
  const row = await h.deps.db
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function jobCount(): Promise<number> {
  const { rows } = await h.deps.queue.boss.getDb().executeSql('SELECT count(*)::int AS n FROM pgboss.job', []);
  return (rows[0] as { n: number }).n;
}

/** Until the worker has ended every job queued so far (re-checked after each job it ends, no timers). */
async function workerIdle(): Promise<void> {
  for (;;) {
    const next = h.nextJob();
    const { rows } = await h.deps.queue.boss
      .getDb()
      .executeSql("SELECT count(*)::int AS n FROM pgboss.job WHERE state IN ('created', 'retry', 'active')", []);
    if ((rows[0] as { n: number }).n === 0) return;
    await next;
  }
}

describe('ingest: every fixture end to end', () => {
  it.each(CASES)('$file → normalized alert, rule and indicators', async (c) => {
    const processed = h.nextJob((o) => o.state === 'completed');
    const res = await h.request('POST', `/v1/ingest/${c.source}`, {
      body: fixtureText(c.file),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(202);
    expect(res.body.data).toMatchObject({ status: 'queued', is_duplicate: false, duplicate_count: null });
    const uuid: string = res.body.data.alert_uuid;
    await processed;

    const detail = await h.request('GET', `/v1/alerts/${uuid}`);
    expect(detail.status).toBe(200);
    const alert = detail.body.data;
    expect(alert).toMatchObject({
      title: c.title,
      severity: c.severity,
      source_name: c.source,
      occurred_at: c.occurred_at,
      occurred_at_inferred: false,
      tags: c.tags,
      status: 'Open',
      // No provider has credentials in this harness: nothing applied.
      enrichment_status: 'Skipped',
    });
    expect(alert.raw_payload).toEqual(fixture(c.file));
    expect(alert.detection_rule).toMatchObject({ source_rule_id: c.rule, name: c.ruleName, source_name: c.source });
    const found = alert.indicators.map((i: { type: string; value: string }) => `${i.type} ${i.value}`).sort();
    expect(found).toEqual([...c.indicators].sort());
    expect(detail.body.meta.indicator_count).toBe(c.indicators.length);
  });

  it('keeps the facts an investigator needs in the normalized alert', async () => {
    const res = await h.request('POST', '/v1/ingest/elastic', {
      json: {
        ...fixture('02_elastic_malware_hash.json'),
        '@timestamp': '2026-03-02T00:00:00Z',
        'kibana.alert.start': '2026-03-02T00:00:00Z',
        'kibana.alert.rule.name': 'Malware variant',
      },
    });
    expect(res.status).toBe(202);
    const { body } = await h.request('GET', `/v1/alerts/${res.body.data.alert_uuid}`);
    const n = body.data.normalized;
    expect(n).toMatchObject({
      file_hash_sha256: 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2',
      actor_email: 'admin@acmeinc.com',
    });
    expect(JSON.stringify(n.extra)).toContain('outlook.exe'); // parent process survives
    expect(JSON.stringify(n.extra)).toContain('svchost_update.exe');
  });

  it('flags a missing timestamp instead of silently using now', async () => {
    const res = await h.request('POST', '/v1/ingest/generic', {
      json: { title: 'No time given', severity: 'low', occurred_at: 'yesterday-ish' },
    });
    expect(res.status).toBe(202);
    const { body } = await h.request('GET', `/v1/alerts/${res.body.data.alert_uuid}`);
    expect(body.data.occurred_at_inferred).toBe(true);
    expect(body.data.occurred_at).toBe(body.data.ingested_at);
  });

  it('POST /v1/alerts ingests programmatically through the same pipeline', async () => {
    const res = await h.request('POST', '/v1/alerts', {
      json: { source_name: 'generic', payload: { title: 'Programmatic', severity: 'high', src_ip: '203.0.113.9' } },
    });
    expect(res.status).toBe(202);
    const { body } = await h.request('GET', `/v1/alerts/${res.body.data.alert_uuid}`);
    expect(body.data).toMatchObject({ title: 'Programmatic', severity: 'High', source_name: 'generic' });
  });
});

describe('ingest: deduplication and escalation', () => {
  it('counts a duplicate on the original and escalates a duplicate with higher severity', async () => {
    const payload = {
      title: 'Repeated alert',
      severity: 'medium',
      src_ip: '198.51.100.7',
      occurred_at: '2026-03-01T00:00:00Z',
    };
    const first = await h.request('POST', '/v1/ingest/generic', { json: payload });
    const second = await h.request('POST', '/v1/ingest/generic', { json: payload });
    expect(second.status).toBe(202);
    expect(second.body.data).toEqual({
      alert_uuid: first.body.data.alert_uuid,
      status: 'deduplicated',
      is_duplicate: true,
      duplicate_count: 1,
    });

    const escalated = h.nextJob((o) => (o.data as { reason?: string }).reason === 'escalation');
    const third = await h.request('POST', '/v1/ingest/generic', { json: { ...payload, severity: 'critical' } });
    expect(third.body.data).toEqual({
      alert_uuid: first.body.data.alert_uuid,
      status: 'escalated',
      is_duplicate: true,
      duplicate_count: 2,
    });
    expect((await escalated).state).toBe('completed');
    const { body } = await h.request('GET', `/v1/alerts/${first.body.data.alert_uuid}`);
    expect(body.data).toMatchObject({ severity: 'Critical', duplicate_count: 2, escalation_count: 1 });
    const activity = await h.request('GET', `/v1/alerts/${first.body.data.alert_uuid}/activity`);
    const types = activity.body.data.map((e: { event_type: string }) => e.event_type);
    expect(types).toEqual(expect.arrayContaining(['alert_ingested', 'alert_deduplicated', 'alert_escalated']));
  });

  it('dedupes concurrent copies of the same alert into one row', async () => {
    const payload = { title: 'Burst', severity: 'low', src_ip: '198.51.100.8' };
    const results = await Promise.all(
      Array.from({ length: 8 }, () => h.request('POST', '/v1/ingest/generic', { json: payload })),
    );
    const uuids = new Set(results.map((r) => r.body.data.alert_uuid));
    expect(uuids.size).toBe(1);
    expect(results.filter((r) => r.body.data.status === 'queued')).toHaveLength(1);
  });
});

describe('ingest: bad input gets a clear error and stores nothing', () => {
  const bad: Array<[string, string, Parameters<Harness['request']>[2], number, string]> = [
    [
      'malformed JSON',
      '/v1/ingest/elastic',
      { body: '{"kibana.alert.rule.name": ', headers: { 'content-type': 'application/json' } },
      400,
      'INVALID_JSON',
    ],
    [
      'not JSON content',
      '/v1/ingest/elastic',
      { body: 'title=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
      415,
      'UNSUPPORTED_MEDIA_TYPE',
    ],
    ['an array body', '/v1/ingest/elastic', { json: [1, 2] }, 422, 'INVALID_PAYLOAD'],
    ['a string body', '/v1/ingest/elastic', { json: 'alert' }, 422, 'INVALID_PAYLOAD'],
    [
      'a null body',
      '/v1/ingest/elastic',
      { body: 'null', headers: { 'content-type': 'application/json' } },
      422,
      'INVALID_PAYLOAD',
    ],
    ['a payload the source rejects', '/v1/ingest/elastic', { json: { hello: 'world' } }, 422, 'INVALID_PAYLOAD'],
    ['wrong field types', '/v1/ingest/sentinel', { json: { properties: 'nope', Entities: 5 } }, 422, 'INVALID_PAYLOAD'],
    ['an unknown source', '/v1/ingest/qradar', { json: { title: 'x' } }, 404, 'UNKNOWN_SOURCE'],
    [
      'programmatic ingest without payload',
      '/v1/alerts',
      { json: { source_name: 'generic' } },
      422,
      'VALIDATION_ERROR',
    ],
    [
      'programmatic ingest, unknown source',
      '/v1/alerts',
      { json: { source_name: 'nope', payload: { title: 'x' } } },
      404,
      'UNKNOWN_SOURCE',
    ],
  ];

  // The counts below are global: the enrichments of earlier tests' alerts (not awaited there) must
  // not land between a case's two counts.
  beforeAll(workerIdle);

  it.each(bad)('%s → %i %s', async (_name, path, options, status, code) => {
    const before = [await count('alerts'), await jobCount(), await count('activity_events')];
    const res = await h.request('POST', path, options);
    expect(res.status).toBe(status);
    expect(res.body.error.code).toBe(code);
    expect(res.body.error.message).toEqual(expect.any(String));
    expect(res.body.request_id).toBe(res.headers.get('x-request-id'));
    expect([await count('alerts'), await jobCount(), await count('activity_events')]).toEqual(before);
  });

  it('says which fields are wrong', async () => {
    const res = await h.request('POST', '/v1/ingest/sentinel', { json: { properties: {} } });
    expect(res.status).toBe(422);
    expect(res.body.error.details.errors[0]).toMatchObject({ path: expect.stringContaining('properties') });
  });

  it('rejects an oversized body with 413, whether or not it declares its length', async () => {
    const small = await createHarness({ maxIngestBytes: 4096 });
    try {
      const big = JSON.stringify({ title: 'big', blob: 'x'.repeat(10_000) });
      const declared = await small.request('POST', '/v1/ingest/generic', {
        body: big,
        headers: { 'content-type': 'application/json' },
      });
      expect(declared.status).toBe(413);
      expect(declared.body.error.code).toBe('PAYLOAD_TOO_LARGE');
      const stream = new ReadableStream({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(big));
          controller.close();
        },
      });
      const chunked = await fetch(`${small.baseUrl}/v1/ingest/generic`, {
        method: 'POST',
        body: stream,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${small.adminKey}` },
        duplex: 'half',
      } as RequestInit);
      expect(chunked.status).toBe(413);
      const rows = await small.deps.db.selectFrom('alerts').select('id').execute();
      expect(rows).toHaveLength(0);
    } finally {
      await small.close();
    }
  });
});

describe('ingest: the alert and its job commit together or not at all', () => {
  it('a failure while writing the job leaves neither the alert nor anything else behind', async () => {
    const broken = await createHarness();
    try {
      // The job row is the last thing the ingest statement writes: fail exactly there.
      await broken.query(
        `CREATE FUNCTION fail_job() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN RAISE EXCEPTION 'crash while enqueueing'; END $$`,
      );
      await broken.query('CREATE TRIGGER fail_job AFTER INSERT ON pgboss.job FOR EACH ROW EXECUTE FUNCTION fail_job()');
      const res = await broken.request('POST', '/v1/ingest/elastic', {
        body: fixtureText('elastic_alert.json'),
        headers: { 'content-type': 'application/json' },
      });
      expect(res.status).toBe(500);
      expect(res.body.error.code).toBe('INTERNAL_ERROR');
      const [state] = await broken.query<Record<string, number>>(
        `SELECT (SELECT count(*) FROM alerts)::int AS alerts,
                (SELECT count(*) FROM alert_fingerprints)::int AS claims,
                (SELECT count(*) FROM detection_rules)::int AS rules,
                (SELECT count(*) FROM activity_events WHERE alert_id IS NOT NULL OR detection_rule_id IS NOT NULL)::int AS activity,
                (SELECT count(*) FROM pgboss.job WHERE name = 'enrich-alert')::int AS jobs`,
      );
      expect(state).toEqual({ alerts: 0, claims: 0, rules: 0, activity: 0, jobs: 0 });
    } finally {
      await broken.close();
    }
  });

  it('a 202 means the job is already committed', async () => {
    const res = await h.request('POST', '/v1/ingest/generic', {
      json: { title: 'Durable', severity: 'low', domain: 'durable.example' },
    });
    expect(res.status).toBe(202);
    const alert = await h.deps.db
      .selectFrom('alerts')
      .select('id')
      .where('uuid', '=', res.body.data.alert_uuid)
      .executeTakeFirstOrThrow();
    const { rows } = await h.deps.queue.boss
      .getDb()
      .executeSql(
        "SELECT count(*)::int AS n FROM pgboss.job WHERE name = 'enrich-alert' AND (data->>'alert_id')::bigint = $1",
        [alert.id],
      );
    expect((rows[0] as { n: number }).n).toBe(1);
  });
});
