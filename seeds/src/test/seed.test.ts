import { contextDocumentsFor } from '@calseta/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../../../apps/api/test/fixtures.js';
import { createHarness, type Harness } from '../../../apps/api/test/harness.js';
import { demoDetectionRules, demoRunbooks, seedDemo, withTimesEndingAt } from '../index.js';

const EXPECTED: Record<string, { rule: string; runbooks: string[] }> = {
  'Brute force sign-in attempts from TOR network detected': {
    rule: 'Brute Force Sign-In Attempts from TOR Network',
    runbooks: ['Identity Compromise Investigation Runbook'],
  },
  'Known Malware Hash Detected on Endpoint': {
    rule: 'Known Malware Hash Detected on Endpoint',
    runbooks: ['Malware Detection and Containment SOP'],
  },
  'Anomalous Outbound Data Transfer': {
    rule: 'Anomalous Large Data Transfer to External Destination',
    runbooks: ['Data Exfiltration Investigation Plan'],
  },
  'Impossible travel activity detected for user r.chen@contoso.com': {
    rule: 'Impossible Travel Activity Detected',
    runbooks: ['Identity Compromise Investigation Runbook'],
  },
  'Suspicious PowerShell Execution with Encoded Command': {
    rule: 'Suspicious PowerShell Execution with Encoded Command',
    runbooks: ['Malware Detection and Containment SOP'],
  },
};

const ADS_SECTIONS = [
  '## Goal',
  '## Strategy Abstract',
  '## Data Sources',
  '## Blind Spots & Assumptions',
  '## False Positives',
  '## Validation',
  '## Priority',
  '## Responses',
];

interface LinkedAlert {
  id: string;
  title: string;
  rule_name: string | null;
  is_system: boolean | null;
  documentation: string | null;
}

async function linkedAlerts(h: Harness): Promise<LinkedAlert[]> {
  return h.query<LinkedAlert>(
    `SELECT a.id, a.title, r.name AS rule_name, r.is_system, r.documentation
       FROM alerts a LEFT JOIN detection_rules r ON r.id = a.detection_rule_id ORDER BY a.id`,
  );
}

describe('demo content', () => {
  it('has five fully documented rules and three targeted runbooks of realistic length', async () => {
    const rules = await demoDetectionRules();
    expect(rules).toHaveLength(5);
    for (const rule of rules) {
      for (const section of ADS_SECTIONS) expect(rule.documentation, `${rule.name} ${section}`).toContain(section);
      const words = rule.documentation?.split(/\s+/).length ?? 0;
      expect(words, rule.name).toBeGreaterThan(300);
      expect(words, rule.name).toBeLessThan(650);
    }
    const runbooks = await demoRunbooks();
    expect(runbooks.map((r) => r.title)).toEqual([
      'Identity Compromise Investigation Runbook',
      'Malware Detection and Containment SOP',
      'Data Exfiltration Investigation Plan',
    ]);
    for (const doc of runbooks) {
      expect(doc.is_global ?? false).toBe(false);
      expect(doc.targeting_rules).toBeTruthy();
      expect(doc.content.split(/\s+/).length, doc.title).toBeGreaterThan(300);
    }
  });
});

