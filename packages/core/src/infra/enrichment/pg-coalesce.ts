import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Db } from '@calseta/db';
import { isDatabaseUnavailable } from '@calseta/db';
import { PortError } from '@calseta/enrichment-engine';
import { sql } from 'kysely';
import { livenessHeldSql } from '../liveness.js';
import type { Logger } from '../logger.js';
import type { Notifications } from '../notifications.js';
import { TickBatcher } from '../tick-batcher.js';
import { type CachePort, type CoalescePort, type EnrichmentKey, parseEnrichmentKey } from './ports.js';

/**
 * Channel on which claims' owners announce they are done: payload `ok|error:<sha256 of the key>`,
 * several separated by commas (the releases of one statement).
 */
export const ENRICHMENT_DONE_CHANNEL = 'calseta_enrichment_done';

/** Default age after which a claim counts as abandoned (2 × the default 10 s provider timeout, rounded up). */
export const DEFAULT_STALE_CLAIM_MS = 30_000;
/**
 * A waiter re-checks the claim at least this often: a claim whose owner process is gone (its
 * liveness lock released, system/liveness.ts) is taken over then, well within any provider's call
 * budget, instead of after `staleAfterMs`.
 */
export const DEFAULT_RECHECK_MS = 2_000;
/** An owner that could not release its claim (the database was away) retries this often. */
const RELEASE_RETRY_MS = 1_000;
/** Announcements per NOTIFY: far below Postgres's 8000-byte payload limit (each is ~70 bytes). */
const ANNOUNCEMENTS_PER_NOTIFY = 100;

/**
 * First word of {@link CoalescedCallFailedError}'s message (the provider result's `error_message`);
 * callers switch on the result's `failure_reason: 'shared_call_lost'`, not on this text.
 */
export const COALESCED_CALL_LOST = 'coalesced_call_lost';

/**
 * A waiter's shared call ended without a cached result, and so did its own retry: tagged for the
 * engine, whose result then says `failure_reason: 'shared_call_lost'`.
 */
export class CoalescedCallFailedError extends PortError {
  constructor(readonly key: string) {
    super(
      'shared_call_lost',
      `${COALESCED_CALL_LOST}: the shared enrichment call in another process ended without a cacheable result`,
    );
    this.name = 'CoalescedCallFailedError';
  }
}

export interface PgCoalescerOptions {
  db: Db;
  /** This process's LISTEN connection (with its liveness id, when it holds a liveness lock). */
  notifications: Pick<Notifications, 'listen' | 'onReconnect'> & { readonly livenessId?: number };
  /**
   * Where the owner's `fn` stores its result (the engine's contract: the write has begun when `fn`
   * returns); waiters read it from here. `written(key)`: the write has ended — the claim is released
   * only then.
   */
  cache: Pick<CachePort, 'get'> & { written?(key: string): Promise<void> };
  /** A claim older than this is taken over, and a waiter wakes after this long without news. Default 30 s. */
  staleAfterMs?: number;
  /** How often a waiter re-checks the claim (owner gone → take over). Default 2 s (at most `staleAfterMs`). */
  recheckMs?: number;
  /**
   * Identifies this process in `enrichment_inflight.owner`. Default `live:<liveness id>:<host>:<pid>`
   * (a claim whose owner's liveness lock is released is taken over at once), or `<host>:<pid>:<random>`.
   */
  owner?: string;
  logger?: Logger;
  /** Observability hook: this process found `key` claimed elsewhere and started waiting. */
  onWait?: (key: string) => void;
  /** Observability hook: a wait on `key` woke to re-check the claim (its timer, or a listener reconnect). */
  onRecheck?: (key: string) => void;
}

/** Why a waiter woke: the owner announced the end of its call, or it is time to re-check the claim. */
type Wake = 'ended' | 'check';

interface Waiter {
  promise: Promise<Wake>;
  /** Wake (or abandon) the waiter: idempotent, clears its timer. */
  done: (why?: Wake) => void;
}

