import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

/**
 * Metrics against hand-built rows: every alert, run and approval is inserted with exact timestamps,
 * and each expected number is worked out below from the reference formulas (§2.7, §6.4).
 */

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const S = 1000;
const at = (iso: string, plusSeconds = 0) => new Date(Date.parse(iso) + plusSeconds * S).toISOString();
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

interface Seed {
  key: string;
  created: string;
  /** Seconds between occurred_at and created_at; null: occurred_at was inferred (= created_at). */
  detect: number | null;
  status: 'Open' | 'Triaging' | 'Escalated' | 'Closed';
  classification?: string;
  severity: string;
  source: string;
  rule?: 'R1' | 'R2';
  /** Seconds after created_at. */
  ack?: number;
  triage?: number;
  close?: number;
  enrich?: number;
}

const FP1 = 'False Positive - Incorrect Detection Logic';
const FP2 = 'False Positive - Inaccurate Data';
const TP = 'True Positive - Suspicious Activity';

/** The window under test: [2025-03-01, 2025-03-08). a5 sits on `to` (out), a6 on `from` (in), a7 just before. */
const FROM = '2025-03-01T00:00:00.000Z';
const TO = '2025-03-08T00:00:00.000Z';
const SEEDS: Seed[] = [
  // biome-ignore format: a table
  { key: 'a1', created: '2025-03-01T10:00:00Z', detect: 60, status: 'Closed', classification: FP1, severity: 'High', source: 'sentinel', rule: 'R1', ack: 120, triage: 300, close: 3600, enrich: 30 },
  // biome-ignore format: a table
  { key: 'a2', created: '2025-03-01T12:00:00Z', detect: 120, status: 'Closed', classification: TP, severity: 'Critical', source: 'elastic', rule: 'R1', ack: 60, close: 1800, enrich: 90 },
  // biome-ignore format: a table
  { key: 'a3', created: '2025-03-03T08:00:00Z', detect: 300, status: 'Triaging', severity: 'High', source: 'sentinel', rule: 'R2', ack: 600, triage: 600 },
  // biome-ignore format: a table
  { key: 'a4', created: '2025-03-07T23:59:59Z', detect: null, status: 'Open', severity: 'Low', source: 'generic' },
  // biome-ignore format: a table
  { key: 'a5', created: TO, detect: 5, status: 'Closed', classification: FP1, severity: 'High', source: 'sentinel', rule: 'R1', ack: 1, close: 1, enrich: 1 },
  // biome-ignore format: a table
  { key: 'a6', created: FROM, detect: 600, status: 'Escalated', severity: 'Medium', source: 'sentinel', rule: 'R1', ack: 240, enrich: 10 },
  // biome-ignore format: a table
  { key: 'a7', created: '2025-02-28T23:59:59Z', detect: 7, status: 'Closed', classification: TP, severity: 'Low', source: 'splunk', rule: 'R2', ack: 3, close: 3 },
  // biome-ignore format: a table
  { key: 'a8', created: '2025-03-05T06:00:00Z', detect: 30, status: 'Closed', classification: FP2, severity: 'High', source: 'sentinel', rule: 'R1', ack: 7200, close: 7200 },
];

const ids: Record<string, number> = {};
const rules: Record<string, { id: number; uuid: string }> = {};

async function insertAlert(s: Omit<Seed, 'created'> & { created: string | { daysAgo: number } }): Promise<number> {
  const created = typeof s.created === 'string' ? s.created : new Date(Date.now() - s.created.daysAgo * 86_400_000);
  const createdIso = typeof created === 'string' ? created : created.toISOString();
  const plus = (sec: number | undefined) => (sec === undefined ? null : at(createdIso, sec));
  const [row] = await h.query<{ id: number }>(
    `INSERT INTO alerts (title, source_name, severity, status, close_classification, occurred_at, occurred_at_inferred,
       created_at, ingested_at, acknowledged_at, triaged_at, closed_at, is_enriched, enriched_at, detection_rule_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, $11, $12, $13, $14) RETURNING id`,
    [
      `Metrics ${s.key}`,
      s.source,
      s.severity,
      s.status,
      s.classification ?? null,
      at(createdIso, -(s.detect ?? 0)),
      s.detect === null,
      createdIso,
      plus(s.ack),
      plus(s.triage),
      plus(s.close),
      s.enrich !== undefined,
      plus(s.enrich),
      s.rule ? (rules[s.rule]?.id ?? null) : null,
    ],
  );
  return Number(row?.id);
}