describe('seedDemo', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(() => h.close());

  it('seeds rules and runbooks before the alerts, so each alert links to its documented rule and runbook', async () => {
    const output = await seedDemo(h.deps);
    expect(output.match(/^rule +created/gm)).toHaveLength(5);
    expect(output.match(/^runbook +created/gm)).toHaveLength(3);
    expect(output.match(/^alert +queued/gm)).toHaveLength(5);

    const alerts = await linkedAlerts(h);
    expect(alerts).toHaveLength(5);
    for (const alert of alerts) {
      const expected = EXPECTED[alert.title];
      expect(expected, alert.title).toBeDefined();
      expect(alert.rule_name).toBe(expected?.rule);
      expect(alert.is_system).toBe(true);
      expect(alert.documentation).toContain('## Goal');
      const docs = await contextDocumentsFor(h.deps.db, Number(alert.id));
      expect(
        docs.map((d) => d.title),
        alert.title,
      ).toEqual(expected?.runbooks);
      expect(docs[0]?.matched_by).not.toBe('global');
    }
    const rules = await h.request('GET', '/v1/detection-rules?sort_by=name&sort_order=asc');
    expect(rules.body.data).toHaveLength(5);
    expect(rules.body.data[0]).toMatchObject({ is_system: true, created_by: 'system' });
    const docs = await h.request('GET', '/v1/context-documents');
    expect(docs.body.data.map((d: { is_system: boolean }) => d.is_system)).toEqual([true, true, true]);
  });

  it('dates the alerts in the last hours before now, each keeping its own gaps', async () => {
    const rows = await h.query<{ title: string; occurred_at: Date; raw_payload: Record<string, unknown> }>(
      'SELECT title, occurred_at, raw_payload FROM alerts ORDER BY occurred_at',
    );
    const now = Date.now();
    for (const row of rows) {
      const ago = now - new Date(row.occurred_at).getTime();
      expect(ago, row.title).toBeGreaterThan(0);
      expect(ago, row.title).toBeLessThan(4 * 3_600_000);
    }
    // The Sentinel brute force spans 15 min 36 s from first to last activity, as in the fixture.
    const tor = rows.find((r) => r.title.startsWith('Brute force'))?.raw_payload as {
      properties: { firstActivityTimeUtc: string; lastActivityTimeUtc: string };
    };
    expect(Date.parse(tor.properties.lastActivityTimeUtc) - Date.parse(tor.properties.firstActivityTimeUtc)).toBe(
      (15 * 60 + 36) * 1000,
    );
  });

  it('moves ISO times and epoch seconds under time keys alike, and nothing else', () => {
    const latest = new Date('2030-01-01T12:00:00.000Z');
    const moved = withTimesEndingAt(
      {
        result: { _time: '1709305200', info_min_time: '1709301600', count: '1709305200' },
        sid: 'at_1709305200',
        seen: ['2024-03-01T14:00:00.000Z'],
      },
      latest,
    );
    expect(moved).toEqual({
      result: {
        _time: String(latest.getTime() / 1000),
        info_min_time: String(latest.getTime() / 1000 - 3600),
        count: '1709305200',
      },
      sid: 'at_1709305200',
      seen: ['2030-01-01T11:00:00.000Z'],
    });
  });

  it('is idempotent', async () => {
    const [before] = await h.query<{ rules: string; docs: string; versions: string; alerts: string }>(
      `SELECT (SELECT count(*) FROM detection_rules) AS rules, (SELECT count(*) FROM context_documents) AS docs,
              (SELECT count(*) FROM context_document_versions) AS versions, (SELECT count(*) FROM alerts) AS alerts`,
    );
    const output = await seedDemo(h.deps);
    expect(output.match(/^rule +unchanged/gm)).toHaveLength(5);
    expect(output.match(/^runbook +unchanged/gm)).toHaveLength(3);
    expect(output).not.toMatch(/^alert +queued/m);
    const [after] = await h.query(
      `SELECT (SELECT count(*) FROM detection_rules) AS rules, (SELECT count(*) FROM context_documents) AS docs,
              (SELECT count(*) FROM context_document_versions) AS versions, (SELECT count(*) FROM alerts) AS alerts`,
    );
    expect(after).toEqual(before);
  });
});

describe('seedDemo after ingest created stubs', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(() => h.close());

  it('documents the stub in place (same uuid, alert kept) and leaves admin-created rules alone', async () => {
    const ingested = await h.request('POST', '/v1/ingest/elastic', { json: fixture('02_elastic_malware_hash.json') });
    expect(ingested.status).toBe(202);
    const [stub] = await h.query<{ uuid: string; documentation: string | null; is_system: boolean }>(
      `SELECT uuid, documentation, is_system FROM detection_rules WHERE source_rule_id = 'd8e5f6a7-b9c0-4d1e-a2f3-456789abcdef'`,
    );
    expect(stub?.is_system).toBe(false);
    const admin = await h.request('POST', '/v1/detection-rules', {
      json: {
        name: 'Our own impossible travel rule',
        source_name: 'sentinel',
        source_rule_id: 'e7f8a9b0-c1d2-4e3f-a5b6-c7d8e9f01234',
        documentation: 'ours',
      },
    });
    expect(admin.status).toBe(201);

    const output = await seedDemo(h.deps);
    expect(output).toMatch(new RegExp(`^rule +updated +${stub?.uuid}`, 'm'));
    expect(output).toMatch(new RegExp(`^rule +kept +${admin.body.data.uuid}`, 'm'));

    const rule = await h.request('GET', `/v1/detection-rules/${stub?.uuid}`);
    expect(rule.body.data).toMatchObject({
      name: 'Known Malware Hash Detected on Endpoint',
      is_system: true,
      severity: 'Critical',
      run_frequency: '1m',
      mitre_subtechniques: ['T1204.002'],
    });
    expect(rule.body.data.documentation).toContain('## Blind Spots & Assumptions');
    const kept = await h.request('GET', `/v1/detection-rules/${admin.body.data.uuid}`);
    expect(kept.body.data).toMatchObject({ name: 'Our own impossible travel rule', documentation: 'ours' });
    const alert = await h.request('GET', `/v1/alerts/${ingested.body.data.alert_uuid}`);
    expect(alert.body.data.detection_rule.uuid).toBe(stub?.uuid);
  });
});
