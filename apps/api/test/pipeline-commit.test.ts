import { contextFor, SYSTEM, sweepStalledDeliveries } from '@calseta/core';
import { createDb } from '@calseta/db';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { recordAttempt } from '../../../packages/core/src/agents/dispatch.js';
import { type AlertToCommit, commitAlert } from '../../../packages/core/src/pipeline/commit-alert.js';
import { fixture } from './fixtures.js';
import { createHarness, type Harness } from './harness.js';
import { lockWaiters, pipelineItem } from './pipeline-items.js';

/**
 * The pipeline's group commit (packages/core/src/pipeline/commit-alert.ts) against a real Postgres,
 * two workers' transactions at once — what a second worker process does.
 */
let h: Harness;
beforeAll(async () => {
  h = await createHarness({ allowHosts: ['127.0.0.1:9'] });
  // Created before any commit reads the active agents (their cache would otherwise wait on a NOTIFY).
  const agent = await h.request('POST', '/v1/agents', {
    json: { name: 'every-alert', endpoint_url: 'http://127.0.0.1:9/hook' },
  });
  expect(agent.status, JSON.stringify(agent.body)).toBe(201);
});

async function ingest(name: string, source: string): Promise<number> {
  const res = await h.request('POST', `/v1/ingest/${source}`, { json: fixture(name) });
  expect(res.status).toBe(202);
  const [row] = await h.query<{ id: number }>('SELECT id FROM alerts WHERE uuid = $1', [res.body.data.alert_uuid]);
  return Number(row?.id);
}
afterAll(() => h.close());

/** One alert's pipeline result linking `value` with a changed answer (pipeline-items.ts). */
const itemFor = (
  ctx: ReturnType<typeof contextFor>,
  alertId: number,
  value: string,
  data?: AlertToCommit['data'],
  retryAt: string | null = null,
) => pipelineItem(ctx, alertId, value, { ...(data ? { data } : {}), retryAt, sourceField: 'review.ip', changed: true });

/** Resolves once `n` backends of the test database wait on a lock. */
const waitersOnLocks = (n: number) => lockWaiters(h, n);

describe('two workers committing alerts that share an indicator', () => {
  it('do not deadlock (the link’s key-share lock and the verdict write’s row lock)', async () => {
    const alertIds = [
      await ingest('01_sentinel_brute_force_tor.json', 'sentinel'),
      await ingest('02_elastic_malware_hash.json', 'elastic'),
    ];
    const [indicator] = await h.query<{ id: number }>(
      "INSERT INTO indicators (uuid, type, value, first_seen, last_seen) VALUES (gen_random_uuid(), 'ip', '203.0.113.77', now(), now()) RETURNING id",
    );
    // Two processes: two pools, so two group commits in two transactions.
    const second = createDb({ url: h.databaseUrl, max: 3 });
    const ctxA = contextFor(h.deps, SYSTEM);
    const ctxB = { ...ctxA, db: second.db };
    const blocker = await second.pool.connect();
    try {
      const items = [await itemFor(ctxA, alertIds[0] as number, '203.0.113.77')];
      items.push(await itemFor(ctxB, alertIds[1] as number, '203.0.113.77'));
      // An analyst's verdict being saved holds the indicator: both commits link it, then wait to write it.
      await blocker.query('BEGIN');
      await blocker.query('SELECT id FROM indicators WHERE id = $1 FOR NO KEY UPDATE', [indicator?.id]);
      const both = Promise.allSettled([
        commitAlert(ctxA, items[0] as AlertToCommit),
        commitAlert(ctxB, items[1] as AlertToCommit),
      ]);
      await waitersOnLocks(2);
      await blocker.query('COMMIT');
      const outcomes = await both;
      expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : o.status))).toEqual([
        'fulfilled',
        'fulfilled',
      ]);
      const links = await h.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM alert_indicators WHERE indicator_id = $1',
        [indicator?.id],
      );
      expect(links[0]?.n).toBe(2);
    } finally {
      blocker.release();
      await second.db.destroy();
    }
  });
});

describe('a commit on a pool of one connection', () => {
  it('never waits on the pool for a second connection while its transaction holds locks', async () => {
    const alertId = await ingest('02_elastic_malware_hash.json', 'elastic');
    const one = createDb({ url: h.databaseUrl, max: 1, connectionTimeoutMillis: 2_000 });
    // No listener: nothing is cached, so the active agents are read by a query each time.
    const unheard = { listen: () => Promise.reject(new Error('no listener')), onReconnect: () => undefined };
    const ctx = { ...contextFor(h.deps, SYSTEM), db: one.db, notifications: unheard as never };
    try {
      const committed = await commitAlert(ctx, await itemFor(ctx, alertId, '203.0.113.79'));
      expect(committed.subject).toBeDefined();
    } finally {
      await one.db.destroy();
    }
  });
});

