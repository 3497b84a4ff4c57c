export { PgEnrichmentCache } from './pg-cache.js';
export {
  CoalescedCallFailedError,
  DEFAULT_STALE_CLAIM_MS,
  ENRICHMENT_DONE_CHANNEL,
  PgCoalescer,
  type PgCoalescerOptions,
} from './pg-coalesce.js';
export { PgRateGovernor, type ProviderQuota, type ProviderRateLimits, type RateLimitSource } from './pg-rate.js';
export type { CachePort, CoalescePort, EnrichmentKey, RateDecision, RatePort } from './ports.js';
export { parseEnrichmentKey } from './ports.js';
