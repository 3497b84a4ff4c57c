import type { EnrichmentProviderResult } from '@calseta/schema';
import { sql } from 'kysely';
import type { Db } from '../context.js';
import { type CachePort, parseEnrichmentKey } from './ports.js';

const CACHEABLE: ReadonlySet<string> = new Set(['success', 'not_found']);

/**
 * The engine's result cache in `enrichment_cache`, shared by every process. Keys are the engine's
 * `enrichment:{provider}:{type}:{value}`. Only `success` and `not_found` results are stored:
 * `set` rejects anything else (the engine never asks, this makes sure). One statement per call.
 */
export class PgEnrichmentCache implements CachePort {
  constructor(private readonly db: Db) {}

  /** The cached result, unless missing or expired. A fresh object on every call. */
  async get(key: string): Promise<EnrichmentProviderResult | undefined> {
    const k = parseEnrichmentKey(key);
    const row = await this.db
      .selectFrom('enrichment_cache')
      .select('result')
      .where('provider_name', '=', k.provider)
      .where('indicator_type', '=', k.type)
      .where('indicator_value', '=', k.value)
      .where('expires_at', '>', sql<Date>`now()`)
      .executeTakeFirst();
    return row === undefined ? undefined : (row.result as unknown as EnrichmentProviderResult);
  }

  /** Store (or replace) `value` for `ttlSeconds` (≤ 0 stores it already expired). */
  async set(key: string, value: EnrichmentProviderResult, ttlSeconds: number): Promise<void> {
    if (!CACHEABLE.has(value.status)) {
      throw new TypeError(`only success and not_found results are cached, not '${value.status}'`);
    }
    if (!Number.isFinite(ttlSeconds)) throw new TypeError(`invalid cache TTL: ${ttlSeconds}`);
    const k = parseEnrichmentKey(key);
    const expires = sql<Date>`now() + make_interval(secs => ${ttlSeconds}::float8)`;
    await this.db
      .insertInto('enrichment_cache')
      .values({
        provider_name: k.provider,
        indicator_type: k.type,
        indicator_value: k.value,
        status: value.status,
        result: JSON.stringify(value),
        fetched_at: sql<Date>`now()`,
        expires_at: expires,
      })
      .onConflict((oc) =>
        oc.columns(['provider_name', 'indicator_type', 'indicator_value']).doUpdateSet((eb) => ({
          status: eb.ref('excluded.status'),
          result: eb.ref('excluded.result'),
          fetched_at: eb.ref('excluded.fetched_at'),
          expires_at: eb.ref('excluded.expires_at'),
        })),
      )
      .execute();
  }

  /** Forget one entry (e.g. a forced refresh or a provider config change). True when one existed. */
  async delete(key: string): Promise<boolean> {
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