/**
 * Single flight across every process sharing the database: at most one `fn` per key runs at a time.
 *
 * - In this process, concurrent `run`s of a key share one promise (as the in-memory coalescer).
 * - Across processes, the first to insert the key's row in `enrichment_inflight` owns it (one
 *   `INSERT … ON CONFLICT DO UPDATE … WHERE started_at < now() - stale` statement: a fresh claim
 *   elsewhere is left alone, an abandoned one is taken over atomically). The owner runs `fn` — which,
 *   per the engine's contract, stores a cacheable result in the cache itself — then deletes its
 *   claim and NOTIFYs {@link ENRICHMENT_DONE_CHANNEL} in one statement.
 * - A process that lost the claim waits for that notification, re-checking the claim every
 *   `recheckMs` (2 s) and on listener reconnects (notifications may have been lost): a claim whose
 *   owner process is gone — its liveness lock released (system/liveness.ts) — or older than
 *   `staleAfterMs` is taken over then. So a killed owner costs its waiters about 2 s, not their call
 *   budget. An owner that cannot release its claim (the database is away) retries until it can.
 *
 * Failure semantics: when the owner's call ends without a cached result (`fn` threw, or returned a
 * `failed`/`skipped` result, which is never cached), or the owner died, a waiter **retries once**:
 * it claims the key again (one process wins, the others wait again) and runs its own `fn`, so it
 * gets a truthful result of its own (e.g. `skipped`/`rate_limited` from the governor, or a fresh
 * failure). If after that retry it still finds no cached result, it rejects with
 * {@link CoalescedCallFailedError} (the engine turns a rejection into a `failed` result). So no
 * waiter waits longer than about two stale timeouts, and calls stay strictly one at a time.
 *
 * The cross-process path assumes `T` is what `fn` stores in the cache (the engine's
 * `EnrichmentProviderResult`): a waiter returns the cached value as the result.
 */
export class PgCoalescer implements CoalescePort {
  readonly owner: string;
  /** How many times `fn` ran in this process. */
  executions = 0;
  /** `run`s that joined a call already in flight in this process. */
  joined = 0;
  /** Times this process waited on a claim held by another process. */
  waits = 0;

  private readonly db: Db;
  private readonly notifications: PgCoalescerOptions['notifications'];
  private readonly cache: PgCoalescerOptions['cache'];
  private readonly staleAfterMs: number;
  private readonly recheckMs: number;
  private readonly logger: Logger | undefined;
  private readonly onWait: ((key: string) => void) | undefined;
  private readonly onRecheck: ((key: string) => void) | undefined;
  private readonly inflight = new Map<string, Promise<unknown>>();
  /** The claims and the releases of one turn of the event loop: one statement each. */
  private readonly claims = new TickBatcher<EnrichmentKey, { claimed: boolean; cached: unknown }>((ids) =>
    this.claimMany(ids),
  );
  private readonly releases = new TickBatcher<{ id: EnrichmentKey; payload: string }, undefined>((items) =>
    this.releaseMany(items),
  );
  private readonly waiters = new Map<string, Set<(why: Wake) => void>>();
  private listening: Promise<void> | undefined;

  constructor(options: PgCoalescerOptions) {
    this.db = options.db;
    this.notifications = options.notifications;
    this.cache = options.cache;
    this.staleAfterMs = options.staleAfterMs ?? DEFAULT_STALE_CLAIM_MS;
    if (!(this.staleAfterMs > 0)) throw new TypeError(`staleAfterMs must be positive: ${this.staleAfterMs}`);
    this.recheckMs = Math.min(options.recheckMs ?? DEFAULT_RECHECK_MS, this.staleAfterMs);
    const live = options.notifications.livenessId;
    this.owner =
      options.owner ??
      (live === undefined
        ? `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`
        : `live:${live}:${hostname()}:${process.pid}`);
    this.logger = options.logger;
    this.onWait = options.onWait;
    this.onRecheck = options.onRecheck;
  }