describe('a redispatch whose enrichment waits on a rate-limited provider', () => {
  it('delivers once per agent, however many retries it takes', async () => {
    const alertId = await ingest('03_splunk_anomalous_data_transfer.json', 'splunk');
    const ctx = contextFor(h.deps, SYSTEM);
    const runs = () =>
      h.query<{ trigger: string; status: string }>(
        'SELECT trigger, status FROM agent_runs WHERE alert_id = $1 ORDER BY id',
        [alertId],
      );
    // The first enrichment: the automatic delivery, claimed.
    await commitAlert(ctx, await itemFor(ctx, alertId, '203.0.113.78'));
    expect(await runs()).toEqual([{ trigger: 'auto', status: 'delivering' }]);
    // `POST /enrich?redispatch=true`; a provider answers 429: the new delivery waits for the retry.
    const later = new Date(Date.now() + 60_000).toISOString();
    const manual = { alert_id: alertId, reason: 'manual' as const, redispatch: true };
    await commitAlert(ctx, await itemFor(ctx, alertId, '203.0.113.78', manual, later));
    // The rate-limit retries (the job carries `redispatch` on): one more wait, then the final answer.
    const retry = { alert_id: alertId, reason: 'rate_limited' as const, redispatch: true, attempt: 1 };
    await commitAlert(ctx, await itemFor(ctx, alertId, '203.0.113.78', retry, later));
    const final = await commitAlert(ctx, await itemFor(ctx, alertId, '203.0.113.78', { ...retry, attempt: 2 }));
    expect(final.deliveries.map((d) => d.trigger)).toEqual(['redispatch']);
    expect(await runs()).toEqual([
      { trigger: 'auto', status: 'delivering' },
      { trigger: 'redispatch', status: 'delivering' },
    ]);
  });
});

describe('a delivery waiting on rate-limited providers whose agent is deactivated meanwhile', () => {
  it('is cancelled, not delivered (as its dispatch job would have been)', async () => {
    // The agents' cache hears of changes by NOTIFY: our handler runs after its own.
    let heard: () => void = () => {};
    await h.deps.notifications.listen('calseta_table_changed', (table) => {
      if (table === 'agent_registrations') heard();
    });
    const change = () => new Promise<void>((resolve) => (heard = resolve));
    let changed = change();
    const created = await h.request('POST', '/v1/agents', {
      json: { name: 'soon-inactive', endpoint_url: 'http://127.0.0.1:9/inactive' },
    });
    await changed;
    expect(created.status).toBe(201);
    const alertId = await ingest('04_sentinel_impossible_travel.json', 'sentinel');
    const ctx = contextFor(h.deps, SYSTEM);
    const later = new Date(Date.now() + 60_000).toISOString();
    const first = await itemFor(ctx, alertId, '203.0.113.79', undefined, later);
    await commitAlert(ctx, first);
    const runs = () =>
      h.query<{ name: string; status: string; error: string | null }>(
        `SELECT a.name, r.status, r.error FROM agent_runs r JOIN agent_registrations a ON a.id = r.agent_registration_id
         WHERE r.alert_id = $1 ORDER BY a.name`,
        [alertId],
      );
    expect((await runs()).map((r) => [r.name, r.status])).toEqual([
      ['every-alert', 'waiting'],
      ['soon-inactive', 'waiting'],
    ]);
    changed = change();
    const patch = { json: { is_active: false } };
    expect((await h.request('PATCH', `/v1/agents/${created.body.data.uuid}`, patch)).status).toBe(200);
    await changed;
    const retry = { alert_id: alertId, reason: 'rate_limited' as const, attempt: 1 };
    const final = await commitAlert(ctx, await itemFor(ctx, alertId, '203.0.113.79', retry));
    expect(final.deliveries.map((d) => d.agent.name)).toEqual(['every-alert']);
    expect(await runs()).toEqual([
      { name: 'every-alert', status: 'delivering', error: null },
      { name: 'soon-inactive', status: 'cancelled', error: 'Agent is inactive' },
    ]);
    const events = await h.query<{ status: string; agent: string }>(
      `SELECT "references"->>'status' AS status, "references"->>'agent_name' AS agent FROM activity_events
       WHERE alert_id = $1 AND event_type = 'agent_webhook_dispatched'`,
      [alertId],
    );
    expect(events).toEqual([{ status: 'cancelled', agent: 'soon-inactive' }]);
  });
});