async function indicator(type: string, value: string, malice: string, alertKeys: string[]) {
  const [row] = await h.query<{ id: number }>(
    'INSERT INTO indicators (type, value, malice) VALUES ($1, $2, $3) RETURNING id',
    [type, value, malice],
  );
  for (const key of alertKeys) {
    await h.query('INSERT INTO alert_indicators (alert_id, indicator_id) VALUES ($1, $2)', [ids[key], row?.id]);
  }
}

beforeAll(async () => {
  for (const name of ['R1', 'R2'] as const) {
    const [row] = await h.query<{ id: number; uuid: string }>(
      `INSERT INTO detection_rules (name, source_name) VALUES ($1, 'sentinel') RETURNING id, uuid`,
      [`Rule ${name}`],
    );
    rules[name] = { id: Number(row?.id), uuid: String(row?.uuid) };
  }
  for (const seed of SEEDS) ids[seed.key] = await insertAlert(seed);
  // 10.0.0.1 is on three R1 alerts in the window (a1, a2, a6), on a5 (outside) and on a3 (rule R2).
  await indicator('ip', '10.0.0.1', 'Malicious', ['a1', 'a2', 'a6', 'a5', 'a3']);
  await indicator('domain', 'evil.example', 'Suspicious', ['a1']);
});

const inWindow = SEEDS.filter((s) => s.created >= FROM && s.created < TO);

