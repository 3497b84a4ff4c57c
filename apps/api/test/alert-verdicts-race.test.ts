import { addAlertIndicators, contextFor, SYSTEM } from '@calseta/core';
import { createDb, type Db } from '@calseta/db';
import type { ExtractedIndicator } from '@calseta/schema';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { linkIndicators } from '../../../packages/core/src/ingest/extract-alert-indicators.js';
import { type AlertToCommit, commitAlert } from '../../../packages/core/src/pipeline/commit-alert.js';
import { createHarness, type Harness } from './harness.js';
import { lockWaiters, pipelineItem } from './pipeline-items.js';

/**
 * An alert's verdict columns when the pipeline changes an indicator's verdict while another
 * transaction links that indicator to an alert outside the batch (an analyst adding indicators,
 * another worker's batch). Each side computes alert verdicts from what it can see: without a lock
 * between them, the pipeline refreshes the alerts linked to the indicator as of its snapshot (not the
 * uncommitted link) and the linker ranks its alert with the verdict as it stood (not the uncommitted
 * change) — write skew, the other alert left Benign beside a Malicious indicator. The linker's
 * `FOR SHARE` and the pipeline's `FOR NO KEY UPDATE` on the indicator (commit-alert.ts
 * lockIndicators, extract-alert-indicators.ts linkIndicators) make the later one wait. The first
 * and third cases fail without them (the pipeline, or the other batch, runs through and the other
 * alert stays Benign); in the second, the analyst's link waited before too (its `INSERT … ON
 * CONFLICT DO NOTHING` of the indicator waits on the row's uncommitted update), now on its lock.
 */
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

async function newAlert(title: string): Promise<number> {
  const res = await h.request('POST', '/v1/ingest/generic', { json: { title, severity: 'high' } });
  expect(res.status, JSON.stringify(res.body)).toBe(202);
  const [row] = await h.query<{ id: number }>('SELECT id FROM alerts WHERE uuid = $1', [res.body.data.alert_uuid]);
  return Number(row?.id);
}

/** The alert's stored verdict columns and a fresh computation from its links. */
async function columns(alertId: number) {
  const [row] = await h.query<{ stored: number[]; fresh: number[] }>(
    `SELECT ARRAY[a.indicators_malice_rank, a.indicator_count] AS stored,
       ARRAY[(SELECT COALESCE(max(CASE i.malice WHEN 'Malicious' THEN 5 WHEN 'Suspicious' THEN 4 WHEN 'Benign' THEN 3
                 WHEN 'Context' THEN 2 WHEN 'Unknown' THEN 1 WHEN 'Pending' THEN 0 END), 0)
              FROM alert_indicators ai JOIN indicators i ON i.id = ai.indicator_id WHERE ai.alert_id = a.id),
             (SELECT count(*) FROM alert_indicators ai WHERE ai.alert_id = a.id)]::int[] AS fresh
     FROM alerts a WHERE a.id = $1`,
    [alertId],
  );
  return row;
}

/**
 * Two alerts and a Benign indicator linked to the first; the first's enrichment (the pipeline item)
 * turns it Malicious. The test then links it to the second.
 */
async function scenario(value: string) {
  const batch = await newAlert(`write skew ${value}: the batch alert`);
  const other = await newAlert(`write skew ${value}: the other alert`);
  const [indicator] = await h.query<{ id: number }>(
    "INSERT INTO indicators (uuid, type, value, malice, first_seen, last_seen) VALUES (gen_random_uuid(), 'ip', $1, 'Benign', now(), now()) RETURNING id",
    [value],
  );
  await h.query("INSERT INTO alert_indicators (alert_id, indicator_id, source_field) VALUES ($1, $2, 'src_ip')", [
    batch,
    Number(indicator?.id),
  ]);
  const ctx = contextFor(h.deps, SYSTEM);
  const settled = await pipelineItem(ctx, batch, value);
  const item: AlertToCommit = {
    ...settled,
    updates: settled.updates.map((u) => ({ ...u, verdict: 'Malicious', changed: true })),
  };
  return { batch, other, ctx, item };
}

