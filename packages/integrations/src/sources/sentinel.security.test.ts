import { describe, expect, it } from 'vitest';
import { sentinelSource as sentinel } from './sentinel.js';

// Alert content is attacker-controlled: reading it must stay linear in its size.
describe('sentinel: no payload stalls the process', () => {
  it('reads a rule id made of 60,000 slashes in linear time (a trailing-slash regex was quadratic: ~5 s)', () => {
    const raw = { properties: { title: 'T', relatedAnalyticRuleIds: [`${'/'.repeat(60_000)}x`] } };
    const started = performance.now();
    const rule = sentinel.detectionRule?.(raw);
    expect(performance.now() - started).toBeLessThan(250);
    expect(rule?.source_rule_id).toBe('x');
  });
});
