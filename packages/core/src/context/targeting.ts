import {
  type AlertSeverity,
  MALICE_WEIGHT,
  type MaliceLevel,
  SEVERITY_WEIGHT,
  type TargetingField,
  type TargetingRule,
  type TargetingRules,
} from '@calseta/schema';

/** The facts of an alert that targeting rules can test. */
export interface TargetingSubject {
  source_name: string;
  severity: string;
  tags: readonly string[];
  title: string;
  malice: string;
  /** Name and source rule id of the detection rule, when linked. */
  detection_rule: readonly string[];
  mitre_tactics: readonly string[];
  mitre_techniques: readonly string[];
  indicator_types: readonly string[];
}

const ORDER: Partial<Record<TargetingField, Readonly<Record<string, number>>>> = {
  severity: SEVERITY_WEIGHT as Readonly<Record<AlertSeverity, number>>,
  malice: MALICE_WEIGHT as Readonly<Record<MaliceLevel, number>>,
};

const norm = (v: unknown) => String(v).trim().toLowerCase();

function ruleMatches(rule: TargetingRule, subject: TargetingSubject): boolean {
  const actual = subject[rule.field];
  const values = (Array.isArray(actual) ? actual : [actual]).map(norm).filter((v) => v !== '');
  if (values.length === 0) return false;
  switch (rule.op) {
    case 'eq':
      return values.includes(norm(rule.value));
    case 'in':
      return Array.isArray(rule.value) && rule.value.some((v) => values.includes(norm(v)));
    case 'contains': {
      const wanted = norm(rule.value);
      // Lists: membership; text: substring (case-insensitive both ways).
      return Array.isArray(actual) ? values.includes(wanted) : values.some((v) => v.includes(wanted));
    }
    case 'gte':
    case 'lte': {
      const order = ORDER[rule.field];
      if (!order) return false;
      const rank = (v: unknown) => Object.entries(order).find(([k]) => k.toLowerCase() === norm(v))?.[1];
      const a = rank(actual);
      const b = rank(rule.value);
      if (a === undefined || b === undefined) return false;
      return rule.op === 'gte' ? a >= b : a <= b;
    }
  }
}

/**
 * Do `rules` select `subject`? `match_any`: at least one rule; `match_all`: every rule; both given:
 * both must hold. No rules select nothing (reference quirk 22: untargeted documents attached to
 * every alert). Never throws.
 */
export function matchesTargeting(rules: TargetingRules | null | undefined, subject: TargetingSubject): boolean {
  const any = rules?.match_any ?? [];
  const all = rules?.match_all ?? [];
  if (any.length === 0 && all.length === 0) return false;
  if (any.length > 0 && !any.some((r) => ruleMatches(r, subject))) return false;
  return all.every((r) => ruleMatches(r, subject));
}
