import { defineProvider, enrichIndicator } from '@calseta/enrichment-engine';
import { fakeHttp, hangingHandler, jsonResponse, memoryPorts } from '@calseta/enrichment-engine/testing';
import type { ProviderDefinition } from '@calseta/schema';
import { describe, expect, it } from 'vitest';
import { metricsRegistry } from '../telemetry/metrics.js';
import { countedCache, observedPorts } from './observed-ports.js';

/** Current values of a metric, by its labels (`a=x,b=y`), from the registry itself. */
async function values(name: string): Promise<Map<string, number>> {
  const metric = metricsRegistry.getSingleMetric(name);
  if (!metric) throw new Error(`no metric ${name}`);
  const { values: series } = await metric.get();
  return new Map(
    series.map((s) => [
      Object.entries(s.labels)
        .filter(([key]) => key !== 'service')
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, value]) => `${key}=${value}`)
        .join(','),
      s.value,
    ]),
  );
}

function provider(name: string, timeoutMs?: number): ProviderDefinition {
  return defineProvider({
    provider_name: name,
    display_name: name,
    supported_indicator_types: ['ip'],
    http_config: {
      steps: [{ name: 'lookup', url: `https://${name}.test/ip/{{indicator.value}}`, not_found_status: [404] }],
    },
    malice_rules: { rules: [], default_verdict: 'Benign' },
    ...(timeoutMs === undefined ? {} : { timeout_ms: timeoutMs }),
  });
}

describe('the engine observed at its ports', () => {
  it('counts each live call once, by outcome, and cache hits; the governor decision is timed', async () => {
    const name = 'obs_outcomes';
    const http = fakeHttp((request) => {
      const ip = request.url.split('/').pop();
      if (ip === '8.8.8.8') return jsonResponse({ ok: true });
      if (ip === '9.9.9.9') return jsonResponse({ error: 'unknown' }, 404);
      if (ip === '1.1.1.1') return jsonResponse({ error: 'boom' }, 500);
      if (ip === '4.4.4.4') return jsonResponse({ error: 'slow down' }, 429, { 'retry-after': '60' });
      return hangingHandler(request);
    });
    const ports = memoryPorts(http.port);
    const observed = observedPorts(ports);
    const run = (value: string) =>
      enrichIndicator({
        indicator: { type: 'ip', value },
        providers: [provider(name, 50)],
        ports: { ...observed, cache: countedCache(ports.cache) },
        auth: () => ({}),
      });
    const governorBefore =
      (await values('calseta_provider_governor_wait_seconds')).get(`le=+Inf,provider=${name}`) ?? 0;

    for (const value of ['8.8.8.8', '9.9.9.9', '1.1.1.1', '5.5.5.5', '8.8.8.8', '4.4.4.4', '9.9.9.9']) await run(value);
    // A timed-out call's own result arrives once its abort has run through (microtasks, then this turn).
    await new Promise((resolve) => setImmediate(resolve));

    const calls = await values('calseta_provider_calls_total');
    const mine = (outcome: string, reason = '') =>
      calls.get(`failure_reason=${reason},outcome=${outcome},provider=${name}`);
    expect(mine('answered')).toBe(1);
    expect(mine('not_found')).toBe(1);
    expect(mine('failed', 'provider_http')).toBe(1);
    expect(mine('timed_out', 'timeout')).toBe(1);
    expect(mine('rate_limited', 'provider_http')).toBe(1);
    // After the 429 the governor pauses the provider: 9.9.9.9 again is a cache hit, not even throttled.
    expect(mine('throttled')).toBeUndefined();
    expect(http.calls).toHaveLength(5);

    const lookups = await values('calseta_provider_cache_lookups_total');
    expect(lookups.get(`provider=${name},result=hit`)).toBe(2);
    expect(lookups.get(`provider=${name},result=miss`)).toBe(5);
    expect(lookups.get(`provider=${name},result=coalesced`)).toBeUndefined();

    // Latency of the calls that sent a request, in seconds.
    const durations = await values('calseta_provider_call_duration_seconds');
    expect(durations.get(`le=+Inf,provider=${name}`)).toBe(5);
    const governor = await values('calseta_provider_governor_wait_seconds');
    expect((governor.get(`le=+Inf,provider=${name}`) ?? 0) - governorBefore).toBe(5);

    // Paused by the 429: a new value is held back by the governor, nothing is sent.
    await run('7.7.7.7');
    expect(
      (await values('calseta_provider_calls_total')).get(`failure_reason=,outcome=throttled,provider=${name}`),
    ).toBe(1);
    expect(http.calls).toHaveLength(5);
  });

  it('an answer shared from a call in flight is coalesced, not a second call', async () => {
    const name = 'obs_coalesce';
    let answer!: () => void;
    const gate = new Promise<void>((resolve) => {
      answer = resolve;
    });
    let arrived!: () => void;
    const first = new Promise<void>((resolve) => {
      arrived = resolve;
    });
    const http = fakeHttp(async () => {
      arrived();
      await gate;
      return jsonResponse({ ok: true });
    });
    const ports = memoryPorts(http.port);
    const observed = { ...observedPorts(ports), cache: countedCache(ports.cache) };
    const run = () =>
      enrichIndicator({
        indicator: { type: 'ip', value: '8.8.4.4' },
        providers: [provider(name)],
        ports: observed,
        auth: () => ({}),
      });
    const a = run();
    await first;
    const b = run();
    answer();
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.results[0]?.status).toBe('success');
    expect(rb.results[0]?.status).toBe('success');
    expect(http.calls).toHaveLength(1);
    const lookups = await values('calseta_provider_cache_lookups_total');
    expect(lookups.get(`provider=${name},result=miss`)).toBe(1);
    expect(lookups.get(`provider=${name},result=coalesced`)).toBe(1);
    expect(
      (await values('calseta_provider_calls_total')).get(`failure_reason=,outcome=answered,provider=${name}`),
    ).toBe(1);
  });
});