describe('GET /v1/metrics/alerts', () => {
  it('computes every §2.7 formula over alerts created in [from_time, to_time)', async () => {
    const res = await h.request('GET', `/v1/metrics/alerts?from_time=${FROM}&to_time=${TO}`);
    expect(res.status).toBe(200);
    const m = res.body.data;
    expect(inWindow.map((s) => s.key)).toEqual(['a1', 'a2', 'a3', 'a4', 'a6', 'a8']);
    expect(m.period_from).toBe(FROM);
    expect(m.period_to).toBe(TO);
    expect(m.total_alerts).toBe(6);
    expect(m.alerts_by_status).toEqual({ Closed: 3, Escalated: 1, Open: 1, Triaging: 1 });
    expect(m.alerts_by_severity).toEqual({ Critical: 1, High: 3, Low: 1, Medium: 1 });
    expect(m.alerts_by_source).toEqual({ elastic: 1, generic: 1, sentinel: 4 });
    // UTC days of created_at: a6 + a1 + a2 on the 1st; empty days are omitted.
    expect(m.alerts_over_time).toEqual([
      { date: '2025-03-01', count: 3 },
      { date: '2025-03-03', count: 1 },
      { date: '2025-03-05', count: 1 },
      { date: '2025-03-07', count: 1 },
    ]);
    // Closed: a1 (FP), a2 (TP), a8 (FP) → 2 / 3.
    expect(m.false_positive_rate).toBeCloseTo(2 / 3, 10);
    // Enriched: a1 30 s, a2 90 s, a6 10 s.
    expect(m.mean_time_to_enrich).toBeCloseTo(130 / 3, 6);
    // created − occurred: 60, 120, 300, 600, 30; a4's occurred_at was inferred (no detection time).
    expect(m.mean_time_to_detect).toBeCloseTo(mean([60, 120, 300, 600, 30]), 6);
    expect(m.mean_time_to_detect).toBeCloseTo(222, 6);
    // acknowledged − created: 120, 60, 600, 240, 7200.
    expect(m.mean_time_to_acknowledge).toBeCloseTo(1644, 6);
    // triaged − created: 300, 600.
    expect(m.mean_time_to_triage).toBeCloseTo(450, 6);
    // closed − created: 3600, 1800, 7200.
    expect(m.mean_time_to_conclusion).toBeCloseTo(4200, 6);
    // Active (Open/Triaging/Escalated): a3 High, a4 Low, a6 Medium.
    expect(m.active_alerts_by_severity).toEqual({ High: 1, Low: 1, Medium: 1 });
    expect(m.top_detection_rules).toEqual([
      { uuid: rules.R1?.uuid, name: 'Rule R1', count: 4 },
      { uuid: rules.R2?.uuid, name: 'Rule R2', count: 1 },
    ]);
    // is_enriched: a1, a2, a6 of 6.
    expect(m.enrichment_coverage).toBe(0.5);
  });

  it('includes from_time and excludes to_time', async () => {
    const justAfter = at(TO, 0.001);
    const res = await h.request('GET', `/v1/metrics/alerts?from_time=${FROM}&to_time=${justAfter}`);
    expect(res.body.data.total_alerts).toBe(7); // + a5, created exactly at TO
    const later = await h.request('GET', `/v1/metrics/alerts?from_time=${at(FROM, 0.001)}&to_time=${TO}`);
    expect(later.body.data.total_alerts).toBe(5); // − a6, created exactly at FROM
    const earlier = await h.request('GET', `/v1/metrics/alerts?from_time=2025-02-28T23:59:59Z&to_time=${TO}`);
    expect(earlier.body.data.total_alerts).toBe(7); // + a7
  });

  it('accepts offsets other than Z', async () => {
    const res = await h.request(
      'GET',
      `/v1/metrics/alerts?from_time=${encodeURIComponent('2025-03-01T01:00:00+01:00')}&to_time=${encodeURIComponent('2025-03-08T01:00:00+01:00')}`,
    );
    expect(res.status).toBe(200);
    expect(res.body.data.total_alerts).toBe(6);
  });

  it('gives zeros and nulls for an empty window', async () => {
    const res = await h.request(
      'GET',
      '/v1/metrics/alerts?from_time=2024-01-01T00:00:00Z&to_time=2024-01-02T00:00:00Z',
    );
    expect(res.status).toBe(200);
    expect(res.body.data).toMatchObject({
      total_alerts: 0,
      alerts_by_status: {},
      alerts_by_severity: {},
      alerts_by_source: {},
      alerts_over_time: [],
      false_positive_rate: 0,
      mean_time_to_enrich: null,
      mean_time_to_detect: null,
      mean_time_to_acknowledge: null,
      mean_time_to_triage: null,
      mean_time_to_conclusion: null,
      active_alerts_by_severity: {},
      top_detection_rules: [],
      enrichment_coverage: 0,
    });
  });

  it('defaults to the 30 days before now, and from_time to 30 days before a given to_time', async () => {
    const before = Date.now();
    const res = await h.request('GET', '/v1/metrics/alerts');
    const after = Date.now();
    expect(res.status).toBe(200);
    const to = Date.parse(res.body.data.period_to);
    expect(to).toBeGreaterThanOrEqual(before);
    expect(to).toBeLessThanOrEqual(after);
    expect(to - Date.parse(res.body.data.period_from)).toBe(30 * 86_400_000);

    const onlyTo = await h.request('GET', `/v1/metrics/alerts?to_time=${TO}`);
    expect(onlyTo.body.data.period_from).toBe('2025-02-06T00:00:00.000Z');
    expect(onlyTo.body.data.total_alerts).toBe(7); // the window plus a7

    const onlyFrom = await h.request('GET', `/v1/metrics/alerts?from_time=${FROM}`);
    expect(Date.parse(onlyFrom.body.data.period_to)).toBeGreaterThanOrEqual(before);
    expect(onlyFrom.body.data.period_from).toBe(FROM);
  });

  it('rejects an inverted or malformed window with 422', async () => {
    const inverted = await h.request('GET', `/v1/metrics/alerts?from_time=${TO}&to_time=${FROM}`);
    expect(inverted.status).toBe(422);
    expect(inverted.body.error.code).toBe('VALIDATION_ERROR');
    const empty = await h.request('GET', `/v1/metrics/alerts?from_time=${FROM}&to_time=${FROM}`);
    expect(empty.status).toBe(422);
    const malformed = await h.request('GET', '/v1/metrics/alerts?from_time=yesterday');
    expect(malformed.status).toBe(422);
  });
});

