import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { type AlertSourceSuite, checkAlertSource, formatReport } from '@calseta/plugin-sdk/testing';
import { describe, expect, it } from 'vitest';
import { elasticSource, genericSource, sentinelSource, splunkSource } from './index.js';

// The first-party sources pass the same conformance kit community plugins are held to.
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), 'utf8'));
const hmac = (header: string) => (body: Uint8Array, secret: string) => ({
  [header]: createHmac('sha256', secret).update(body).digest('hex'),
});

const suites: Array<[string, Parameters<typeof checkAlertSource>[0], AlertSourceSuite]> = [
  [
    'sentinel',
    sentinelSource,
    {
      valid: ['01_sentinel_brute_force_tor', '04_sentinel_impossible_travel', 'sentinel_alert'].map((name) => ({
        name,
        payload: fixture(name),
      })),
      invalid: [{ name: 'no properties', payload: { Entities: [] } }],
      signature: { secret: 's', sign: hmac('x-sentinel-signature') },
    },
  ],
  [
    'elastic',
    elasticSource,
    {
      valid: ['02_elastic_malware_hash', '05_elastic_suspicious_powershell', 'elastic_alert'].map((name) => ({
        name,
        payload: fixture(name),
      })),
      signature: { secret: 's', sign: hmac('x-elastic-signature') },
    },
  ],
  [
    'splunk',
    splunkSource,
    {
      valid: ['03_splunk_anomalous_data_transfer', 'splunk_alert'].map((name) => ({ name, payload: fixture(name) })),
      signature: { secret: 's', sign: (_body, secret) => ({ 'x-splunk-webhook-secret': secret }), coversBody: false },
    },
  ],
  [
    'generic',
    genericSource,
    {
      valid: [
        {
          name: 'documented shape',
          payload: {
            title: 'Impossible travel',
            severity: 'high',
            occurred_at: '2026-01-15T10:29:50Z',
            src_ip: '203.0.113.7',
            user: 'jsmith',
            indicators: [{ type: 'domain', value: 'evil.example.net' }],
          },
          expect: {
            severity: 'High',
            occurred_at: '2026-01-15T10:29:50.000Z',
            indicators: [
              { type: 'ip', value: '203.0.113.7' },
              { type: 'domain', value: 'evil.example.net' },
            ],
          },
        },
      ],
      signature: { secret: 's', sign: hmac('x-calseta-signature') },
    },
  ],
];

describe('builtin sources pass the plugin conformance kit', () => {
  it.each(suites)('%s', (_name, source, suite) => {
    const report = checkAlertSource(source, suite);
    expect(report.ok, formatReport(report)).toBe(true);
  });
});