/** A transaction of `db` kept open until `commit()` (the analyst's request, paused mid-way). */
function heldTransaction(db: Db): { trx: Promise<Db>; commit(): Promise<void> } {
  let entered!: (trx: Db) => void;
  let release!: () => void;
  const trx = new Promise<Db>((resolve) => (entered = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const done = db.transaction().execute(async (t) => {
    entered(t);
    await released;
  });
  return {
    trx,
    commit: async () => {
      release();
      await done;
    },
  };
}

const manual = (value: string) => [{ type: 'ip', value, source_field: 'manual' } as ExtractedIndicator];

/** A second connection holding the batch alert `FOR SHARE`: the pipeline's commit stops at its alert lock. */
async function holdAlert(url: string, alertId: number) {
  const second = createDb({ url, max: 1 });
  const client = await second.pool.connect();
  await client.query('BEGIN');
  await client.query('SELECT 1 FROM alerts WHERE id = $1 FOR SHARE', [alertId]);
  return {
    release: async () => {
      await client.query('ROLLBACK');
      client.release();
      await second.db.destroy();
    },
  };
}

describe('the pipeline turning an indicator Malicious while another transaction links it to another alert', () => {
  it('the link first: the pipeline waits for it, then refreshes the other alert', async () => {
    const { batch, other, ctx, item } = await scenario('198.51.100.91');
    const analyst = createDb({ url: h.databaseUrl, max: 1 });
    try {
      const link = heldTransaction(analyst.db);
      await linkIndicators(await link.trx, other, manual('198.51.100.91'));
      const committing = commitAlert(ctx, item);
      await lockWaiters(h, 1, committing);
      await link.commit();
      await committing;
    } finally {
      await analyst.db.destroy();
    }
    expect(await columns(batch)).toEqual({ stored: [5, 1], fresh: [5, 1] });
    expect(await columns(other)).toEqual({ stored: [5, 1], fresh: [5, 1] });
  });

  it('the verdict first: the link waits for it, then ranks the other alert with it', async () => {
    const { batch, other, ctx, item } = await scenario('198.51.100.92');
    const analyst = createDb({ url: h.databaseUrl, max: 1 });
    const held = await holdAlert(h.databaseUrl, batch);
    try {
      // The pipeline has written the verdict and waits to lock its alert.
      const committing = commitAlert(ctx, item);
      await lockWaiters(h, 1, committing);
      const link = heldTransaction(analyst.db);
      const linking = link.trx.then((trx) => linkIndicators(trx, other, manual('198.51.100.92')));
      await lockWaiters(h, 2, linking);
      await held.release();
      await committing;
      await linking;
      await link.commit();
    } finally {
      await analyst.db.destroy();
    }
    expect(await columns(batch)).toEqual({ stored: [5, 1], fresh: [5, 1] });
    expect(await columns(other)).toEqual({ stored: [5, 1], fresh: [5, 1] });
  });

  it('another worker’s batch linking it: that batch waits for the verdict', async () => {
    const { batch, other, ctx, item } = await scenario('198.51.100.93');
    // Another process: its own pool, so its own group commit and transaction.
    const second = createDb({ url: h.databaseUrl, max: 2 });
    const otherCtx = { ...ctx, db: second.db };
    const held = await holdAlert(h.databaseUrl, batch);
    try {
      const committing = commitAlert(ctx, item);
      await lockWaiters(h, 1, committing);
      // The other alert's enrichment links the indicator and writes nothing to it.
      const linkOnly = { ...(await pipelineItem(otherCtx, other, '198.51.100.93')), updates: [] };
      const linking = commitAlert(otherCtx, linkOnly);
      await lockWaiters(h, 2, linking);
      await held.release();
      await Promise.all([committing, linking]);
    } finally {
      await second.db.destroy();
    }
    expect(await columns(batch)).toEqual({ stored: [5, 1], fresh: [5, 1] });
    expect(await columns(other)).toEqual({ stored: [5, 1], fresh: [5, 1] });
  });

  it('many at once (two workers, analysts; shared indicators, any order): no deadlock, no stale alert', async () => {
    const values = ['198.51.100.94', '198.51.100.95', '198.51.100.96'];
    for (const value of values) {
      await h.query(
        "INSERT INTO indicators (uuid, type, value, malice, first_seen, last_seen) VALUES (gen_random_uuid(), 'ip', $1, 'Benign', now(), now())",
        [value],
      );
    }
    const alerts = [];
    for (let i = 0; i < 16; i++) alerts.push(await newAlert(`write skew, many: ${i}`));
    const ctx = contextFor(h.deps, SYSTEM);
    const second = createDb({ url: h.databaseUrl, max: 3 });
    const analysts = createDb({ url: h.databaseUrl, max: 4 });
    const verdicts = ['Malicious', 'Suspicious', 'Benign'] as const;
    try {
      // Items are built before any commit (as jobs read before they commit), then all run together.
      const work: Array<() => Promise<unknown>> = [];
      for (const [i, alertId] of alerts.entries()) {
        const value = values[i % values.length] as string;
        if (i % 4 === 3) {
          const pair = [value, values[(i + 1) % values.length] as string];
          work.push(() =>
            analysts.db.transaction().execute((trx) => linkIndicators(trx, alertId, pair.flatMap(manual))),
          );
          continue;
        }
        const workerCtx = i % 2 === 0 ? ctx : { ...ctx, db: second.db };
        const settled = await pipelineItem(workerCtx, alertId, value);
        const verdict = verdicts[i % verdicts.length] as (typeof verdicts)[number];
        const item = { ...settled, updates: settled.updates.map((u) => ({ ...u, verdict, changed: true })) };
        work.push(() => commitAlert(workerCtx, item));
      }
      // A batch that fails (a deadlock) is retried alert by alert and logged: none may.
      const warn = vi.spyOn(ctx.logger, 'warn');
      const outcomes = await Promise.allSettled(work.map((run) => run()));
      expect(warn.mock.calls.map((call) => JSON.stringify(call))).toEqual([]);
      warn.mockRestore();
      expect(
        outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason)),
      ).toEqual([]);
    } finally {
      await second.db.destroy();
      await analysts.db.destroy();
    }
    for (const alertId of alerts) {
      const row = await columns(alertId);
      expect(row?.stored, `alert ${alertId}`).toEqual(row?.fresh);
    }
  });
});

