import type { Db } from '@calseta/db';
import { createDb } from '@calseta/db';
import { closedPortUrl, createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import type { HttpPort } from '@calseta/enrichment-engine';
import { defineProvider, enrichIndicator, PortError } from '@calseta/enrichment-engine';
import { fakeHttp, jsonResponse, memoryPorts } from '@calseta/enrichment-engine/testing';
import type { EnrichmentProviderResult } from '@calseta/schema';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { Notifications } from '../notifications.js';
import { PgEnrichmentCache } from './pg-cache.js';
import {
  CoalescedCallFailedError,
  ENRICHMENT_DONE_CHANNEL,
  PgCoalescer,
  type PgCoalescerOptions,
} from './pg-coalesce.js';

const logger = createLogger({ service: 'test', level: 'silent' });
// Long enough that only a notification can end a wait within a test's timeout.
const NEVER_STALE_MS = 120_000;

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function deferred<T = void>(): Deferred<T> {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

function success(value: string, note = 'live'): EnrichmentProviderResult {
  return {
    provider_name: 'virustotal',
    status: 'success',
    extracted: { value, note },
    verdict: 'Benign',
    explanation: null,
    raw: { value },
    fetched_at: new Date().toISOString(),
    error_message: null,
    duration_ms: 1,
    cache_hit: false,
    skip_reason: null,
    rate_limited: false,
    retry_after_ms: null,
  };
}

/** One simulated process: its own pool, LISTEN connection, cache and coalescer. */
interface Proc {
  db: Db;
  notifications: Notifications;
  cache: PgEnrichmentCache;
  coalescer: PgCoalescer;
  /** Resolves on the next time this process starts waiting on another's claim. */
  nextWait(): Promise<string>;
}

let t: TestDatabase;
const procs: Proc[] = [];

function proc(options: Partial<PgCoalescerOptions> = {}): Proc {
  const { db } = createDb({ url: t.url, max: 5, applicationName: 'calseta-test-proc' });
  const notifications = new Notifications(t.url, logger);
  const cache = new PgEnrichmentCache(db);
  const waitListeners: Array<(key: string) => void> = [];
  const coalescer = new PgCoalescer({
    db,
    notifications,
    cache,
    logger,
    staleAfterMs: NEVER_STALE_MS,
    onWait: (key) => {
      for (const listener of waitListeners.splice(0)) listener(key);
    },
    ...options,
  });
  const p: Proc = {
    db,
    notifications,
    cache,
    coalescer,
    nextWait: () => new Promise((resolve) => waitListeners.push(resolve)),
  };
  procs.push(p);
  return p;
}

beforeAll(async () => {
  t = await createTestDatabase();
});
afterEach(async () => {
  for (const p of procs.splice(0)) {
    await p.coalescer.released();
    await p.notifications.stop();
    await p.db.destroy();
  }
});
afterAll(() => t?.drop());

async function claims(value: string) {
  return t.db.selectFrom('enrichment_inflight').selectAll().where('indicator_value', '=', value).execute();
}

/** One provider for the engine's enrichments in these tests. */
const VIRUSTOTAL = defineProvider({
  provider_name: 'virustotal',
  display_name: 'VirusTotal',
  supported_indicator_types: ['ip'],
  http_config: { steps: [{ url: 'https://vt.test/ip/{{value}}' }] },
});

/** The engine's enrichment of the ip `value` by one provider, through `p`'s cache and coalescer. */
function enrichWith(p: Proc, value: string, http: HttpPort) {
  return enrichIndicator({
    indicator: { type: 'ip', value },
    providers: [VIRUSTOTAL],
    ports: { ...memoryPorts(http), cache: p.cache, coalesce: p.coalescer },
    auth: () => ({}),
    options: { slim: true },
  });
}

/** Runs `fn` while another session holds `value`'s cache row uncommitted: an upsert of it waits. */
function whileCacheRowHeld<T>(value: string, fn: () => Promise<T>): Promise<T> {
  return t.db.connection().execute(async (conn) => {
    await sql`BEGIN`.execute(conn);
    await sql`INSERT INTO enrichment_cache (provider_name, indicator_type, indicator_value, status, result, expires_at)
      VALUES ('virustotal', 'ip', ${value}, 'success', '{}', now())`.execute(conn);
    try {
      return await fn();
    } finally {
      await sql`ROLLBACK`.execute(conn);
    }
  });
}

describe('PgCoalescer', () => {
  it('runs one call for 20 concurrent requests spread over two processes', { timeout: 10_000 }, async () => {
    const a = proc();
    const b = proc();
    const key = 'enrichment:virustotal:ip:198.51.100.1';
    const expected = success('198.51.100.1');
    const started = deferred();
    const gate = deferred();
    let calls = 0;
    // The engine's fn: call the provider, store the cacheable result, return it.
    const fnFor = (p: Proc) => async () => {
      calls++;
      started.resolve();
      await gate.promise;
      await p.cache.set(key, expected, 3600);
      return expected;
    };
    const waited = Promise.race([a.nextWait(), b.nextWait()]);
    const runs = Array.from({ length: 20 }, (_, i) => {
      const p = i % 2 === 0 ? a : b;
      return p.coalescer.run(key, fnFor(p));
    });
    // The winner's call is in flight and the other process is waiting on its claim.
    await Promise.all([started.promise, waited]);
    expect(await claims('198.51.100.1')).toHaveLength(1);
    gate.resolve();
    const results = await Promise.all(runs);
    expect(calls).toBe(1);
    expect(results).toHaveLength(20);
    // The owner's callers get its result; the other process's, the cached answer (without raw).
    for (const r of results) expect({ ...r, raw: null }).toEqual({ ...expected, raw: null });
    expect(a.coalescer.executions + b.coalescer.executions).toBe(1);
    expect(a.coalescer.joined + b.coalescer.joined).toBe(18);
    expect(a.coalescer.waits + b.coalescer.waits).toBe(1);
    // The claim is released.
    await a.coalescer.released();
    expect(await claims('198.51.100.1')).toHaveLength(0);
  });

  it("answers the owner's callers without waiting for the claim's release", { timeout: 10_000 }, async () => {
    const a = proc();
    const b = proc();
    const key = 'enrichment:virustotal:ip:198.51.100.10';
    const expected = success('198.51.100.10');
    const started = deferred();
    const gate = deferred();
    const owner = a.coalescer.run(key, async () => {
      started.resolve();
      await gate.promise;
      await a.cache.set(key, expected, 3600);
      return expected;
    });
    await started.promise;
    const waited = b.nextWait();
    const waiter = b.coalescer.run(key, async () => success('198.51.100.10', 'called twice'));
    await waited;
    // Another session holds the claim row: the owner's release (a DELETE of it) will block.
    const blocker = await t.db.connection().execute(async (conn) => {
      await sql`BEGIN`.execute(conn);
      await sql`SELECT 1 FROM enrichment_inflight WHERE indicator_value = '198.51.100.10' FOR UPDATE`.execute(conn);
      let answered = false;
      void owner.then(() => {
        answered = true;
      });
      gate.resolve();
      // Wait until the release is blocked on the row lock (an event in pg_stat_activity, not a timer).
      for (;;) {
        const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE wait_event_type = 'Lock' AND query LIKE '%DELETE FROM enrichment_inflight%'`.execute(t.db);
        if (rows[0]?.n === 1) break;
      }
      const beforeRelease = answered;
      await sql`COMMIT`.execute(conn);
      await owner;
      return beforeRelease;
    });
    // The owner's caller had its answer while the release was still blocked.
    expect(blocker).toBe(true);
    // The waiter elsewhere woke on the release's notification and read the cached answer.
    expect({ ...(await waiter), raw: null }).toEqual({ ...expected, raw: null });
    await a.coalescer.released();
    expect(await claims('198.51.100.10')).toHaveLength(0);
  });

  it("the engine's answer comes before its cache write commits; waiters elsewhere are woken only after it", {
    timeout: 10_000,
  }, async () => {
    const a = proc();
    const b = proc();
    const value = '9.9.9.11'; // global: enrichable
    const http = fakeHttp(() => jsonResponse({ data: { malicious: 0 } }));
    const enrich = (p: Proc) => enrichWith(p, value, http.port);
    // Another session inserts the key's cache row and keeps its transaction open: the owner's upsert
    // of that row waits for it.
    const held = await whileCacheRowHeld(value, async () => {
      const owner = await enrich(a);
      // a has its answer, its write still blocked; b, arriving now, waits on a's claim.
      const waited = b.nextWait();
      const waiter = enrich(b);
      await waited;
      expect(await claims(value)).toHaveLength(1);
      return { owner, waiter };
    });
    const result = { owner: held.owner, waiter: await held.waiter };
    expect(result.owner.results[0]).toMatchObject({ status: 'success', cache_hit: false });
    // b was woken after a's answer was stored: it read it instead of calling the provider again.
    expect(result.waiter.results[0]).toMatchObject({
      status: 'success',
      extracted: result.owner.results[0]?.extracted,
    });
    expect(http.calls).toHaveLength(1);
    await a.coalescer.released();
    expect(await claims(value)).toHaveLength(0);
  });

  it('the same process asking again before its cache write commits waits for the release, then reads the answer', {
    timeout: 10_000,
  }, async () => {
    const a = proc();
    const value = '9.9.9.12';
    const http = fakeHttp(() => jsonResponse({ data: { malicious: 0 } }));
    const held = await whileCacheRowHeld(value, async () => {
      const first = await enrichWith(a, value, http.port);
      expect(await claims(value)).toHaveLength(1);
      // The in-process flight has ended; the claim is still ours until the write ends.
      const waited = a.nextWait();
      const second = enrichWith(a, value, http.port);
      await waited;
      return { first, second };
    });
    const [first, second] = [held.first, await held.second];
    expect(first.results[0]).toMatchObject({ status: 'success', cache_hit: false });
    expect(second.results[0]).toMatchObject({ status: 'success', extracted: first.results[0]?.extracted });
    expect(http.calls).toHaveLength(1);
    expect(a.coalescer.executions).toBe(1);
    await a.coalescer.released();
    expect(await claims(value)).toHaveLength(0);
  });

  it('runs different keys independently, at the same time', { timeout: 10_000 }, async () => {
    const a = proc();
    const b = proc();
    const gate = deferred();
    const startedOne = deferred();
    const startedTwo = deferred();
    const one = a.coalescer.run('enrichment:virustotal:ip:198.51.100.2', async () => {
      startedOne.resolve();
      await gate.promise;
      return 'one';
    });
    const two = b.coalescer.run('enrichment:virustotal:ip:198.51.100.3', async () => {
      startedTwo.resolve();
      await gate.promise;
      return 'two';
    });
    const three = a.coalescer.run('enrichment:abuseipdb:ip:198.51.100.2', async () => {
      await startedOne.promise;
      await startedTwo.promise;
      return 'three';
    });
    // Both gated calls are running at once (each holds its own claim).
    await Promise.all([startedOne.promise, startedTwo.promise]);
    expect(await three).toBe('three');
    gate.resolve();
    expect(await Promise.all([one, two])).toEqual(['one', 'two']);
    expect(a.coalescer.waits + b.coalescer.waits).toBe(0);
  });

  it('a failed call does not leave waiters hanging: they retry once themselves', { timeout: 10_000 }, async () => {
    const a = proc();
    const b = proc();
    const key = 'enrichment:virustotal:ip:198.51.100.4';
    const started = deferred();
    const gate = deferred();
    const owner = a.coalescer.run(key, async () => {
      started.resolve();
      await gate.promise;
      throw new Error('provider exploded');
    });
    await started.promise;
    let retries = 0;
    const retried = success('198.51.100.4', 'retry');
    const waited = b.nextWait();
    const waiter = b.coalescer.run(key, async () => {
      retries++;
      await b.cache.set(key, retried, 3600);
      return retried;
    });
    await waited;
    gate.resolve();
    await expect(owner).rejects.toThrow('provider exploded');
    // Woken by the notification (the stale timer is two minutes), retried, got its own result.
    expect(await waiter).toEqual(retried);
    expect(retries).toBe(1);
    await b.coalescer.released();
    expect(await claims('198.51.100.4')).toHaveLength(0);
  });

  it('an uncached result (e.g. failed) also sends waiters to their single retry', { timeout: 10_000 }, async () => {
    const a = proc();
    const b = proc();
    const c = proc();
    const key = 'enrichment:virustotal:ip:198.51.100.5';
    const started = deferred();
    const gate = deferred();
    const failed = { ...success('x'), status: 'failed' as const, error_message: 'HTTP 500' };
    // A owns the call; B and C wait.
    const owner = a.coalescer.run(key, async () => {
      started.resolve();
      await gate.promise;
      return failed;
    });
    await started.promise;
    const bWaits = b.nextWait();
    const cWaits = c.nextWait();
    const retryGate = deferred();
    const retryStarted = deferred();
    let retries = 0;
    const retry = async () => {
      retries++;
      retryStarted.resolve();
      await retryGate.promise;
      return failed; // the retry fails too (nothing cached)
    };
    const bRun = b.coalescer.run(key, retry);
    const cRun = c.coalescer.run(key, retry);
    await Promise.all([bWaits, cWaits]);
    const secondWait = Promise.race([b.nextWait(), c.nextWait()]);
    gate.resolve();
    expect(await owner).toEqual(failed);
    // One of B and C won the retry claim; the other waits on it.
    await Promise.all([retryStarted.promise, secondWait]);
    retryGate.resolve();
    const settled = await Promise.allSettled([bRun, cRun]);
    const fulfilled = settled.filter((s) => s.status === 'fulfilled');
    const rejected = settled.filter((s) => s.status === 'rejected');
    expect(retries).toBe(1);
    expect(fulfilled).toHaveLength(1);
    expect(fulfilled[0]?.status === 'fulfilled' && fulfilled[0].value).toEqual(failed);
    expect(rejected).toHaveLength(1);
    expect(rejected[0]?.status === 'rejected' && rejected[0].reason).toBeInstanceOf(CoalescedCallFailedError);
    // Tagged for the engine, whose result then says so as data.
    expect(rejected[0]?.status === 'rejected' && rejected[0].reason).toMatchObject({ code: 'shared_call_lost' });
  });

  it('tags an unreachable database as unavailable: the engine reports port_unavailable, not a provider failure', {
    timeout: 10_000,
  }, async () => {
    const { db } = createDb({ url: await closedPortUrl(t.url), max: 1 });
    try {
      const coalescer = new PgCoalescer({
        db,
        notifications: { listen: async () => {}, onReconnect: () => {} },
        cache: { get: async () => undefined },
        logger,
      });
      const error = await coalescer.run('enrichment:virustotal:ip:198.51.100.9', async () => 'never').catch((e) => e);
      expect(error).toBeInstanceOf(PortError);
      expect(error).toMatchObject({ code: 'unavailable', cause: { code: 'ECONNREFUSED' } });

      const http = fakeHttp(() => jsonResponse({}));
      const outcome = await enrichIndicator({
        indicator: { type: 'ip', value: '8.8.8.8' },
        providers: [VIRUSTOTAL],
        ports: { ...memoryPorts(http.port), coalesce: coalescer },
        auth: () => ({}),
      });
      expect(outcome.results[0]).toMatchObject({ status: 'failed', failure_reason: 'port_unavailable' });
      expect(http.calls).toHaveLength(0);
    } finally {
      await db.destroy();
    }
  });

  it('takes over a claim whose owner died long ago', { timeout: 10_000 }, async () => {
    const a = proc({ staleAfterMs: 30_000 });
    await t.db
      .insertInto('enrichment_inflight')
      .values({
        provider_name: 'virustotal',
        indicator_type: 'ip',
        indicator_value: '198.51.100.6',
        owner: 'dead-process',
        started_at: sql<Date>`now() - interval '1 hour'`,
      })
      .execute();
    let calls = 0;
    const result = await a.coalescer.run('enrichment:virustotal:ip:198.51.100.6', async () => {
      calls++;
      const rows = await claims('198.51.100.6');
      expect(rows.map((r) => r.owner)).toEqual([a.coalescer.owner]);
      return 'fresh';
    });
    expect(result).toBe('fresh');
    expect(calls).toBe(1);
    expect(a.coalescer.waits).toBe(0);
    await a.coalescer.released();
    expect(await claims('198.51.100.6')).toHaveLength(0);
  });

  it('takes over the claim of a process that is gone at the next re-check, long before it goes stale', {
    timeout: 20_000,
  }, async () => {
    const a = proc();
    const threeRechecks = deferred();
    let rechecks = 0;
    const b = proc({
      recheckMs: 200,
      onRecheck: () => {
        if (++rechecks === 3) threeRechecks.resolve();
      },
    });
    const key = 'enrichment:virustotal:ip:198.51.100.9';
    const aCalled = deferred();
    const aHangs = deferred<string>();
    const aRun = a.coalescer.run(key, async () => {
      aCalled.resolve();
      return aHangs.promise;
    });
    await aCalled.promise;
    expect(a.coalescer.owner).toMatch(/^live:\d+:/);
    const waited = b.nextWait();
    const bRun = b.coalescer.run(key, async () => 'taken over');
    await waited;
    // Alive: b keeps waiting through several re-checks (the claim is fresh, its owner holds its lock).
    await threeRechecks.promise;
    expect(b.coalescer.executions).toBe(0);
    // a's connection ends, as when its process is killed: its liveness lock is released.
    const goneAt = performance.now();
    await a.notifications.stop();
    expect(await bRun).toBe('taken over');
    expect(performance.now() - goneAt).toBeLessThan(NEVER_STALE_MS / 10);
    expect(b.coalescer.executions).toBe(1);
    aHangs.resolve('late');
    expect(await aRun).toBe('late');
  });

  it('leaves a fresh claim alone until it goes stale, then takes it over', { timeout: 10_000 }, async () => {
    const a = proc({ staleAfterMs: 400 });
    await t.db
      .insertInto('enrichment_inflight')
      .values({ provider_name: 'virustotal', indicator_type: 'ip', indicator_value: '198.51.100.7', owner: 'silent' })
      .execute();
    let calls = 0;
    const waited = a.nextWait();
    const run = a.coalescer.run('enrichment:virustotal:ip:198.51.100.7', async () => {
      calls++;
      return 'after-takeover';
    });
    await waited;
    expect(calls).toBe(0);
    // The silent owner never notifies: the bounded fallback timer ends the wait, then the takeover.
    expect(await run).toBe('after-takeover');
    expect(calls).toBe(1);
    await a.coalescer.released();
    expect(await claims('198.51.100.7')).toHaveLength(0);
  });

  it('does not delete a claim that another process took over meanwhile', { timeout: 10_000 }, async () => {
    const a = proc();
    const key = 'enrichment:virustotal:ip:198.51.100.8';
    const result = await a.coalescer.run(key, async () => {
      await t.db
        .updateTable('enrichment_inflight')
        .set({ owner: 'usurper' })
        .where('indicator_value', '=', '198.51.100.8')
        .execute();
      return 'done';
    });
    expect(result).toBe('done');
    expect((await claims('198.51.100.8')).map((r) => r.owner)).toEqual(['usurper']);
  });

  it('announces completion on the shared channel with a fixed-size payload', { timeout: 10_000 }, async () => {
    const a = proc();
    const listener = new Notifications(t.url, logger);
    try {
      const heard = deferred<string>();
      await listener.listen(ENRICHMENT_DONE_CHANNEL, (payload) => heard.resolve(payload));
      await a.coalescer.run(`enrichment:urlscan:url:https://x.test/${'a'.repeat(9000)}`, async () => 1);
      expect(await heard.promise).toMatch(/^ok:[0-9a-f]{64}$/);
    } finally {
      await listener.stop();
    }
  });
});
