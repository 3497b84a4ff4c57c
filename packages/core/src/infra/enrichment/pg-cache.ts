import type { Db } from '@calseta/db';
import type { EnrichmentProviderResult } from '@calseta/schema';
import { sql } from 'kysely';
import { TickBatcher } from '../tick-batcher.js';
import { type CachePort, parseEnrichmentKey } from './ports.js';

const CACHEABLE: ReadonlySet<string> = new Set(['success', 'not_found']);

export interface MemoryFrontOptions {
  /** Entries kept in this process (oldest dropped first). Default 2,000. */
  maxEntries?: number;
  /** An entry is re-read from Postgres after this long at most, even if its TTL is longer. Default 60 s. */
  maxAgeMs?: number;
}

/** How long a prefetch's "not cached" answer is trusted (the coalescer re-checks before any call). */
const KNOWN_MISS_MS = 2_000;

interface Write {
  key: string;
  value: EnrichmentProviderResult;
  ttlSeconds: number;
}

interface MemoryEntry {
  /** undefined: known not to be cached (a prefetch miss). */
  value: EnrichmentProviderResult | undefined;
  /** Date.now() after which the entry is not used. */
  until: number;
}

/**
 * The engine's result cache in `enrichment_cache`, shared by every process. Keys are the engine's
 * `enrichment:{provider}:{type}:{value}`. An answer's raw provider response is stored apart, in
 * column `raw` (migration 0022): answers are read back with `raw: null` — raw responses are tens of
 * KB each and no reader of answers keeps them (the pipeline stores results slim, on-demand answers
 * drop them); the indicator detail reads them itself (indicators/raw.ts). Only `success` and `not_found` results are stored:
 * `set` rejects anything else (the engine never asks, this makes sure). The `set`s of one turn of
 * the event loop are written by one statement.
 *
 * A small in-process front keeps recent hits, so a burst of alerts sharing indicators reads each
 * entry from Postgres once per process instead of once per alert. It never outlives the row's
 * expiry or `maxAgeMs`, and `clearMemory()` drops it (provider changes, via the registry).
 */
export class PgEnrichmentCache implements CachePort {
  private readonly memory = new Map<string, MemoryEntry>();
  private readonly maxEntries: number;
  private readonly maxAgeMs: number;
  private readonly writes = new TickBatcher<Write, undefined>((writes) => this.write(writes));
  private readonly reads = new TickBatcher<string[], undefined>((batches) => this.readMany(batches));

  constructor(
    private readonly db: Db,
    options: MemoryFrontOptions = {},
  ) {
    this.maxEntries = options.maxEntries ?? 2_000;
    this.maxAgeMs = options.maxAgeMs ?? 60_000;
  }

  /** The cached result, unless missing or expired. Treat it as read-only (the engine copies it). */
  async get(key: string): Promise<EnrichmentProviderResult | undefined> {
    const remembered = this.memory.get(key);
    if (remembered !== undefined) {
      if (remembered.until > Date.now()) return remembered.value;
      this.memory.delete(key);
    }
    const row = await this.read(key);
    if (row === undefined) return undefined;
    this.remember(key, row.value, row.ttlMs);
    return row.value;
  }

  /**
   * Read many keys in one query into the memory front (hits until their expiry, misses for a
   * moment), so the `get`s that follow cost nothing. Used before an alert's fan-out.
   */
  async prefetch(keys: readonly string[]): Promise<void> {
    if (this.maxEntries <= 0) return;
    const wanted = [...new Set(keys)].filter((k) => {
      const m = this.memory.get(k);
      return m === undefined || m.until <= Date.now();
    });
    if (wanted.length > 0) await this.reads.submit(wanted);
  }

  /** The prefetches of one event-loop turn (the jobs a worker started together): one query. */
  private async readMany(batches: string[][]): Promise<undefined[]> {
    const wanted = [...new Set(batches.flat())];
    const ids = wanted.map(parseEnrichmentKey);
    const { rows } = await sql<{
      provider_name: string;
      indicator_type: string;
      indicator_value: string;
      result: unknown;
      ttl_ms: number;
    }>`
      SELECT c.provider_name, c.indicator_type, c.indicator_value, c.result,
             extract(epoch from c.expires_at - now()) * 1000 AS ttl_ms
      FROM enrichment_cache c
      JOIN unnest(${ids.map((k) => k.provider)}::text[], ${ids.map((k) => k.type)}::text[], ${ids.map((k) => k.value)}::text[])
        AS k(provider_name, indicator_type, indicator_value)
        USING (provider_name, indicator_type, indicator_value)
      WHERE c.expires_at > now()`.execute(this.db);
    const found = new Set<string>();
    for (const row of rows) {
      const key = `enrichment:${row.provider_name}:${row.indicator_type}:${row.indicator_value}`;
      found.add(key);
      this.remember(key, row.result as EnrichmentProviderResult, Number(row.ttl_ms));
    }
    for (const key of wanted) if (!found.has(key)) this.remember(key, undefined, KNOWN_MISS_MS);
    return batches.map(() => undefined);
  }

