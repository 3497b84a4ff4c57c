import { contextFor, SYSTEM } from '@calseta/core';
import { createDb } from '@calseta/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AlertToCommit, commitAlert } from '../../../packages/core/src/pipeline/commit-alert.js';
import { settleEnrichment } from '../../../packages/core/src/pipeline/enrich-alert.js';
import { loadAlert, storedIndicators } from '../../../packages/core/src/pipeline/load.js';
import { fixture } from './fixtures.js';
import { createHarness, type Harness } from './harness.js';

/**
 * The pipeline's group commit (packages/core/src/pipeline/commit-alert.ts) against a real Postgres,
 * two workers' transactions at once — what a second worker process does.
 */
let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

const keyOf = (i: { type: string; value: string }) => `${i.type}\u0000${i.value}`;

/** One alert's pipeline result linking `value` (an existing indicator) with a changed answer. */
async function itemFor(ctx: ReturnType<typeof contextFor>, alertId: number, value: string): Promise<AlertToCommit> {
  const alert = await loadAlert(ctx.db, alertId);
  if (alert === null) throw new Error('alert missing');
  const extracted = [{ type: 'ip', value, source_field: 'review.ip' }];
  const stored = await storedIndicators(ctx.db, alertId, extracted);
  const now = new Date();
  const { updates, summary } = settleEnrichment(stored, [{ results: [] } as never], 0, now);
  return {
    data: { alert_id: alertId, reason: 'ingest' },
    alert,
    extraction: { indicators: extracted as never, references: {} },
    stored: new Map(stored.map((i) => [keyOf(i), i])),
    updates: updates.map((u) => ({ ...u, changed: true })),
    summary,
    now,
    attempt: 0,
  };
}

/** Resolves once `n` backends of the test database wait on a lock (polled through Postgres, no timer). */
async function waitersOnLocks(n: number): Promise<void> {
  for (let i = 0; i < 5_000; i++) {
    const [row] = await h.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    );
    if ((row?.n ?? 0) >= n) return;
  }
  throw new Error(`never saw ${n} lock waiters`);
}

describe('two workers committing alerts that share an indicator', () => {
  it('do not deadlock (the link’s key-share lock and the verdict write’s row lock)', async () => {
    for (const [name, source] of [
      ['01_sentinel_brute_force_tor.json', 'sentinel'],
      ['02_elastic_malware_hash.json', 'elastic'],
    ] as const) {
      expect((await h.request('POST', `/v1/ingest/${source}`, { json: fixture(name) })).status).toBe(202);
    }
    const alertIds = (await h.query<{ id: number }>('SELECT id FROM alerts ORDER BY id')).map((r) => Number(r.id));
    expect(alertIds).toHaveLength(2);
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