describe('the lease of a first delivery', () => {
  it("is measured by the database's clock, which the sweeper reads, not the worker's", async () => {
    const alertId = await ingest('05_elastic_suspicious_powershell.json', 'elastic');
    const ctx = contextFor(h.deps, SYSTEM);
    const item = await itemFor(ctx, alertId, '203.0.113.80');
    // This worker's clock runs 10 minutes behind the database's (no NTP on its host).
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      vi.setSystemTime(Date.now() - 10 * 60_000);
      const committed = await commitAlert(ctx, { ...item, now: new Date() });
      expect(committed.deliveries.length).toBeGreaterThan(0);
    } finally {
      vi.useRealTimers();
    }
    // The delivery is being made right now: no other worker may take it over.
    await sweepStalledDeliveries(ctx);
    const runs = await h.query<{ status: string }>('SELECT status FROM agent_runs WHERE alert_id = $1', [alertId]);
    expect(runs.map((r) => r.status)).toEqual(runs.map(() => 'delivering'));
  });
});

describe('an attempt that outlived its lease', () => {
  it('is recorded late without overwriting the attempt another worker is making', async () => {
    const res = await h.request('POST', '/v1/ingest/elastic', {
      json: { ...fixture('02_elastic_malware_hash.json'), 'kibana.alert.rule.name': 'Late attempt (a new title)' },
    });
    expect(res.status).toBe(202);
    const [alert] = await h.query<{ id: number }>('SELECT id FROM alerts WHERE uuid = $1', [res.body.data.alert_uuid]);
    const ctx = contextFor(h.deps, SYSTEM);
    const committed = await commitAlert(ctx, await itemFor(ctx, Number(alert?.id), '203.0.113.81'));
    const [delivery] = committed.deliveries;
    if (delivery === undefined) throw new Error('no delivery claimed');
    // The POST hangs past the lease: the sweeper records it cut and queues attempt 2, which a
    // second worker claims and is making now.
    await h.query("UPDATE agent_runs SET next_attempt_at = now() - interval '1 second' WHERE id = $1", [delivery.id]);
    expect(await sweepStalledDeliveries(ctx)).toBe(1);
    await h.query(
      "UPDATE agent_runs SET status = 'delivering', attempt_count = 2, next_attempt_at = now() + interval '1 minute' WHERE id = $1",
      [delivery.id],
    );
    // Attempt 1 finally answers.
    const outcome = {
      ok: true,
      status_code: 200,
      error: null,
      duration_ms: 31_000,
      response_body: null,
      blocked: false,
    };
    await recordAttempt(ctx, {
      agent: delivery.agent,
      run: delivery,
      attempt: 1,
      startedAt: new Date(),
      outcome,
      body: '{}',
    });
    const [run] = await h.query<{ status: string; attempt_count: number; attempts: Array<{ attempt: number }> }>(
      'SELECT status, attempt_count, attempts FROM agent_runs WHERE id = $1',
      [delivery.id],
    );
    expect(run?.status).toBe('delivering'); // attempt 2's, until it is recorded
    expect(run?.attempt_count).toBe(2);
    expect(run?.attempts.map((a) => a.attempt)).toEqual([1, 1]); // cut, then its late answer: every attempt recorded
  });
});

