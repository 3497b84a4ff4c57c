import type { MaliceLevel, MaliceOperator, MaliceRules, VerdictExplanation } from '@calseta/schema';
import { isRecord } from '../helpers.js';
import { toFloat } from './extract.js';
import { resolvePath } from './path.js';

export interface MaliceEvaluation {
  verdict: MaliceLevel;
  explanation: VerdictExplanation;
}

export interface VerdictContext {
  provider: string;
  /** When the evaluated data was fetched. */
  fetchedAt: string | null;
}

/** Structural equality of JSON values (no coercion: `1` ≠ `"1"`, `true` ≠ `1`). */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => jsonEqual(item, b[i]));
  }
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

function compare(actual: unknown, expected: unknown, test: (a: number, e: number) => boolean): boolean {
  const a = toFloat(actual);
  const e = toFloat(expected);
  return a !== null && e !== null && test(a, e);
}

/**
 * One operator (reference §4.5):
 * - `contains`: text actual → `String(expected)` is a substring; list actual → some member equals
 *   expected; object actual → expected (text) is a key; anything else → false.
 * - `in`: expected is a list and some member equals actual; otherwise false.
 * - `==` / `!=`: structural equality without coercion.
 * - `>` `>=` `<` `<=`: both sides read as numbers (`toFloat`: numeric text and booleans count);
 *   either side not numeric → false.
 * The caller has already decided that a missing or null actual matches nothing.
 */
export function matchesOperator(operator: MaliceOperator, actual: unknown, expected: unknown): boolean {
  switch (operator) {
    case 'contains':
      if (typeof actual === 'string') {
        return typeof expected === 'object' && expected !== null ? false : actual.includes(String(expected));
      }
      if (Array.isArray(actual)) return actual.some((member) => jsonEqual(member, expected));
      if (isRecord(actual)) return typeof expected === 'string' && Object.hasOwn(actual, expected);
      return false;
    case 'in':
      return Array.isArray(expected) && expected.some((member) => jsonEqual(member, actual));
    case '==':
      return jsonEqual(actual, expected);
    case '!=':
      return !jsonEqual(actual, expected);
    case '>':
      return compare(actual, expected, (a, e) => a > e);
    case '>=':
      return compare(actual, expected, (a, e) => a >= e);
    case '<':
      return compare(actual, expected, (a, e) => a < e);
    case '<=':
      return compare(actual, expected, (a, e) => a <= e);
  }
}

/**
 * A default or not-found verdict: the provider answered, so `Pending` ("not enriched yet", the
 * reference's default, still written by older definitions) is untrue; it could not judge: `Unknown`.
 */
function verdictOnly(configured: MaliceLevel, reason: 'default' | 'not_found', ctx: VerdictContext): MaliceEvaluation {
  const verdict: MaliceLevel = configured === 'Pending' ? 'Unknown' : configured;
  return {
    verdict,
    explanation: {
      provider: ctx.provider,
      rule_index: null,
      field: null,
      operator: null,
      expected: null,
      actual: null,
      verdict,
      reason,
      fetched_at: ctx.fetchedAt,
    },
  };
}

/**
 * Evaluate ordered rules against the provider's raw response (as the reference does: the same paths
 * a field extraction would use). First matching rule wins; a missing or null field matches no
 * operator (not even `!=`); no match → `default_verdict`; no rules at all (null) → Unknown.
 */
export function evaluateMalice(rules: MaliceRules | null, raw: unknown, ctx: VerdictContext): MaliceEvaluation {
  if (rules === null) return verdictOnly('Pending', 'default', ctx);
  for (const [index, rule] of rules.rules.entries()) {
    const actual = resolvePath(raw, rule.field);
    if (actual === undefined || actual === null) continue;
    if (!matchesOperator(rule.operator, actual, rule.value)) continue;
    return {
      verdict: rule.verdict,
      explanation: {
        provider: ctx.provider,
        rule_index: index,
        field: rule.field,
        operator: rule.operator,
        expected: rule.value,
        actual,
        verdict: rule.verdict,
        reason: 'rule',
        fetched_at: ctx.fetchedAt,
      },
    };
  }
  return verdictOnly(rules.default_verdict, 'default', ctx);
}

/** The verdict of a `not_found` answer: `not_found_verdict` (Unknown without rules). */
export function notFoundVerdict(rules: MaliceRules | null, ctx: VerdictContext): MaliceEvaluation {
  return verdictOnly(rules?.not_found_verdict ?? 'Pending', 'not_found', ctx);
}
