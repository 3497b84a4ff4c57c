import { z } from 'zod';

/**
 * Targeting rules: which alerts a context document applies to, and which alerts an agent's
 * `trigger_filter` accepts (reference §5.2, with quirk 22 fixed: `gte`/`lte` compare ordered fields,
 * and an empty rule set matches nothing unless the document is global).
 */
export const TargetingFieldSchema = z.enum([
  'source_name',
  /** Ordered: Pending < Informational < Low < Medium < High < Critical. */
  'severity',
  'tags',
  'title',
  /** The alert's verdict, ordered: Pending < Benign < Suspicious < Malicious. */
  'malice',
  /** The detection rule's name or source rule id. */
  'detection_rule',
  'mitre_tactics',
  'mitre_techniques',
  /** Types of the alert's indicators (`ip`, `domain`, …). */
  'indicator_types',
]);
export type TargetingField = z.infer<typeof TargetingFieldSchema>;

export const TargetingOpSchema = z.enum(['eq', 'in', 'contains', 'gte', 'lte']);
export type TargetingOp = z.infer<typeof TargetingOpSchema>;

export const TargetingRuleSchema = z
  .object({
    field: TargetingFieldSchema,
    op: TargetingOpSchema,
    value: z.union([z.string(), z.number(), z.boolean(), z.array(z.union([z.string(), z.number()]))]),
  })
  .strict()
  .superRefine((rule, ctx) => {
    if (rule.op === 'in' && !Array.isArray(rule.value)) {
      ctx.addIssue({ code: 'custom', message: "op 'in' needs a list value", path: ['value'] });
    }
    if ((rule.op === 'gte' || rule.op === 'lte') && rule.field !== 'severity' && rule.field !== 'malice') {
      ctx.addIssue({ code: 'custom', message: `op '${rule.op}' applies to severity and malice only`, path: ['op'] });
    }
  })
  .meta({ id: 'TargetingRule' });
export type TargetingRule = z.infer<typeof TargetingRuleSchema>;

export const TargetingRulesSchema = z
  .object({
    /** At least one must hold. */
    match_any: z.array(TargetingRuleSchema).max(100).optional(),
    /** All must hold. */
    match_all: z.array(TargetingRuleSchema).max(100).optional(),
  })
  .strict()
  .refine((r) => (r.match_any?.length ?? 0) + (r.match_all?.length ?? 0) > 0, {
    message: 'targeting rules need at least one rule in match_any or match_all',
  })
  .meta({ id: 'TargetingRules' });
export type TargetingRules = z.infer<typeof TargetingRulesSchema>;