describe('GET /v1/detection-rules/{uuid}/metrics', () => {
  it('applies the same formulas to one rule, with TP rate, classifications and top indicators', async () => {
    const res = await h.request('GET', `/v1/detection-rules/${rules.R1?.uuid}/metrics?from=${FROM}&to=${TO}`);
    expect(res.status).toBe(200);
    // R1 in the window: a1, a2, a6, a8 (a5 is at `to`).
    expect(res.body.data).toEqual({
      detection_rule_uuid: rules.R1?.uuid,
      detection_rule_name: 'Rule R1',
      period_from: FROM,
      period_to: TO,
      total_alerts: 4,
      active_alerts: 1,
      alerts_by_status: { Closed: 3, Escalated: 1 },
      alerts_by_severity: { Critical: 1, High: 2, Medium: 1 },
      false_positive_rate: expect.closeTo(2 / 3, 10),
      true_positive_rate: expect.closeTo(1 / 3, 10),
      close_classifications: { [FP1]: 1, [FP2]: 1, [TP]: 1 },
      alerts_over_time: [
        { date: '2025-03-01', count: 3 },
        { date: '2025-03-05', count: 1 },
      ],
      fp_over_time: [
        { date: '2025-03-01', count: 1 },
        { date: '2025-03-05', count: 1 },
      ],
      // (120 + 60 + 240 + 7200) / 4 and (3600 + 1800 + 7200) / 3.
      mtta_seconds: expect.closeTo(1905, 6),
      mttc_seconds: expect.closeTo(4200, 6),
      severity_distribution: { Medium: 1 },
      top_indicators: [
        { type: 'ip', value: '10.0.0.1', count: 3, malice: 'Malicious' },
        { type: 'domain', value: 'evil.example', count: 1, malice: 'Suspicious' },
      ],
      alert_sources: { elastic: 1, sentinel: 3 },
    });
  });

  it('defaults from/to independently (to = now, from = to − 30 days)', async () => {
    const res = await h.request('GET', `/v1/detection-rules/${rules.R2?.uuid}/metrics?to=${TO}`);
    expect(res.status).toBe(200);
    expect(res.body.data.period_from).toBe('2025-02-06T00:00:00.000Z');
    // R2: a3 and a7 (both before TO).
    expect(res.body.data.total_alerts).toBe(2);
    expect(res.body.data.true_positive_rate).toBe(1);
    const now = await h.request('GET', `/v1/detection-rules/${rules.R1?.uuid}/metrics`);
    expect(now.body.data.total_alerts).toBe(0);
    expect(now.body.data.mtta_seconds).toBeNull();
    expect(now.body.data.false_positive_rate).toBe(0);
  });

  it('404s for an unknown rule and 422s a bad window', async () => {
    const missing = await h.request('GET', '/v1/detection-rules/00000000-0000-7000-8000-000000000000/metrics');
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('NOT_FOUND');
    const inverted = await h.request('GET', `/v1/detection-rules/${rules.R1?.uuid}/metrics?from=${TO}&to=${FROM}`);
    expect(inverted.status).toBe(422);
  });
});