  private async read(key: string): Promise<{ value: EnrichmentProviderResult; ttlMs: number } | undefined> {
    const k = parseEnrichmentKey(key);
    const row = await this.db
      .selectFrom('enrichment_cache')
      .select(['result', sql<number>`extract(epoch from expires_at - now()) * 1000`.as('ttl_ms')])
      .where('provider_name', '=', k.provider)
      .where('indicator_type', '=', k.type)
      .where('indicator_value', '=', k.value)
      .where('expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
    if (row === undefined) return undefined;
    return { value: row.result as unknown as EnrichmentProviderResult, ttlMs: Number(row.ttl_ms) };
  }

  /** Forget what this process remembers (the rows in Postgres stay). */
  clearMemory(): void {
    this.memory.clear();
  }

  private remember(key: string, value: EnrichmentProviderResult | undefined, ttlMs: number): void {
    if (this.maxEntries <= 0 || !(ttlMs > 0)) return;
    this.memory.delete(key);
    this.memory.set(key, { value, until: Date.now() + Math.min(ttlMs, this.maxAgeMs) });
    if (this.memory.size > this.maxEntries) {
      const oldest = this.memory.keys().next().value;
      if (oldest !== undefined) this.memory.delete(oldest);
    }
  }

  /** Store (or replace) `value` for `ttlSeconds` (≤ 0 stores it already expired). */
  async set(key: string, value: EnrichmentProviderResult, ttlSeconds: number): Promise<void> {
    if (!CACHEABLE.has(value.status)) {
      throw new TypeError(`only success and not_found results are cached, not '${value.status}'`);
    }
    if (!Number.isFinite(ttlSeconds)) throw new TypeError(`invalid cache TTL: ${ttlSeconds}`);
    const write = this.writes.submit({ key, value, ttlSeconds }).then(() => undefined);
    this.pending.set(key, write);
    try {
      await write;
    } finally {
      if (this.pending.get(key) === write) this.pending.delete(key);
    }
    this.remember(key, { ...value, raw: null }, ttlSeconds * 1000); // as it reads back
  }

  /** Writes under way, by key (the engine does not wait for them: see `written`). */
  private readonly pending = new Map<string, Promise<void>>();

  /**
   * Resolves once the write of `key` begun so far, if any, has ended (committed or failed): the
   * coalescer releases a claim only then, so the processes it wakes find the answer stored.
   */
  async written(key: string): Promise<void> {
    await this.pending.get(key)?.catch(() => undefined);
  }

  /** One statement for many entries (the last of a key wins). */
  private async write(writes: Write[]): Promise<undefined[]> {
    const byKey = new Map(writes.map((w) => [w.key, w]));
    const sorted = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : 1)); // a fixed order: no deadlock
    const rows = sorted.map((w) => {
      const k = parseEnrichmentKey(w.key);
      return {
        p: k.provider,
        t: k.type,
        v: k.value,
        status: w.value.status,
        result: { ...w.value, raw: null },
        ttl: w.ttlSeconds,
      };
    });
    // Raw responses travel beside the rows as one `json` array, which Postgres only scans to split
    // (no jsonb tree, no escaping as a text[] literal would need); each is stored as its JSON text.
    const raws = JSON.stringify(sorted.map((w) => w.value.raw ?? null));
    await sql`
      INSERT INTO enrichment_cache (provider_name, indicator_type, indicator_value, status, result, raw, fetched_at, expires_at)
      SELECT r.p, r.t, r.v, r.status, r.result, NULLIF(r.raw::text, 'null'), now(), now() + make_interval(secs => r.ttl)
      FROM ROWS FROM (
        jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS (p text, t text, v text, status text, result jsonb, ttl float8),
        json_array_elements(${raws}::json)
      ) AS r(p, t, v, status, result, ttl, raw)
      ON CONFLICT (provider_name, indicator_type, indicator_value) DO UPDATE SET
        status = excluded.status, result = excluded.result, raw = excluded.raw, fetched_at = excluded.fetched_at,
        expires_at = excluded.expires_at`.execute(this.db);
    return writes.map(() => undefined);
  }

  /** Forget one entry (e.g. a forced refresh or a provider config change). True when one existed. */
  async delete(key: string): Promise<boolean> {
    this.memory.delete(key);
    const k = parseEnrichmentKey(key);
    const result = await this.db
      .deleteFrom('enrichment_cache')
      .where('provider_name', '=', k.provider)
      .where('indicator_type', '=', k.type)
      .where('indicator_value', '=', k.value)
      .executeTakeFirst();
    return result.numDeletedRows > 0n;
  }

  /** Delete every expired entry (a periodic housekeeping job). Returns how many. */
  async purgeExpired(): Promise<number> {
    const result = await this.db
      .deleteFrom('enrichment_cache')
      .where('expires_at', '<=', sql<Date>`now()`)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
