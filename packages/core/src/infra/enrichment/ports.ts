/** The engine's ports that core implements on Postgres (see pg-cache, pg-coalesce, pg-rate). */
export type { CachePort, CoalescePort, RateDecision, RatePort } from '@calseta/enrichment-engine';

/** The (provider, indicator type, indicator value) triple behind an engine cache key. */
export interface EnrichmentKey {
  provider: string;
  type: string;
  value: string;
}

const KEY_PATTERN = /^enrichment:([^:]+):([^:]+):([\s\S]*)$/;

/**
 * Split the engine's key `enrichment:{provider}:{type}:{value}` (see `cacheKey` in the engine).
 * Provider names (`[a-z0-9_]+`) and indicator types hold no colon; the value may (IPv6, URLs).
 */
export function parseEnrichmentKey(key: string): EnrichmentKey {
  const match = KEY_PATTERN.exec(key);
  if (match === null) throw new TypeError(`not an enrichment key: ${key.slice(0, 80)}`);
  return { provider: match[1] as string, type: match[2] as string, value: match[3] as string };
}
