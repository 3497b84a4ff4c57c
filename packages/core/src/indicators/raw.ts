import type { Db } from '@calseta/db';
import { redactCredentials } from '@calseta/enrichment-engine';
import type { EnrichmentProviderResult } from '@calseta/schema';
import { sql } from 'kysely';

type Results = Record<string, EnrichmentProviderResult>;

/**
 * Stored results keep no raw provider response (`raw: null`): raw responses are kept once, in the
 * provider cache (`enrichment_cache`, until the provider's TTL), not a second time in every
 * indicator row (docs/adr/0014). What the pipeline stores.
 */
export function withoutRaw(results: Results): Results {
  return Object.fromEntries(
    Object.entries(results).map(([name, r]) => [name, r.raw == null ? r : { ...r, raw: null }]),
  );
}

/**
 * The stored results with each raw response put back while the cache still holds the answer of the
 * same fetch (same `fetched_at`), redacted as a cache hit is. For readers of full results (the
 * indicator detail, a workflow's `ctx.indicator`); one query on the cache's primary key.
 */
export async function withCachedRaw(
  db: Db,
  indicator: { type: string; value: string },
  results: Results | null,
): Promise<Results | null> {
  if (results === null || Object.keys(results).length === 0) return results;
  const { rows } = await sql<{ provider_name: string; fetched_at: string | null; raw: string | null }>`
    SELECT provider_name, result->>'fetched_at' AS fetched_at, raw FROM enrichment_cache
    WHERE provider_name = ANY(${Object.keys(results)}::text[]) AND indicator_type = ${indicator.type}
      AND indicator_value = ${indicator.value} AND expires_at > now()`.execute(db);
  const filled: Results = { ...results };
  for (const { provider_name, fetched_at, raw } of rows) {
    const stored = filled[provider_name];
    if (stored !== undefined && stored.raw == null && raw !== null && fetched_at === stored.fetched_at) {
      filled[provider_name] = { ...stored, raw: redactCredentials(JSON.parse(raw)) as EnrichmentProviderResult['raw'] };
    }
  }
  return filled;
}
