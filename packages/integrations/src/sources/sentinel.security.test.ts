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

// Entity fields are attacker-controlled too: a name that is also an Object.prototype key must stay data.
describe('sentinel: prototype-named values stay data', () => {
  it('extracts nothing (and does not throw) for a FileHash whose algorithm is constructor, __proto__ or toString', () => {
    for (const algorithm of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const raw = {
        properties: { title: 'T', severity: 'High' },
        Entities: [{ Type: 'filehash', Algorithm: algorithm, Value: 'd41d8cd98f00b204e9800998ecf8427e' }],
      };
      expect(sentinel.extractIndicators(raw), algorithm).toEqual([]);
      expect(() => sentinel.normalize(raw), algorithm).not.toThrow();
    }
  });
});