describe('workflow metrics and the summary', () => {
  const wf: Record<string, number> = {};
  /** The seeded builtin workflows (system rows), counted alongside the test's own. */
  const builtins = async () => {
    const [row] = await h.query<{ total: number; active: number; indicator: number }>(
      `SELECT count(*)::int AS total, (count(*) FILTER (WHERE state = 'active' AND is_active))::int AS active,
              (count(*) FILTER (WHERE workflow_type = 'indicator'))::int AS indicator
       FROM workflows WHERE is_system`,
    );
    return row ?? { total: 0, active: 0, indicator: 0 };
  };
  beforeAll(async () => {
    const workflows = [
      ['W1', 'Block IP', 'indicator', 'active', true, 15],
      ['W2', 'Disable user', 'alert', 'draft', true, 30],
      ['W3', 'Notify', null, 'active', false, null],
    ] as const;
    for (const [key, name, type, state, active, saved] of workflows) {
      const [row] = await h.query<{ id: number }>(
        `INSERT INTO workflows (name, workflow_type, state, is_active, time_saved_minutes, code)
         VALUES ($1, $2, $3, $4, $5, 'export default () => {}') RETURNING id`,
        [name, type, state, active, saved],
      );
      wf[key] = Number(row?.id);
    }
    const runs: Array<[string, string, string]> = [
      ['W1', 'succeeded', '2025-03-02T01:00:00Z'],
      ['W1', 'succeeded', '2025-03-02T02:00:00Z'],
      ['W1', 'failed', '2025-03-04T01:00:00Z'],
      ['W2', 'succeeded', '2025-03-04T05:00:00Z'],
      ['W3', 'succeeded', '2025-03-06T05:00:00Z'],
      ['W1', 'succeeded', '2025-03-09T00:00:00Z'], // outside the window
    ];
    for (const [key, status, created] of runs) {
      await h.query(
        `INSERT INTO workflow_runs (workflow_id, trigger_type, code_version_executed, status, created_at)
         VALUES ($1, 'agent', 1, $2, $3)`,
        [wf[key], status, created],
      );
    }
    // Recent runs, for the 30-day summary.
    await h.query(
      `INSERT INTO workflow_runs (workflow_id, trigger_type, code_version_executed, status, created_at) VALUES
       ($1, 'human', 1, 'succeeded', now() - interval '1 day'), ($2, 'human', 1, 'failed', now() - interval '2 days')`,
      [wf.W1, wf.W2],
    );
    // Approvals (summary window = last 30 days).
    const approvals: Array<[string, string, string | null, string]> = [
      // status, created (ago), responded after (interval) or null, expires (relative to now)
      ['pending', '1 hour', null, '+1 hour'],
      ['pending', '2 hours', null, '-1 hour'], // past expiry, never read: not pending any more
      ['approved', '3 days', '10 minutes', '-2 days'],
      ['approved', '2 days', '30 minutes', '-1 day'],
      ['rejected', '1 day', '20 minutes', '+1 hour'],
      ['approved', '40 days', '5 minutes', '-39 days'], // outside the window
      ['expired', '5 days', null, '-4 days'],
    ];
    for (const [status, ago, responded, expires] of approvals) {
      await h.query(
        `INSERT INTO workflow_approval_requests
           (workflow_id, trigger_type, trigger_agent_key_prefix, reason, confidence, status, created_at, responded_at, expires_at)
         VALUES ($1, 'agent', 'cai_test', 'r', 0.9, $2, now() - $3::interval,
                 CASE WHEN $4::interval IS NULL THEN NULL ELSE now() - $3::interval + $4::interval END,
                 now() + $5::interval)`,
        [wf.W1, status, ago, responded, expires],
      );
    }
    // Recent alerts (summary): s1 Open/High, s2 Closed FP/Critical; s3 is 31 days old.
    await insertAlert({
      key: 's1',
      created: { daysAgo: 1 },
      detect: 100,
      status: 'Open',
      severity: 'High',
      source: 'sentinel',
    });
    // biome-ignore format: a row
    await insertAlert({ key: 's2', created: { daysAgo: 2 }, detect: 200, status: 'Closed', classification: FP1, severity: 'Critical', source: 'elastic', ack: 50, triage: 20, close: 500, enrich: 5 });
    await insertAlert({
      key: 's3',
      created: { daysAgo: 31 },
      detect: 1,
      status: 'Open',
      severity: 'Low',
      source: 'splunk',
    });
  });

  it('GET /v1/metrics/workflows computes counts, success rate and time saved over runs in the window', async () => {
    const res = await h.request('GET', `/v1/metrics/workflows?from_time=${FROM}&to_time=${TO}`);
    expect(res.status).toBe(200);
    const system = await builtins();
    expect(res.body.data).toEqual({
      period_from: FROM,
      period_to: TO,
      total_configured: 3 + system.total,
      active: 1 + system.active, // W1: state active and is_active
      workflows_by_type: { alert: 1, indicator: 1 + system.indicator, unset: 1 },
      workflow_run_count: 5,
      workflow_success_rate: 0.8,
      workflow_runs_over_time: [
        { date: '2025-03-02', count: 2 },
        { date: '2025-03-04', count: 2 },
        { date: '2025-03-06', count: 1 },
      ],
      // Successful runs: W1 ×2 (15 min), W2 (30 min), W3 (no estimate) → 60 min.
      time_saved_hours: 1,
      most_executed_workflows: [
        { uuid: expect.any(String), name: 'Block IP', run_count: 3 },
        { uuid: expect.any(String), name: 'Disable user', run_count: 1 },
        { uuid: expect.any(String), name: 'Notify', run_count: 1 },
      ],
    });
  });

  it('GET /v1/metrics/summary reports the last 30 days, with quirk 36 fixed', async () => {
    const res = await h.request('GET', '/v1/metrics/summary');
    expect(res.status).toBe(200);
    const d = res.body.data;
    expect(d.period).toBe('last_30_days');
    // s1 and s2 only (s3 is 31 days old; the 2025 alerts are long gone).
    expect(d.alerts).toEqual({
      total: 2,
      active: 1,
      by_severity: { High: 1 }, // active only
      by_status: { Closed: 1, Open: 1 },
      by_source: { elastic: 1, sentinel: 1 },
      enrichment_coverage: 0.5,
      mean_time_to_enrich_seconds: expect.closeTo(5, 6),
      false_positive_rate: 1,
      mttd_seconds: expect.closeTo(150, 6),
      mtta_seconds: expect.closeTo(50, 6),
      mttt_seconds: expect.closeTo(20, 6),
      mttc_seconds: expect.closeTo(500, 6),
    });
    // Quirk 36: total_configured means the same as in /metrics/workflows (all 3, not the 2 with state=active).
    const system = await builtins();
    expect(d.workflows).toEqual({
      total_configured: 3 + system.total,
      active: 1 + system.active,
      executions: 2,
      success_rate: 0.5,
      estimated_time_saved_hours: 0.25,
    });
    // Quirk 36: the pending request past its expiry is not counted. Responded in window: 10, 30 (approved), 20 (rejected).
    expect(d.approvals).toEqual({
      pending: 1,
      approved_last_30_days: 2,
      approval_rate: expect.closeTo(2 / 3, 10),
      median_response_time_minutes: expect.closeTo(20, 6),
    });
  });

  it('summary platform counts and queue', async () => {
    await h.query(
      `INSERT INTO agent_registrations (name, endpoint_url, is_active) VALUES ('a', 'https://a.example', true), ('b', 'https://b.example', false)`,
    );
    const res = await h.request('GET', '/v1/metrics/summary');
    const p = res.body.data.platform;
    const [counts] = await h.query<Record<string, number>>(
      `SELECT (SELECT count(*)::int FROM context_documents) AS context_documents,
              (SELECT count(*)::int FROM enrichment_providers WHERE is_active) AS enrichment_providers,
              (SELECT count(*)::int FROM indicator_field_mappings) AS indicator_mappings`,
    );
    expect(p).toMatchObject({ ...counts, detection_rules: 2, agents: 1, workflows: 3 + (await builtins()).total });
    const providers = await h.query<{ supported_indicator_types: string[] }>(
      'SELECT supported_indicator_types FROM enrichment_providers WHERE is_active',
    );
    const byType: Record<string, number> = {};
    for (const row of providers) for (const t of row.supported_indicator_types) byType[t] = (byType[t] ?? 0) + 1;
    expect(p.enrichment_providers_by_indicator_type).toEqual(byType);

    const q = res.body.data.queue;
    expect(q).not.toBeNull();
    expect(q.queues.map((x: { queue: string }) => x.queue)).toContain('enrich-alert');
    const total = (k: string) => q.queues.reduce((n: number, x: Record<string, number>) => n + (x[k] ?? 0), 0);
    expect(q.total_pending).toBe(total('pending'));
    expect(q.total_in_progress).toBe(total('in_progress'));
    expect(q.total_succeeded_30d).toBe(total('succeeded_30d'));
    expect(q.total_failed_30d).toBe(total('failed_30d'));
  });
});