describe("an alert's verdict columns, written by the commit instead of 0014's triggers (migration 0023)", () => {
  /** What calseta_refresh_alert_verdicts computes for an alert from its links. */
  async function expected(alertId: number) {
    const [row] = await h.query<{ worst: number; n: number }>(
      `SELECT COALESCE(max(CASE i.malice WHEN 'Malicious' THEN 5 WHEN 'Suspicious' THEN 4 WHEN 'Benign' THEN 3
         WHEN 'Context' THEN 2 WHEN 'Unknown' THEN 1 WHEN 'Pending' THEN 0 END), 0)::int AS worst, count(ai.id)::int AS n
       FROM alerts a LEFT JOIN alert_indicators ai ON ai.alert_id = a.id LEFT JOIN indicators i ON i.id = ai.indicator_id
       WHERE a.id = $1`,
      [alertId],
    );
    return row;
  }
  async function stored(alertId: number) {
    const [row] = await h.query<{ worst: number; n: number }>(
      'SELECT indicators_malice_rank AS worst, indicator_count AS n FROM alerts WHERE id = $1',
      [alertId],
    );
    return row;
  }
  async function ingestGeneric(title: string): Promise<number> {
    const res = await h.request('POST', '/v1/ingest/generic', { json: { title, severity: 'high' } });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const [row] = await h.query<{ id: number }>('SELECT id FROM alerts WHERE uuid = $1', [res.body.data.alert_uuid]);
    return Number(row?.id);
  }
  const withVerdict = (item: AlertToCommit, verdict: string): AlertToCommit => ({
    ...item,
    updates: item.updates.map((u) => ({ ...u, verdict: verdict as never })),
  });

  it('match what the triggers compute, for the batch and for earlier alerts whose indicator changed verdict', async () => {
    const ctx = contextFor(h.deps, SYSTEM);
    const first = await ingestGeneric('verdict columns: first alert');
    const second = await ingestGeneric('verdict columns: second alert');
    // A new indicator, Suspicious: only the first alert links it.
    await commitAlert(ctx, withVerdict(await itemFor(ctx, first, '198.51.100.61'), 'Suspicious'));
    expect(await stored(first)).toEqual({ worst: 4, n: 1 });
    expect(await stored(first)).toEqual(await expected(first));
    // The second alert links it too and its answer turns it Malicious: the first alert, outside that
    // batch, is refreshed as the trigger would have refreshed it.
    await commitAlert(ctx, withVerdict(await itemFor(ctx, second, '198.51.100.61'), 'Malicious'));
    expect(await stored(second)).toEqual({ worst: 5, n: 1 });
    expect(await stored(first)).toEqual({ worst: 5, n: 1 });
    // Another writer (an analyst's verdict, outside the pipeline) still has the triggers.
    await h.query("UPDATE indicators SET malice = 'Benign' WHERE type = 'ip' AND value = '198.51.100.61'");
    for (const id of [first, second]) expect(await stored(id)).toEqual({ worst: 3, n: 1 });
  });
});

describe('two workers whose verdict changes each reach an alert of the other’s batch', () => {
  it('do not deadlock: the batch and the other alerts are locked in one id order, as the trigger locked them', async () => {
    const ids: number[] = [];
    for (const title of ['first batch', 'only linked', 'second batch']) {
      const res = await h.request('POST', '/v1/ingest/generic', { json: { title: `lock order: ${title}` } });
      expect(res.status, JSON.stringify(res.body)).toBe(202);
      const [row] = await h.query<{ id: number }>('SELECT id FROM alerts WHERE uuid = $1', [res.body.data.alert_uuid]);
      ids.push(Number(row?.id));
    }
    const [a1, between, a2] = ids as [number, number, number];
    const indicator = async (value: string) =>
      Number(
        (
          await h.query<{ id: number }>(
            "INSERT INTO indicators (uuid, type, value, first_seen, last_seen) VALUES (gen_random_uuid(), 'ip', $1, now(), now()) RETURNING id",
            [value],
          )
        )[0]?.id,
      );
    const x = await indicator('198.51.100.71');
    const y = await indicator('198.51.100.72');
    // Both batch alerts link both indicators (from an earlier enrichment); the alert between them links x.
    for (const [alert, ind] of [
      [a1, x],
      [a1, y],
      [between, x],
      [a2, x],
      [a2, y],
    ]) {
      await h.query('INSERT INTO alert_indicators (alert_id, indicator_id, source_field) VALUES ($1, $2, $3)', [
        alert,
        ind,
        'review.ip',
      ]);
    }
    const second = createDb({ url: h.databaseUrl, max: 3 });
    const ctxA = contextFor(h.deps, SYSTEM);
    const ctxB = { ...ctxA, db: second.db };
    /** The alert's result where only `value`'s answer changed, to `verdict`. */
    const changing = (item: AlertToCommit, value: string, verdict: string): AlertToCommit => ({
      ...item,
      updates: item.updates.map((u) => ({ ...u, verdict: verdict as never, changed: u.value === value })),
    });
    const blocker = await second.pool.connect();
    try {
      // Worker A turns x Malicious (x reaches `between` and a2); worker B turns y Suspicious (y reaches a1).
      const itemA = changing(await itemFor(ctxA, a1, '198.51.100.71'), '198.51.100.71', 'Malicious');
      const itemB = changing(await itemFor(ctxB, a2, '198.51.100.72'), '198.51.100.72', 'Suspicious');
      // Someone (an analyst's override) holds `between`: A waits there, holding what it locked before it.
      await blocker.query('BEGIN');
      await blocker.query('SELECT id FROM alerts WHERE id = $1 FOR UPDATE', [between]);
      const committedA = commitAlert(ctxA, itemA);
      await waitersOnLocks(1);
      const committedB = commitAlert(ctxB, itemB);
      await waitersOnLocks(2);
      await blocker.query('COMMIT');
      const outcomes = await Promise.allSettled([committedA, committedB]);
      expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : o.status))).toEqual([
        'fulfilled',
        'fulfilled',
      ]);
      const ranks = await h.query<{ id: number; rank: number }>(
        'SELECT id::int, indicators_malice_rank AS rank FROM alerts WHERE id = ANY($1) ORDER BY id',
        [ids],
      );
      expect(ranks.map((r) => r.rank)).toEqual([5, 5, 5]);
    } finally {
      blocker.release();
      await second.db.destroy();
    }
  });
});