describe('an analyst linking indicators to an alert while the pipeline commits its enrichment', () => {
  it('neither deadlocks: both hold the link’s key-share lock on the alert, and lock it for no key update', async () => {
    const alertId = await newAlert('links from two sides');
    const ctx = contextFor(h.deps, SYSTEM);
    const item = await pipelineItem(ctx, alertId, '198.51.100.97');
    const analyst = createDb({ url: h.databaseUrl, max: 1 });
    const held = await holdAlert(h.databaseUrl, alertId);
    const link = heldTransaction(analyst.db);
    try {
      // The pipeline has linked its indicator and waits to lock the alert...
      const committing = commitAlert(ctx, item);
      await lockWaiters(h, 1, committing);
      // ...the analyst links another, and waits too (0025's FOR UPDATE: on the pipeline's key-share lock).
      const linking = link.trx.then((trx) => linkIndicators(trx, alertId, manual('198.51.100.98')));
      await lockWaiters(h, 2, linking);
      await held.release();
      const outcomes = await Promise.allSettled([committing, linking.then(() => link.commit())]);
      expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : o.status))).toEqual([
        'fulfilled',
        'fulfilled',
      ]);
    } finally {
      await link.commit().catch(() => undefined);
      await analyst.db.destroy();
    }
    expect(await columns(alertId)).toEqual({ stored: [1, 2], fresh: [1, 2] });
  });
});

