import { type MaliceOperator, type MaliceRulesInput, MaliceRulesSchema } from '@calseta/schema';
import { describe, expect, it } from 'vitest';
import { evaluateMalice, jsonEqual, matchesOperator, notFoundVerdict } from './malice.js';

const ctx = { provider: 'virustotal', fetchedAt: '2026-03-01T12:00:00.000Z' };

describe('matchesOperator', () => {
  it.each<[MaliceOperator, unknown, unknown, boolean]>([
    // Numeric comparisons coerce both sides like Python float().
    ['>', 5, 0, true],
    ['>', 0, 0, false],
    ['>', '5', 0, true],
    ['>', ' 12 ', '11.5', true],
    ['>', '1e3', 999, true],
    ['>', true, 0, true],
    ['>', false, 0, false],
    ['>', 'abc', 0, false],
    ['>', '', 0, false],
    ['>', [5], 0, false],
    ['>', { n: 5 }, 0, false],
    ['>', 5, 'not a number', false],
    ['>', 'inf', 1e308, true],
    ['>', 'nan', 0, false],
    ['>=', 75, 75, true],
    ['>=', 74.9, 75, false],
    ['>=', '75', 75, true],
    ['<', 24, 25, true],
    ['<', 25, 25, false],
    ['<', '-3', -2, true],
    ['<=', 25, 25, true],
    ['<=', 26, '25', false],
    ['<=', '0x10', 100, false],
    // Equality: structural, no coercion.
    ['==', 1, 1, true],
    ['==', 1, 1.0, true],
    ['==', '1', 1, false],
    ['==', true, 1, false],
    ['==', 'Malicious', 'Malicious', true],
    ['==', 'malicious', 'Malicious', false],
    ['==', [1, 'a'], [1, 'a'], true],
    ['==', [1, 'a'], ['a', 1], false],
    ['==', { a: 1, b: [2] }, { b: [2], a: 1 }, true],
    ['==', { a: 1 }, { a: 1, b: 2 }, false],
    ['!=', 'a', 'b', true],
    ['!=', 'a', 'a', false],
    ['!=', 0, '0', true],
    // contains: substring on text, membership on lists, key on objects.
    ['contains', 'tor-exit-node', 'tor', true],
    ['contains', 'tor-exit-node', 'TOR', false],
    ['contains', 'build 5123', 5, true],
    ['contains', 'x', { a: 1 }, false],
    ['contains', ['tor', 'vpn'], 'vpn', true],
    ['contains', ['tor', 'vpn'], 'vp', false],
    ['contains', [1, 2, 3], 2, true],
    ['contains', [1, 2, 3], '2', false],
    ['contains', [['a']], ['a'], true],
    ['contains', { malware: 1, phishing: 2 }, 'phishing', true],
    ['contains', { malware: 1 }, 'spam', false],
    ['contains', { toString: 1 }, 'valueOf', false],
    ['contains', 42, 4, false],
    ['contains', true, true, false],
    // in: actual is a member of the expected list.
    ['in', 'RU', ['RU', 'KP', 'IR'], true],
    ['in', 'US', ['RU', 'KP', 'IR'], false],
    ['in', 3, [1, 2, 3], true],
    ['in', '3', [1, 2, 3], false],
    ['in', ['a'], [['a'], ['b']], true],
    ['in', 'R', 'RU', false],
    ['in', 'a', { a: 1 }, false],
  ])('%s: %j vs %j → %s', (operator, actual, expected, result) => {
    expect(matchesOperator(operator, actual, expected)).toBe(result);
  });

  it('jsonEqual compares deeply', () => {
    expect(jsonEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toBe(true);
    expect(jsonEqual({ a: undefined }, { b: undefined })).toBe(false);
    expect(jsonEqual(null, undefined)).toBe(false);
  });
});

const vt: MaliceRulesInput = {
  rules: [
    { field: 'data.attributes.last_analysis_stats.malicious', operator: '>', value: 0, verdict: 'Malicious' },
    { field: 'data.attributes.last_analysis_stats.suspicious', operator: '>', value: 0, verdict: 'Suspicious' },
  ],
  default_verdict: 'Benign',
  not_found_verdict: 'Pending',
};
const rules = (input: MaliceRulesInput) => MaliceRulesSchema.parse(input);
const stats = (malicious: unknown, suspicious: unknown) => ({
  data: { attributes: { last_analysis_stats: { malicious, suspicious } } },
});

describe('evaluateMalice', () => {
  it('first matching rule wins and is explained', () => {
    const result = evaluateMalice(rules(vt), stats(14, 3), ctx);
    expect(result).toEqual({
      verdict: 'Malicious',
      explanation: {
        provider: 'virustotal',
        rule_index: 0,
        field: 'data.attributes.last_analysis_stats.malicious',
        operator: '>',
        expected: 0,
        actual: 14,
        verdict: 'Malicious',
        reason: 'rule',
        fetched_at: '2026-03-01T12:00:00.000Z',
      },
    });
  });

  it('later rules are tried when earlier ones do not match', () => {
    const result = evaluateMalice(rules(vt), stats(0, '2'), ctx);
    expect(result.verdict).toBe('Suspicious');
    expect(result.explanation).toMatchObject({ rule_index: 1, actual: '2', reason: 'rule' });
  });

  it('no match → default_verdict, explained as default', () => {
    const result = evaluateMalice(rules(vt), stats(0, 0), ctx);
    expect(result.verdict).toBe('Benign');
    expect(result.explanation).toMatchObject({ rule_index: null, field: null, operator: null, reason: 'default' });
  });

  it('a missing or null field matches nothing, not even !=', () => {
    const r = rules({
      rules: [
        { field: 'data.missing', operator: '!=', value: 'x', verdict: 'Malicious' },
        { field: 'data.nothing', operator: '!=', value: 'x', verdict: 'Malicious' },
        { field: 'data.here', operator: '!=', value: 'x', verdict: 'Suspicious' },
      ],
      default_verdict: 'Benign',
    });
    expect(evaluateMalice(r, { data: { nothing: null, here: 'y' } }, ctx)).toMatchObject({
      verdict: 'Suspicious',
      explanation: { rule_index: 2 },
    });
    expect(evaluateMalice(r, { data: { nothing: null } }, ctx).verdict).toBe('Benign');
  });

  it('evaluates against the raw response, multi-step paths prefixed by step name', () => {
    const r = rules({
      rules: [
        { field: 'user_lookup.status', operator: 'in', value: ['SUSPENDED', 'LOCKED_OUT'], verdict: 'Suspicious' },
      ],
    });
    expect(evaluateMalice(r, { user_lookup: { status: 'LOCKED_OUT' } }, ctx).verdict).toBe('Suspicious');
    // The rules' default is Pending (schema default), but the provider answered: Unknown.
    expect(evaluateMalice(r, { user_lookup: { status: 'ACTIVE' } }, ctx).verdict).toBe('Unknown');
  });

  it('wildcard paths give lists that contains can test', () => {
    const r = rules({
      rules: [{ field: 'data.categories.*', operator: 'contains', value: 'malware', verdict: 'Malicious' }],
      default_verdict: 'Benign',
    });
    expect(evaluateMalice(r, { data: { categories: { a: 'news', b: 'malware' } } }, ctx)).toMatchObject({
      verdict: 'Malicious',
      explanation: { actual: ['news', 'malware'] },
    });
    expect(evaluateMalice(r, { data: { categories: { a: 'news' } } }, ctx).verdict).toBe('Benign');
  });

  it('null rules → Unknown (answered, not judged); empty rules → default_verdict', () => {
    expect(evaluateMalice(null, stats(99, 0), ctx)).toMatchObject({
      verdict: 'Unknown',
      explanation: { reason: 'default', provider: 'virustotal' },
    });
    expect(evaluateMalice(rules({ default_verdict: 'Benign' }), {}, ctx).verdict).toBe('Benign');
    expect(evaluateMalice(rules({}), {}, ctx).verdict).toBe('Unknown');
  });

  it('not found → not_found_verdict', () => {
    expect(notFoundVerdict(rules({ ...vt, not_found_verdict: 'Benign' }), ctx)).toEqual({
      verdict: 'Benign',
      explanation: {
        provider: 'virustotal',
        rule_index: null,
        field: null,
        operator: null,
        expected: null,
        actual: null,
        verdict: 'Benign',
        reason: 'not_found',
        fetched_at: '2026-03-01T12:00:00.000Z',
      },
    });
    expect(notFoundVerdict(null, ctx).verdict).toBe('Unknown');
  });
});

describe('MaliceRulesSchema', () => {
  it('needs a list for in, a known operator and a verdict', () => {
    const bad = (rule: unknown) => MaliceRulesSchema.safeParse({ rules: [rule] }).success;
    expect(bad({ field: 'a', operator: 'in', value: 'x', verdict: 'Malicious' })).toBe(false);
    expect(bad({ field: 'a', operator: '=~', value: 'x', verdict: 'Malicious' })).toBe(false);
    expect(bad({ field: 'a', operator: '==', value: 'x' })).toBe(false);
    expect(bad({ field: 'a', operator: 'in', value: ['x'], verdict: 'Malicious' })).toBe(true);
  });
});
