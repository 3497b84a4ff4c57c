import type { Db } from '@calseta/db';
import { createDb } from '@calseta/db';
import { createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { Notifications } from '../notifications.js';
import { PAUSES_CHANNEL, PgRateGovernor, type ProviderRateLimits } from './pg-rate.js';

const LIMITS: Record<string, ProviderRateLimits> = {
  three_per_minute: { perMinute: 3, perDay: null },
  rolling_minute: { perMinute: 2, perDay: null },
  two_per_day: { perMinute: null, perDay: 2 },
  paused: { perMinute: null, perDay: null },
  paused_twice: { perMinute: 100, perDay: null },
  shared: { perMinute: 4, perDay: 100 },
  concurrent: { perMinute: 5, perDay: null },
  quota: { perMinute: 3, perDay: 10 },
};

let t: TestDatabase;
// Two "processes": independent pools on the same database.
let dbB: Db;
let a: PgRateGovernor;
let b: PgRateGovernor;

beforeAll(async () => {
  t = await createTestDatabase();
  dbB = createDb({ url: t.url, max: 5, applicationName: 'calseta-test-b' }).db;
  a = new PgRateGovernor(t.db, LIMITS);
  b = new PgRateGovernor(dbB, (provider) => LIMITS[provider]);
});
afterAll(async () => {
  await dbB?.destroy();
  await t?.drop();
});

async function acquireMany(governor: PgRateGovernor, provider: string, n: number) {
  const decisions = [];
  for (let i = 0; i < n; i++) decisions.push(await governor.acquire(provider));
  return decisions;
}

describe('PgRateGovernor', () => {
  it('allows the per-minute limit, then denies until the next minute', async () => {
    const decisions = await acquireMany(a, 'three_per_minute', 4);
    expect(decisions.slice(0, 3)).toEqual([{ ok: true }, { ok: true }, { ok: true }]);
    const denied = decisions[3];
    expect(denied?.ok).toBe(false);
    if (denied?.ok !== false) return;
    expect(denied.retryAfterMs).toBeGreaterThan(0);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(60_000);
    const row = await t.db
      .selectFrom('provider_rate_state')
      .selectAll()
      .where('provider_name', '=', 'three_per_minute')
      .executeTakeFirstOrThrow();
    expect(row.minute_count).toBe(3);
    expect(row.day_count).toBe(3);
  });

  it('rolls the minute window', async () => {
    await acquireMany(a, 'rolling_minute', 2);
    expect((await a.acquire('rolling_minute')).ok).toBe(false);
    await t.db
      .updateTable('provider_rate_state')
      .set({ window_minute: sql<Date>`window_minute - interval '1 minute'` })
      .where('provider_name', '=', 'rolling_minute')
      .execute();
    expect(await a.acquire('rolling_minute')).toEqual({ ok: true });
    const row = await t.db
      .selectFrom('provider_rate_state')
      .select(['minute_count', 'day_count'])
      .where('provider_name', '=', 'rolling_minute')
      .executeTakeFirstOrThrow();
    expect(row).toEqual({ minute_count: 1, day_count: 3 });
  });

  it('enforces the per-day limit and rolls the day window', async () => {
    expect(await acquireMany(a, 'two_per_day', 2)).toEqual([{ ok: true }, { ok: true }]);
    const denied = await a.acquire('two_per_day');
    expect(denied.ok).toBe(false);
    if (denied.ok) return;
    // Until the next UTC midnight: more than a minute away unless the test runs at 23:59.
    expect(denied.retryAfterMs).toBeGreaterThan(0);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(86_400_000);
    await t.db
      .updateTable('provider_rate_state')
      .set({ window_day: sql<string>`window_day - 1` })
      .where('provider_name', '=', 'two_per_day')
      .execute();
    expect(await a.acquire('two_per_day')).toEqual({ ok: true });
  });

  it('denies while paused, with the remaining pause as retryAfterMs', async () => {
    expect(await a.acquire('paused')).toEqual({ ok: true });
    await a.pause('paused', 5_000);
    const denied = await b.acquire('paused');
    expect(denied.ok).toBe(false);
    if (denied.ok) return;
    expect(denied.retryAfterMs).toBeGreaterThan(4_000);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(5_000);
    // A provider without limits is never counted: only its pause is stored.
    const row = await t.db
      .selectFrom('provider_rate_state')
      .select('minute_count')
      .where('provider_name', '=', 'paused')
      .executeTakeFirstOrThrow();
    expect(row.minute_count).toBe(0);
    await t.db
      .updateTable('provider_rate_state')
      .set({ paused_until: sql<Date>`now() - interval '1 second'` })
      .where('provider_name', '=', 'paused')
      .execute();
    expect(await a.acquire('paused')).toEqual({ ok: true });
  });

  it('never shortens a pause, and pauses a provider never seen before', async () => {
    await a.pause('paused_twice', 60_000);
    await b.pause('paused_twice', 1_000);
    const denied = await a.acquire('paused_twice');
    expect(denied.ok).toBe(false);
    if (denied.ok) return;
    expect(denied.retryAfterMs).toBeGreaterThan(55_000);
    expect(denied.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('shares counts between processes', async () => {
    expect(await a.acquire('shared')).toEqual({ ok: true });
    expect(await b.acquire('shared')).toEqual({ ok: true });
    expect(await a.acquire('shared')).toEqual({ ok: true });
    expect(await b.acquire('shared')).toEqual({ ok: true });
    expect((await a.acquire('shared')).ok).toBe(false);
    expect((await b.acquire('shared')).ok).toBe(false);
  });

  it('never overshoots under concurrent acquires from both processes', async () => {
    const decisions = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).acquire('concurrent')),
    );
    expect(decisions.filter((d) => d.ok)).toHaveLength(5);
  });

  it('reports remaining quota and pauses', async () => {
    expect(await a.remaining('quota')).toEqual({ minute_remaining: 3, day_remaining: 10, paused_until: null });
    await acquireMany(a, 'quota', 2);
    expect(await b.remaining('quota')).toEqual({ minute_remaining: 1, day_remaining: 8, paused_until: null });
    await b.pause('quota', 30_000);
    const quota = await a.remaining('quota');
    expect(quota.paused_until).toBeInstanceOf(Date);
    expect((quota.paused_until as Date).getTime()).toBeGreaterThan(Date.now() + 20_000);
    // A new minute: the minute quota is full again, the day's is not.
    await t.db
      .updateTable('provider_rate_state')
      .set({ window_minute: sql<Date>`window_minute - interval '1 minute'` })
      .where('provider_name', '=', 'quota')
      .execute();
    expect(await a.remaining('quota')).toMatchObject({ minute_remaining: 3, day_remaining: 8 });
  });

  it('treats providers without limits as unlimited and writes nothing for them', async () => {
    expect(await acquireMany(b, 'no_limits', 5)).toEqual(Array.from({ length: 5 }, () => ({ ok: true })));
    expect(await b.remaining('no_limits')).toEqual({ minute_remaining: null, day_remaining: null, paused_until: null });
    const rows = await t.db
      .selectFrom('provider_rate_state')
      .select('day_count')
      .where('provider_name', '=', 'no_limits')
      .execute();
    expect(rows).toEqual([]);
  });

  it('with a listener, unlimited providers are judged from memory and pauses arrive from other processes', async () => {
    const notifications = new Notifications(t.url, createLogger({ service: 'test', level: 'silent' }));
    try {
      const c = new PgRateGovernor(dbB, () => ({ perMinute: null, perDay: null }));
      await c.attach(notifications);
      expect(await c.acquire('remote_pause')).toEqual({ ok: true });
      // Another process pauses it: this one learns it from the notification, not by querying.
      const heard = new Promise<void>((resolve) => {
        void notifications.listen(PAUSES_CHANNEL, (payload) => {
          if (payload.startsWith('remote_pause ')) resolve();
        });
      });
      await a.pause('remote_pause', 5_000);
      await heard;
      const denied = await c.acquire('remote_pause');
      expect(denied.ok).toBe(false);
      if (!denied.ok) expect(denied.retryAfterMs).toBeGreaterThan(4_000);
      // A pause stored before attaching is loaded on attach.
      const d = new PgRateGovernor(t.db, () => ({ perMinute: null, perDay: null }));
      await d.attach(notifications);
      expect((await d.acquire('remote_pause')).ok).toBe(false);
    } finally {
      await notifications.stop();
    }
  });
});
