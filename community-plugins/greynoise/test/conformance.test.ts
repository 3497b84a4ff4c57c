import { readFileSync } from 'node:fs';
import { type EnrichmentProviderSuite, enrichmentProviderConformance } from '@calseta/plugin-sdk/testing';
import { describe, expect, it } from 'vitest';
import { greynoiseProvider, plugin } from '../src/index.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), 'utf8'));

const suite: EnrichmentProviderSuite = {
  responses: [
    {
      name: 'malicious scanner',
      indicator: { type: 'ip', value: '45.148.10.92' },
      response: fixture('malicious-scanner'),
      verdict: 'Malicious',
      fields: {
        classification: 'malicious',
        is_noise: true,
        is_riot: false,
        actor_name: 'unknown',
        last_seen: '2026-11-22',
        link: 'https://viz.greynoise.io/ip/45.148.10.92',
      },
    },
    {
      name: 'RIOT: a known benign service',
      indicator: { type: 'ip', value: '8.8.8.8' },
      response: fixture('riot-benign-service'),
      verdict: 'Benign',
      fields: {
        classification: 'benign',
        is_noise: false,
        is_riot: true,
        actor_name: 'Google Public DNS',
        last_seen: '2026-11-23',
        link: 'https://viz.greynoise.io/riot/8.8.8.8',
      },
    },
    {
      name: 'benign scanner (Shodan)',
      indicator: { type: 'ip', value: '71.6.135.131' },
      response: fixture('benign-scanner'),
      verdict: 'Benign',
    },
    {
      name: 'noise of unknown intent',
      indicator: { type: 'ip', value: '185.220.101.34' },
      response: fixture('unknown-noise'),
      verdict: 'Suspicious',
    },
  ],
};

// The plugin's definition and the raw file (as `providers import` reads it) are both checked.
enrichmentProviderConformance(greynoiseProvider, suite, { describe, it });
enrichmentProviderConformance(JSON.parse(readFileSync(new URL('../provider.json', import.meta.url), 'utf8')), suite, {
  describe,
  it,
});

describe('greynoise specifics', () => {
  it('exports a plugin with the provider and no source', () => {
    expect(plugin.sources).toEqual([]);
    expect(plugin.providers.map((p) => p.provider.provider_name)).toEqual(['greynoise_community']);
  });

  it('answers 404 for IPs GreyNoise has not observed, which is not_found, not a failure', () => {
    const step = greynoiseProvider.provider.http_config.steps[0];
    expect(step?.not_found_status).toEqual([404]);
    expect(fixture('not-observed-404')).toMatchObject({ noise: false, riot: false });
    // Answered, but GreyNoise cannot judge an IP it never saw: Unknown (Pending means "not enriched yet").
    expect(greynoiseProvider.provider.malice_rules?.not_found_verdict).toBe('Unknown');
  });

  it('reads its key only from CALSETA_PROVIDER_GREYNOISE_API_KEY', () => {
    expect(greynoiseProvider.provider.env_var_mapping).toEqual({ api_key: 'CALSETA_PROVIDER_GREYNOISE_API_KEY' });
    expect(greynoiseProvider.provider.auth_config).toBeNull();
  });
});