describe("an analyst's verdict saved while a commit waits on the alert", () => {
  it("is in the alert's verdict columns afterwards (they are computed after the alert is locked, not before)", async () => {
    const res = await h.request('POST', '/v1/ingest/generic', {
      json: { title: 'verdict columns: analyst meanwhile' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(202);
    const [alert] = await h.query<{ id: number }>('SELECT id FROM alerts WHERE uuid = $1', [res.body.data.alert_uuid]);
    const alertId = Number(alert?.id);
    const ctx = contextFor(h.deps, SYSTEM);
    // The alert links two indicators; its enrichment answers one of them again, same verdict.
    const item = await itemFor(ctx, alertId, '198.51.100.81');
    await commitAlert(ctx, item);
    await commitAlert(ctx, await itemFor(ctx, alertId, '198.51.100.82'));
    const again = await itemFor(ctx, alertId, '198.51.100.81');
    const second = createDb({ url: h.databaseUrl, max: 1 });
    const analyst = await second.pool.connect();
    try {
      // The analyst's verdict on the other indicator: its trigger holds the alert until the analyst commits.
      await analyst.query('BEGIN');
      await analyst.query(
        "UPDATE indicators SET malice = 'Malicious', malice_source = 'analyst' WHERE type = 'ip' AND value = '198.51.100.82'",
      );
      const committed = commitAlert(ctx, {
        ...again,
        updates: again.updates.map((u) => ({ ...u, changed: u.value === '198.51.100.81' })),
      });
      await waitersOnLocks(1);
      await analyst.query('COMMIT');
      await committed;
      const [row] = await h.query<{ rank: number }>('SELECT indicators_malice_rank AS rank FROM alerts WHERE id = $1', [
        alertId,
      ]);
      expect(row?.rank).toBe(5);
    } finally {
      analyst.release();
      await second.db.destroy();
    }
  });
});

describe('an indicator another process creates while the commit inserts it', () => {
  it('is linked to the alert all the same, and counted as its link (its row is read by a statement of its own)', async () => {
    const alertId = await ingest('01_sentinel_brute_force_tor.json', 'sentinel');
    const ctx = contextFor(h.deps, SYSTEM);
    const item = await itemFor(ctx, alertId, '198.51.100.201');
    expect(item.stored.get('ip\u0000198.51.100.201')?.id).toBeNull(); // new when the job read it
    const other = createDb({ url: h.databaseUrl, max: 1 });
    const creator = await other.pool.connect();
    try {
      await creator.query('BEGIN');
      const { rows } = await creator.query<{ id: string }>(
        "INSERT INTO indicators (uuid, type, value, first_seen, last_seen) VALUES (gen_random_uuid(), 'ip', '198.51.100.201', now(), now()) RETURNING id",
      );
      const committing = commitAlert(ctx, item);
      await waitersOnLocks(1); // our insert waits on theirs, then skips it as a conflict
      await creator.query('COMMIT');
      const committed = await committing;
      const links = await h.query<{ indicator_id: number }>(
        'SELECT indicator_id FROM alert_indicators WHERE alert_id = $1',
        [alertId],
      );
      expect(links.map((l) => Number(l.indicator_id))).toContain(Number(rows[0]?.id));
      // The commit knows it made the link (what its payload and activity event are built from).
      const [event] = await h.query<{ references: { new_links: number } }>(
        'SELECT "references" FROM activity_events WHERE alert_id = $1 AND event_type = \'alert_indicators_extracted\'',
        [alertId],
      );
      expect(event?.references.new_links).toBe(1);
      expect(committed.subject.indicator_types).toEqual(['ip']);
    } finally {
      creator.release();
      await other.db.destroy();
    }
  });
});