describe('metrics scopes', () => {
  it('alerts:read reads alert metrics, summary and rule metrics but not workflow metrics', async () => {
    const key = await h.createKey({ scopes: ['alerts:read'] });
    expect((await h.request('GET', '/v1/metrics/alerts', { key })).status).toBe(200);
    expect((await h.request('GET', '/v1/metrics/summary', { key })).status).toBe(200);
    expect((await h.request('GET', `/v1/detection-rules/${rules.R1?.uuid}/metrics`, { key })).status).toBe(200);
    const denied = await h.request('GET', '/v1/metrics/workflows', { key });
    expect(denied.status).toBe(403);
    expect(denied.body.error.details.required_scopes).toEqual(['workflows:read']);
  });

  it('workflows:read reads workflow metrics only', async () => {
    const key = await h.createKey({ scopes: ['workflows:read'] });
    expect((await h.request('GET', '/v1/metrics/workflows', { key })).status).toBe(200);
    expect((await h.request('GET', '/v1/metrics/alerts', { key })).status).toBe(403);
    expect((await h.request('GET', '/v1/metrics/summary', { key })).status).toBe(403);
    expect((await h.request('GET', `/v1/detection-rules/${rules.R1?.uuid}/metrics`, { key })).status).toBe(403);
  });

  it('no key → 401', async () => {
    expect((await h.request('GET', '/v1/metrics/summary', { key: null })).status).toBe(401);
  });
});
