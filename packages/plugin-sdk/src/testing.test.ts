import { describe, expect, it } from 'vitest';
import { type AlertSource, defineAlertSource } from './alert-source.js';
import { defineEnrichmentProvider, type EnrichmentProviderPluginInput } from './enrichment-provider.js';
import {
  COMMON_SEVERITIES,
  collectIndicators,
  hmacSignature,
  indicator,
  isRecord,
  mapSeverity,
  parseTimestamp,
  str,
} from './helpers.js';
import {
  type AlertSourceSuite,
  alertSourceConformance,
  checkAlertSource,
  checkEnrichmentProvider,
  type EnrichmentProviderSuite,
  enrichmentProviderConformance,
  formatReport,
} from './testing.js';

const source = defineAlertSource({
  name: 'tiny',
  displayName: 'Tiny SIEM',
  validate: (raw) =>
    isRecord(raw) && str(raw.title) !== undefined
      ? { ok: true }
      : { ok: false, issues: [{ path: 'title', message: 'title is required' }] },
  normalize: (raw) => {
    const r = isRecord(raw) ? raw : {};
    return {
      title: str(r.title) ?? 'untitled',
      severity: mapSeverity(r.level, COMMON_SEVERITIES),
      occurred_at: parseTimestamp(r.time),
      source_name: 'tiny',
      tags: [],
    };
  },
  extractIndicators: (raw) => collectIndicators([indicator('ip', isRecord(raw) ? raw.ip : undefined, 'ip')]),
  detectionRule: (raw) => (isRecord(raw) && str(raw.rule) ? { source_rule_id: String(raw.rule) } : null),
  verifySignature: hmacSignature('x-tiny-signature'),
  documentedExtractions: [{ field_path: 'ip', indicator_type: 'ip', description: 'the remote address' }],
});

const { createHmac } = await import('node:crypto');
const suite: AlertSourceSuite = {
  valid: [
    {
      name: 'login alert',
      payload: { title: 'Brute force', level: 'high', time: '2026-01-02T03:04:05Z', ip: '203.0.113.9', rule: 'r1' },
      expect: {
        title: 'Brute force',
        severity: 'High',
        occurred_at: '2026-01-02T03:04:05.000Z',
        indicators: [{ type: 'ip', value: '203.0.113.9' }],
        detection_rule_id: 'r1',
      },
    },
  ],
  invalid: [{ name: 'no title', payload: { level: 'high' } }],
  severities: [{ name: 'critical', payload: { title: 't', level: 'CRITICAL' }, severity: 'Critical' }],
  signature: {
    secret: 's3cret',
    sign: (body, secret) => ({ 'x-tiny-signature': createHmac('sha256', secret).update(body).digest('hex') }),
  },
};

function failed(result: ReturnType<typeof checkAlertSource>): Record<string, string[]> {
  return Object.fromEntries(result.checks.filter((c) => !c.ok).map((c) => [c.name, c.problems]));
}

describe('alert source conformance', () => {
  it('passes a conforming source', () => {
    const result = checkAlertSource(source, suite);
    expect(failed(result)).toEqual({});
    expect(result.ok).toBe(true);
    expect(result.checks.length).toBe(8);
  });

  it('reports a source that throws, accepts junk and breaks the schema', () => {
    const broken: AlertSource = {
      ...source,
      validate: () => ({ ok: true }),
      normalize: (raw) => {
        if (!isRecord(raw)) throw new Error('boom');
        return { title: '', severity: 'Severe' as never, occurred_at: null, source_name: 'tiny', tags: [] };
      },
      extractIndicators: () => [
        { type: 'ip', value: '1.2.3.4', source_field: 'ip' },
        { type: 'ip', value: '1.2.3.4', source_field: 'ip' },
      ],
    };
    const problems = failed(checkAlertSource(broken, suite));
    expect(Object.keys(problems)).toEqual([
      'rejects junk and invalid payloads with issues, without throwing',
      'normalizes every valid payload to the agent-native alert schema, deterministically',
      'extracts well-formed, deduplicated indicators (and the expected ones)',
      'maps source severities',
    ]);
    expect(problems['rejects junk and invalid payloads with issues, without throwing']).toContain(
      'junk (null): validate said ok=true, expected ok=false',
    );
    expect(problems['extracts well-formed, deduplicated indicators (and the expected ones)']).toEqual([
      'login alert: ip 1.2.3.4 extracted twice',
      'login alert: expected indicator ip 203.0.113.9 was not extracted',
    ]);
  });

  it('catches a signature check that accepts anything', () => {
    const lax: AlertSource = { ...source, verifySignature: () => true };
    const problems = failed(checkAlertSource(lax, suite))['verifies webhook signatures'];
    expect(problems).toEqual([
      'verifySignature (tampered body) returned true',
      'verifySignature (wrong secret) returned true',
      'verifySignature (no headers) returned true',
    ]);
  });

  it('registers one test per check with the runner it is given', () => {
    const names: string[] = [];
    const bodies: Array<() => void> = [];
    alertSourceConformance(source, suite, {
      describe: (name, body) => {
        names.push(name);
        body();
      },
      it: (name, body) => {
        names.push(name);
        bodies.push(body);
      },
    });
    expect(names[0]).toBe('alert source "tiny" conformance');
    expect(names).toHaveLength(9);
    for (const body of bodies) body();
  });

  it('a failing registered check throws every problem', () => {
    const bodies: Array<() => void> = [];
    alertSourceConformance({ ...source, validate: () => ({ ok: true }) }, suite, {
      describe: (_, body) => body(),
      it: (_, body) => bodies.push(body),
    });
    expect(() => {
      for (const b of bodies) b();
    }).toThrow(/junk \(null\): validate said ok=true/);
  });
});

