import { TargetingRulesSchema } from '@calseta/schema';
import { describe, expect, it } from 'vitest';
import { matchesTargeting, type TargetingSubject } from './targeting.js';

const alert: TargetingSubject = {
  source_name: 'sentinel',
  severity: 'High',
  tags: ['IdentityThreat', 'brute-force'],
  title: 'Brute Force Sign-In Attempts from TOR Network',
  malice: 'Malicious',
  detection_rule: ['Brute Force Sign-In Attempts from TOR Network', 'c9a7e4d2-3b1f-4e8a-9c6d-f0123456789a'],
  mitre_tactics: ['InitialAccess', 'CredentialAccess'],
  mitre_techniques: ['T1110'],
  indicator_types: ['ip', 'account'],
};

const rules = (r: unknown) => TargetingRulesSchema.parse(r);

describe('matchesTargeting', () => {
  it.each([
    [{ match_any: [{ field: 'source_name', op: 'eq', value: 'sentinel' }] }, true],
    [{ match_any: [{ field: 'source_name', op: 'eq', value: 'Sentinel' }] }, true],
    [{ match_any: [{ field: 'source_name', op: 'eq', value: 'elastic' }] }, false],
    [{ match_any: [{ field: 'severity', op: 'in', value: ['Critical', 'High'] }] }, true],
    [{ match_any: [{ field: 'severity', op: 'in', value: ['Low'] }] }, false],
    [{ match_any: [{ field: 'tags', op: 'contains', value: 'identitythreat' }] }, true],
    [{ match_any: [{ field: 'tags', op: 'contains', value: 'Exfiltration' }] }, false],
    [{ match_any: [{ field: 'title', op: 'contains', value: 'tor network' }] }, true],
    [{ match_any: [{ field: 'severity', op: 'gte', value: 'Medium' }] }, true],
    [{ match_any: [{ field: 'severity', op: 'gte', value: 'Critical' }] }, false],
    [{ match_any: [{ field: 'severity', op: 'lte', value: 'High' }] }, true],
    [{ match_any: [{ field: 'malice', op: 'gte', value: 'Suspicious' }] }, true],
    [{ match_any: [{ field: 'detection_rule', op: 'eq', value: 'c9a7e4d2-3b1f-4e8a-9c6d-f0123456789a' }] }, true],
    [{ match_any: [{ field: 'mitre_techniques', op: 'contains', value: 'T1110' }] }, true],
    [{ match_any: [{ field: 'indicator_types', op: 'contains', value: 'hash_sha256' }] }, false],
    [
      {
        match_any: [
          { field: 'source_name', op: 'eq', value: 'elastic' },
          { field: 'tags', op: 'contains', value: 'brute-force' },
        ],
      },
      true,
    ],
    [
      {
        match_all: [
          { field: 'source_name', op: 'eq', value: 'sentinel' },
          { field: 'severity', op: 'eq', value: 'Low' },
        ],
      },
      false,
    ],
    [
      {
        match_any: [{ field: 'source_name', op: 'eq', value: 'sentinel' }],
        match_all: [{ field: 'malice', op: 'eq', value: 'Benign' }],
      },
      false,
    ],
  ])('%j → %s', (input, expected) => {
    expect(matchesTargeting(rules(input), alert)).toBe(expected);
  });

  it('no rules select nothing (quirk 22)', () => {
    expect(matchesTargeting(null, alert)).toBe(false);
    expect(matchesTargeting({}, alert)).toBe(false);
  });

  it('an empty alert field matches nothing, even negative-sounding rules', () => {
    const bare = { ...alert, tags: [], detection_rule: [] };
    expect(matchesTargeting(rules({ match_any: [{ field: 'tags', op: 'contains', value: 'x' }] }), bare)).toBe(false);
    expect(matchesTargeting(rules({ match_any: [{ field: 'detection_rule', op: 'eq', value: 'x' }] }), bare)).toBe(
      false,
    );
  });

  it('validation refuses unknown fields and ops, bad value shapes and empty rule sets', () => {
    for (const bad of [
      {},
      { match_any: [] },
      { match_any: [{ field: 'hostname', op: 'eq', value: 'x' }] },
      { match_any: [{ field: 'severity', op: 'like', value: 'x' }] },
      { match_any: [{ field: 'severity', op: 'in', value: 'High' }] },
      { match_any: [{ field: 'tags', op: 'gte', value: 'x' }] },
      { match_any: [{ field: 'tags', op: 'eq' }] },
      { other: [] },
    ]) {
      expect(TargetingRulesSchema.safeParse(bad).success, JSON.stringify(bad)).toBe(false);
    }
  });
});
