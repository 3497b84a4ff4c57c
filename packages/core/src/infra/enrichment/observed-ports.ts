import type { CachePort, EnginePorts } from '@calseta/enrichment-engine';
import type { EnrichmentProviderResult } from '@calseta/schema';
import {
  countProviderCall,
  countProviderLookup,
  observeGovernorWait,
  type ProviderCallOutcome,
} from '../telemetry/metrics.js';

/**
 * The engine's ports, counted for /metrics (issue 22). The engine stays pure: what it does is seen
 * at its ports — a cache answer is a `hit`, a coalesced `fn` this caller ran is a live call (a
 * `miss`, its result the call's outcome), one it did not run is an answer `coalesced` from a call
 * already in flight (here or in another process), and the governor's decision is timed.
 */

/** `enrichment:<provider>:<type>:<value>` (the engine's cacheKey) → provider; the value is never read. */
function providerOf(key: string): string {
  const start = key.indexOf(':') + 1;
  return key.slice(start, key.indexOf(':', start));
}

function outcomeOf(result: EnrichmentProviderResult): [ProviderCallOutcome, string] | null {
  switch (result.status) {
    case 'success':
      return ['answered', ''];
    case 'not_found':
      return ['not_found', ''];
    case 'failed':
      if (result.rate_limited) return ['rate_limited', result.failure_reason ?? ''];
      if (result.failure_reason === 'timeout') return ['timed_out', 'timeout'];
      return ['failed', result.failure_reason ?? 'internal'];
    default:
      return result.skip_reason === 'rate_limited' ? ['throttled', ''] : null;
  }
}

function countCall(provider: string, result: EnrichmentProviderResult): void {
  const outcome = outcomeOf(result);
  if (outcome === null) return;
  const sent = outcome[0] !== 'throttled';
  countProviderCall(provider, outcome[0], outcome[1], sent ? result.duration_ms / 1000 : null);
}

/** Counts the engine's cache lookups that found an answer (misses are counted by the call that follows). */
export function countedCache(cache: CachePort): CachePort {
  return {
    get: async (key) => {
      const value = await cache.get(key);
      if (value !== undefined) countProviderLookup(providerOf(key), 'hit');
      return value;
    },
    set: (key, value, ttl) => cache.set(key, value, ttl),
  };
}

/** The coalescer and governor ports, counted. */
export function observedPorts(ports: EnginePorts): EnginePorts {
  const { coalesce, rate } = ports;
  return {
    ...ports,
    coalesce: {
      run: async <T>(key: string, fn: () => Promise<T>): Promise<T> => {
        const provider = providerOf(key);
        let ran = false;
        const value = await coalesce.run(key, async () => {
          ran = true;
          countProviderLookup(provider, 'miss');
          try {
            const result = await fn();
            // The engine's contract: a coalesced call yields the provider's result.
            countCall(provider, result as EnrichmentProviderResult);
            return result;
          } catch (error) {
            countProviderCall(provider, 'failed', 'internal', null);
            throw error;
          }
        });
        if (!ran) countProviderLookup(provider, 'coalesced');
        return value;
      },
    },
    rate: {
      acquire: async (provider) => {
        const started = performance.now();
        try {
          return await rate.acquire(provider);
        } finally {
          observeGovernorWait(provider, (performance.now() - started) / 1000);
        }
      },
      pause: (provider, ms) => rate.pause(provider, ms),
    },
  };
}