describe('two workers’ batches and an analyst creating one new indicator at once', () => {
  it('no deadlock: both batches wait on the analyst’s insert, then write it one after the other', async () => {
    // Found by review27. Both batches hold the indicator as new; the analyst inserts it first, so
    // both read it back as created elsewhere (the raced path) and then write its first answers.
    const value = '198.51.100.99';
    const [first, second, third] = [await newAlert('raced 1'), await newAlert('raced 2'), await newAlert('raced 3')];
    const ctx = contextFor(h.deps, SYSTEM);
    const one = createDb({ url: h.databaseUrl, max: 2 });
    const two = createDb({ url: h.databaseUrl, max: 2 });
    const analyst = createDb({ url: h.databaseUrl, max: 1 });
    const warn = vi.spyOn(ctx.logger, 'warn');
    try {
      const ctx1 = { ...ctx, db: one.db };
      const ctx2 = { ...ctx, db: two.db };
      const item1 = await pipelineItem(ctx1, first, value);
      const item2 = await pipelineItem(ctx2, second, value);
      expect([...item1.stored.values()].map((i) => i.id)).toEqual([null]);
      const link = heldTransaction(analyst.db);
      await linkIndicators(await link.trx, third, manual(value));
      const committing = [commitAlert(ctx1, item1), commitAlert(ctx2, item2)];
      await lockWaiters(h, 2);
      await link.commit();
      const outcomes = await Promise.allSettled(committing);
      expect(outcomes.map((o) => (o.status === 'rejected' ? String(o.reason) : o.status))).toEqual([
        'fulfilled',
        'fulfilled',
      ]);
      // A failed batch (a deadlock) would have been retried alert by alert, and logged.
      expect(warn.mock.calls.map((call) => JSON.stringify(call))).toEqual([]);
    } finally {
      warn.mockRestore();
      await Promise.all([one.db.destroy(), two.db.destroy(), analyst.db.destroy()]);
    }
    for (const alertId of [first, second, third]) {
      const row = await columns(alertId);
      expect(row?.stored, `alert ${alertId}`).toEqual(row?.fresh);
    }
  });
});

describe('an analyst adding indicators while another writer creates one of them and updates another', () => {
  it('a deadlock Postgres breaks by failing the analyst is repeated: one link each, one activity row, one job', async () => {
    // Found by review28. The analyst share-locks the existing indicator X first; the writer has
    // inserted Y (uncommitted) and then updates X: the analyst's insert of Y waits on the writer, the
    // writer's update on the analyst — a cycle. Without retryOnDeadlock (alerts/write.ts) the
    // request fails with 40P01.
    const alertId = await newAlert('analyst deadlock');
    const [row] = await h.query<{ uuid: string }>('SELECT uuid FROM alerts WHERE id = $1', [alertId]);
    const [x] = await h.query<{ id: number }>(
      "INSERT INTO indicators (uuid, type, value, malice, first_seen, last_seen) VALUES (gen_random_uuid(), 'ip', '198.51.100.210', 'Benign', now(), now()) RETURNING id",
    );
    const deadlocks = async () =>
      Number(
        (
          await h.query<{ n: string }>('SELECT deadlocks AS n FROM pg_stat_database WHERE datname = current_database()')
        )[0]?.n,
      );
    const before = await deadlocks();
    const writer = createDb({ url: h.databaseUrl, max: 1 });
    const client = await writer.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query("SET LOCAL deadlock_timeout = '1min'"); // the analyst is the one Postgres fails
      await client.query(
        "INSERT INTO indicators (uuid, type, value, malice, first_seen, last_seen) VALUES (gen_random_uuid(), 'ip', '198.51.100.211', 'Pending', now(), now())",
      );
      const analyst = addAlertIndicators(contextFor(h.deps, SYSTEM), {
        uuid: row?.uuid as string,
        input: {
          indicators: [
            { type: 'ip', value: '198.51.100.210' },
            { type: 'ip', value: '198.51.100.211' },
          ],
        },
        enrich: true,
      });
      await lockWaiters(h, 1, analyst); // the analyst waits on the writer's new row
      await client.query("UPDATE indicators SET malice = 'Malicious' WHERE id = $1", [x?.id]);
      await client.query('COMMIT');
      expect(await analyst).toMatchObject({ added_count: 2, enrich_requested: true });
    } finally {
      client.release();
      await writer.db.destroy();
    }
    expect(await deadlocks()).toBe(before + 1);
    const activity = await h.query(
      "SELECT 1 FROM activity_events WHERE alert_id = $1 AND event_type = 'alert_indicators_added'",
      [alertId],
    );
    expect(activity).toHaveLength(1);
    const jobs = await h.query(
      "SELECT 1 FROM pgboss.job WHERE name = 'enrich-alert' AND (data->>'alert_id')::bigint = $1 AND data->>'reason' = 'indicators_added'",
      [alertId],
    );
    expect(jobs).toHaveLength(1);
    const stored = await columns(alertId);
    expect(stored?.stored).toEqual(stored?.fresh);
  });
});