const provider: EnrichmentProviderPluginInput = {
  provider: {
    provider_name: 'intel',
    display_name: 'Intel',
    supported_indicator_types: ['ip', 'domain'],
    auth_type: 'api_key',
    env_var_mapping: { api_key: 'CALSETA_PROVIDER_INTEL_KEY' },
    http_config: {
      steps: [
        {
          name: 'lookup',
          url: 'https://intel.example/v1/{{indicator.type}}/{{indicator.value}}',
          headers: { 'X-Key': '{{auth.api_key}}' },
          not_found_status: [404],
        },
      ],
    },
    malice_rules: {
      rules: [
        { field: 'score', operator: '>=', value: 80, verdict: 'Malicious' },
        { field: 'tags', operator: 'contains', value: 'scanner', verdict: 'Suspicious' },
      ],
      default_verdict: 'Benign',
      not_found_verdict: 'Pending',
    },
  },
  field_extractions: [
    { indicator_type: 'ip', source_path: 'score', target_key: 'score', value_type: 'int' },
    { indicator_type: 'ip', source_path: 'tags', target_key: 'tags', value_type: 'list' },
  ],
};

const providerSuite: EnrichmentProviderSuite = {
  responses: [
    {
      name: 'bad ip',
      indicator: { type: 'ip', value: '203.0.113.9' },
      response: { score: 93, tags: ['c2'] },
      verdict: 'Malicious',
      fields: { score: 93, tags: ['c2'] },
    },
    {
      name: 'scanner',
      indicator: { type: 'ip', value: '198.51.100.7' },
      response: { score: '12', tags: ['scanner'] },
      verdict: 'Suspicious',
      fields: { score: 12, tags: ['scanner'] },
    },
    {
      name: 'clean domain',
      indicator: { type: 'domain', value: 'example.com' },
      response: { score: 0 },
      verdict: 'Benign',
    },
  ],
};

describe('enrichment provider conformance', () => {
  it('passes a conforming provider, defined or as a JSON file', () => {
    const defined = checkEnrichmentProvider(defineEnrichmentProvider(provider), providerSuite);
    expect(formatReport(defined)).not.toContain('FAIL');
    expect(checkEnrichmentProvider(JSON.parse(JSON.stringify(provider)), providerSuite).ok).toBe(true);
  });

  it('reports unknown variables, unmapped credentials, wrong verdicts, extractions and dead rules', () => {
    const bad = structuredClone(provider) as { provider: Record<string, any>; field_extractions: any[] };
    bad.provider.http_config.steps[0].url = 'https://intel.example/{{indicator.valu}}';
    bad.provider.http_config.steps[0].headers = { 'X-Key': '{{auth.token}}' };
    bad.provider.malice_rules.rules.push({ field: 'score', operator: '>', value: 'high', verdict: 'Malicious' });
    bad.field_extractions.push({
      indicator_type: 'ip',
      source_path: 'asn.number',
      target_key: 'asn',
      value_type: 'int',
    });
    const result = checkEnrichmentProvider(bad, {
      responses: [{ ...providerSuite.responses[0]!, verdict: 'Benign', fields: { score: 93 } }],
    });
    const problems = Object.fromEntries(result.checks.filter((c) => !c.ok).map((c) => [c.name, c.problems]));
    expect(problems['uses only known template variables and filters, steps in order']).toEqual([
      "http_config.steps[0] (lookup) url: unknown template variable 'indicator.valu'",
      'auth.token is used but env_var_mapping does not map it to an environment variable',
      'env_var_mapping maps "api_key", which no template uses',
    ]);
    expect(problems['has well-formed malice rules']).toEqual([
      'malice_rules.rules[2]: > needs a numeric value, got "high"',
    ]);
    expect(problems['gives the expected verdict for every recorded response']).toEqual([
      'bad ip: verdict Malicious by rule 0 (score), expected Benign',
    ]);
    expect(problems['extracts the expected fields from every recorded response']).toEqual([
      'bad ip: extracted {"score":93,"tags":["c2"]}, expected {"score":93}',
    ]);
    expect(problems['every malice rule and extraction is exercised by a recorded response']).toEqual([
      'malice_rules.rules[1] (tags contains "scanner") decides no recorded response',
      'malice_rules.rules[2] (score > "high") decides no recorded response',
      'field_extractions[2] (ip asn.number) finds no value in any recorded ip response',
    ]);
  });

  it('reports a file that does not validate, and credentials in it', () => {
    const result = checkEnrichmentProvider({ provider: { provider_name: 'X' } }, providerSuite);
    expect(result.ok).toBe(false);
    expect(result.checks[0]?.problems.join('\n')).toMatch(/provider file\.provider\.provider_name/);
    expect(() =>
      defineEnrichmentProvider({ ...provider, provider: { ...provider.provider, auth_config: { api_key: 'k' } } }),
    ).toThrow(/credentials must not ship/);
  });

  it('registers with a runner', () => {
    const names: string[] = [];
    enrichmentProviderConformance(provider, providerSuite, {
      describe: (name, body) => {
        names.push(name);
        body();
      },
      it: (name, body) => {
        names.push(name);
        body();
      },
    });
    expect(names).toEqual([
      'enrichment provider "intel" conformance',
      'validates against the provider import schema',
      'uses only known template variables and filters, steps in order',
      'has well-formed malice rules',
      'gives the expected verdict for every recorded response',
      'extracts the expected fields from every recorded response',
      'every malice rule and extraction is exercised by a recorded response',
    ]);
  });
});
