import type { EnrichmentProviderResult, MaliceLevel } from '@calseta/schema';
import { describe, expect, it } from 'vitest';
import { aggregateVerdict, worstVerdict } from './aggregate.js';

function result(
  provider: string,
  status: EnrichmentProviderResult['status'],
  verdict: MaliceLevel | null,
  ruleIndex: number | null = null,
): EnrichmentProviderResult {
  return {
    provider_name: provider,
    status,
    extracted: {},
    verdict,
    explanation:
      verdict === null
        ? null
        : {
            provider,
            rule_index: ruleIndex,
            field: ruleIndex === null ? null : 'x',
            operator: ruleIndex === null ? null : '>',
            expected: ruleIndex === null ? null : 0,
            actual: ruleIndex === null ? null : 1,
            verdict,
            reason: status === 'not_found' ? 'not_found' : ruleIndex === null ? 'default' : 'rule',
            fetched_at: '2026-03-01T12:00:00.000Z',
          },
    raw: null,
    fetched_at: '2026-03-01T12:00:00.000Z',
    error_message: null,
    duration_ms: 1,
    cache_hit: false,
    skip_reason: null,
    rate_limited: false,
    retry_after_ms: null,
  };
}

describe('worstVerdict', () => {
  it('orders Malicious > Suspicious > Benign > Pending', () => {
    expect(worstVerdict(['Benign', 'Malicious', 'Suspicious'])).toBe('Malicious');
    expect(worstVerdict(['Benign', 'Suspicious', 'Pending'])).toBe('Suspicious');
    expect(worstVerdict(['Pending', 'Benign'])).toBe('Benign');
    expect(worstVerdict([])).toBe('Pending');
  });
});

describe('aggregateVerdict', () => {
  it('takes the worst verdict and keeps the explanation of the provider and rule that produced it', () => {
    const out = aggregateVerdict([
      result('abuseipdb', 'success', 'Suspicious', 1),
      result('virustotal', 'success', 'Malicious', 0),
      result('internal', 'success', 'Benign'),
    ]);
    expect(out.verdict).toBe('Malicious');
    expect(out.explanation).toMatchObject({ provider: 'virustotal', rule_index: 0, reason: 'rule' });
  });

  it('ties go to the first result in input order', () => {
    const out = aggregateVerdict([result('a', 'success', 'Suspicious', 3), result('b', 'success', 'Suspicious', 0)]);
    expect(out.explanation).toMatchObject({ provider: 'a', rule_index: 3 });
  });

  it('ignores failed and skipped results', () => {
    const failed = { ...result('x', 'failed', null), verdict: 'Malicious' as const };
    const out = aggregateVerdict([failed, result('y', 'skipped', null), result('z', 'success', 'Benign')]);
    expect(out).toMatchObject({ verdict: 'Benign', explanation: { provider: 'z' } });
  });

  it('counts not_found results with their not_found verdict', () => {
    const out = aggregateVerdict([result('vt', 'not_found', 'Benign'), result('abuse', 'success', 'Pending')]);
    expect(out).toMatchObject({ verdict: 'Benign', explanation: { provider: 'vt', reason: 'not_found' } });
  });

  it('an answered Pending (older results) is Unknown with its explanation; no results at all is Pending', () => {
    expect(aggregateVerdict([result('okta', 'success', 'Pending')])).toMatchObject({
      verdict: 'Unknown',
      explanation: { provider: 'okta', verdict: 'Unknown' },
    });
    expect(aggregateVerdict([])).toEqual({ verdict: 'Pending', explanation: null });
  });

  it('after enrichment nobody could judge: Unknown; Pending only while a rate-limited provider will be asked again', () => {
    expect(aggregateVerdict([result('x', 'failed', null)])).toEqual({ verdict: 'Unknown', explanation: null });
    const deferred = { ...result('okta', 'skipped', null), rate_limited: true, skip_reason: 'rate_limited' as const };
    expect(aggregateVerdict([result('x', 'failed', null), deferred]).verdict).toBe('Pending');
    // The caller knows better: the last retry is over (settled), or enrichment has not run yet.
    expect(aggregateVerdict([deferred], null, { settled: true }).verdict).toBe('Unknown');
    expect(aggregateVerdict([], null, { settled: true }).verdict).toBe('Unknown');
    expect(aggregateVerdict([result('x', 'failed', null)], null, { settled: false }).verdict).toBe('Pending');
  });

  it('ranks Context (identity providers described it) between Unknown and any judgement', () => {
    const context = result('okta', 'success', 'Context');
    expect(aggregateVerdict([result('entra', 'not_found', 'Unknown'), context]).verdict).toBe('Context');
    expect(aggregateVerdict([context, result('vt', 'success', 'Benign')]).verdict).toBe('Benign');
    expect(worstVerdict(['Pending', 'Unknown', 'Context'])).toBe('Context');
  });

  it('an analyst override wins, even when lower', () => {
    const out = aggregateVerdict([result('vt', 'success', 'Malicious', 0)], {
      verdict: 'Benign',
      at: '2026-03-02T09:00:00.000Z',
    });
    expect(out).toEqual({
      verdict: 'Benign',
      explanation: {
        provider: null,
        rule_index: null,
        field: null,
        operator: null,
        expected: null,
        actual: null,
        verdict: 'Benign',
        reason: 'analyst',
        fetched_at: '2026-03-02T09:00:00.000Z',
      },
    });
    expect(aggregateVerdict([result('vt', 'success', 'Malicious', 0)], null).verdict).toBe('Malicious');
  });
});