  run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const existing = this.inflight.get(key);
    if (existing !== undefined) {
      this.joined++;
      return existing as Promise<T>;
    }
    const promise = this.shared(key, fn).finally(() => this.inflight.delete(key));
    this.inflight.set(key, promise);
    return promise;
  }

  private async shared<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const id = parseEnrichmentKey(key);
    const digest = digestOf(key);
    await this.listen();
    // Calls (the owner's, then one retry) that ended without an answer; re-checks do not count.
    let ended = 0;
    let why: Wake = 'ended';
    for (;;) {
      // Registered before claiming, so a notification sent right after our failed claim is not missed.
      const waiter = this.waitFor(digest);
      let claim: { claimed: boolean; cached: unknown };
      try {
        claim = await this.claim(id);
      } catch (error) {
        waiter.done();
        // Tagged: the engine reports `port_unavailable`, and the enrich job retries instead of
        // blaming the provider.
        throw isDatabaseUnavailable(error) ? new PortError('unavailable', errorText(error), { cause: error }) : error;
      }
      // Someone stored the answer (perhaps between the caller's cache miss and now): use it.
      if (claim.cached !== null) {
        waiter.done();
        if (claim.claimed) await this.release(id, `ok:${digest}`).catch(() => undefined);
        return claim.cached as T;
      }
      // Two calls ended without an answer (the owner's, then one retry): give up, do not call again.
      if (ended >= 2) {
        waiter.done();
        if (claim.claimed) await this.release(id, `error:${digest}`).catch(() => undefined);
        throw new CoalescedCallFailedError(key);
      }
      if (claim.claimed) {
        waiter.done();
        return this.runAsOwner(key, id, digest, fn);
      }
      if (why === 'ended') {
        this.waits++;
        this.onWait?.(key);
      }
      why = await waiter.promise;
      if (why === 'ended') ended++;
      else this.onRecheck?.(key);
    }
  }

  private async runAsOwner<T>(key: string, id: EnrichmentKey, digest: string, fn: () => Promise<T>): Promise<T> {
    this.executions++;
    let outcome: 'ok' | 'error' = 'error';
    try {
      const result = await fn();
      outcome = 'ok';
      return result;
    } finally {
      // Not awaited: the caller has its answer two round trips sooner. The claim is released once
      // `fn`'s cache write has ended, so the waiters the release wakes elsewhere find the answer; a
      // caller here that runs the key again meanwhile finds our claim and waits for it too.
      this.track(
        (this.cache.written?.(key) ?? Promise.resolve())
          .then(() => this.release(id, `${outcome}:${digest}`))
          .catch((error: unknown) => {
            // The database is away: release (and announce) once it is back, before the claim goes
            // stale, so waiters elsewhere are not left waiting on a live owner that is done.
            this.logger?.warn({ err: error }, 'could not release an enrichment claim; retrying');
            this.releaseLater(id, `${outcome}:${digest}`, Date.now() + this.staleAfterMs);
          }),
      );
    }
  }

  /** Releases under way (their callers have their answers already). */
  private readonly releasing = new Set<Promise<void>>();

  private track(release: Promise<void>): void {
    this.releasing.add(release);
    void release.finally(() => this.releasing.delete(release));
  }

  /** Resolves once the releases started so far have committed (or been handed to their retry timer). */
  async released(): Promise<void> {
    await Promise.all([...this.releasing]);
  }

  private releaseLater(id: EnrichmentKey, payload: string, deadline: number): void {
    setTimeout(() => {
      this.release(id, payload).catch(() => {
        if (Date.now() < deadline) this.releaseLater(id, payload, deadline);
      });
    }, RELEASE_RETRY_MS).unref();
  }

  private claim(id: EnrichmentKey): Promise<{ claimed: boolean; cached: unknown }> {
    return this.claims.submit(id);
  }

  private release(id: EnrichmentKey, payload: string): Promise<void> {
    return this.releases.submit({ id, payload });
  }

  /**
   * Claim keys for this process (inserted, or taken over from an abandoned claim: stale, or held by
   * a process that is gone), and read their cached answers in the same round trip (the
   * `enrichment_cache` rows the owners' `fn` write). In key order: concurrent batches never deadlock.
   */
  private async claimMany(ids: EnrichmentKey[]): Promise<Array<{ claimed: boolean; cached: unknown }>> {
    const keyOf = (k: EnrichmentKey) => `${k.provider}\u0000${k.type}\u0000${k.value}`;
    const unique = [...new Map(ids.map((k) => [keyOf(k), k])).values()].sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : 1));
    const { rows } = await sql<{ p: string; t: string; v: string; claimed: boolean; cached: unknown }>`
      WITH k AS (
        SELECT * FROM unnest(${unique.map((k) => k.provider)}::text[], ${unique.map((k) => k.type)}::text[],
          ${unique.map((k) => k.value)}::text[]) WITH ORDINALITY AS k(p, t, v, n)
      ), claim AS (
        INSERT INTO enrichment_inflight AS f (provider_name, indicator_type, indicator_value, owner, started_at)
        SELECT p, t, v, ${this.owner}, now() FROM k ORDER BY n
        ON CONFLICT (provider_name, indicator_type, indicator_value) DO UPDATE
          SET owner = excluded.owner, started_at = excluded.started_at
          WHERE f.started_at < now() - make_interval(secs => ${this.staleAfterMs / 1000}::float8)
             OR (f.owner LIKE 'live:%' AND NOT ${OWNER_ALIVE})
        RETURNING f.provider_name, f.indicator_type, f.indicator_value
      )
      SELECT k.p, k.t, k.v,
        EXISTS (SELECT 1 FROM claim c WHERE c.provider_name = k.p AND c.indicator_type = k.t AND c.indicator_value = k.v)
          AS claimed,
        (SELECT e.result FROM enrichment_cache e
         WHERE e.provider_name = k.p AND e.indicator_type = k.t AND e.indicator_value = k.v AND e.expires_at > now())
          AS cached
      FROM k`.execute(this.db);
    const byKey = new Map(
      rows.map((r) => [`${r.p}\u0000${r.t}\u0000${r.v}`, { claimed: r.claimed === true, cached: r.cached ?? null }]),
    );
    return ids.map((k) => byKey.get(keyOf(k)) ?? { claimed: false, cached: null });
  }

  /** Drop our claims (unless taken over meanwhile) and tell every process, in one statement. */
  private async releaseMany(items: Array<{ id: EnrichmentKey; payload: string }>): Promise<undefined[]> {
    const payloads: string[] = [];
    for (let i = 0; i < items.length; i += ANNOUNCEMENTS_PER_NOTIFY) {
      payloads.push(
        items
          .slice(i, i + ANNOUNCEMENTS_PER_NOTIFY)
          .map((r) => r.payload)
          .join(','),
      );
    }
    await sql`
      WITH released AS (
        DELETE FROM enrichment_inflight f
        USING unnest(${items.map((r) => r.id.provider)}::text[], ${items.map((r) => r.id.type)}::text[],
          ${items.map((r) => r.id.value)}::text[]) AS k(p, t, v)
        WHERE f.provider_name = k.p AND f.indicator_type = k.t AND f.indicator_value = k.v AND f.owner = ${this.owner}
      )
      SELECT pg_notify(${ENRICHMENT_DONE_CHANNEL}, payload) FROM unnest(${payloads}::text[]) AS payload`.execute(
      this.db,
    );
    return items.map(() => undefined);
  }

  private waitFor(digest: string): Waiter {
    let wake: (why: Wake) => void = () => {};
    const promise = new Promise<Wake>((resolve) => {
      wake = resolve;
    });
    let set = this.waiters.get(digest);
    if (set === undefined) {
      set = new Set();
      this.waiters.set(digest, set);
    }
    const group = set;
    const done = (why: Wake = 'check') => {
      clearTimeout(timer);
      group.delete(done);
      if (group.size === 0 && this.waiters.get(digest) === group) this.waiters.delete(digest);
      wake(why);
    };
    const timer = setTimeout(done, this.recheckMs);
    group.add(done);
    return { promise, done };
  }

  /** Subscribe once per instance. Without a listener, waits still end on their timers. */
  private listen(): Promise<void> {
    this.listening ??= (async () => {
      this.notifications.onReconnect(() => this.wakeAll());
      await this.notifications.listen(ENRICHMENT_DONE_CHANNEL, (payload) => this.onNotify(payload));
    })().catch((error: unknown) => {
      this.listening = undefined;
      this.logger?.warn({ err: error }, 'enrichment coalescing: no listener; waits end by timer');
    });
    return this.listening;
  }

  private onNotify(payload: string): void {
    for (const announcement of payload.split(',')) {
      const digest = announcement.slice(announcement.indexOf(':') + 1);
      for (const done of [...(this.waiters.get(digest) ?? [])]) done('ended');
    }
  }

  /** After a listener reconnect (announcements may have been lost): every waiter re-checks its claim. */
  private wakeAll(): void {
    for (const group of [...this.waiters.values()]) for (const done of [...group]) done('check');
  }
}

/** SQL: the claim row `f`'s owner process holds its liveness lock. */
const OWNER_ALIVE = sql.raw(livenessHeldSql("split_part(f.owner, ':', 2)"));

function errorText(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

function digestOf(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}
