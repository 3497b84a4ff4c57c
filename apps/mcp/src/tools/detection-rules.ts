import { listDetectionRules } from '@calseta/core';
import { type DetectionRule, DetectionRuleListQuerySchema, DetectionRuleSchema } from '@calseta/schema';
import { z } from 'zod';
import { defineTool, listInput, page, paged } from '../define.js';

/** Documentation in rule lists is cut to this many characters (the full text is one read away). */
const DOC_SUMMARY_CHARS = 200;

export const RuleListItemSchema = DetectionRuleSchema.omit({ documentation: true }).extend({
  /** The first 200 characters; read `calseta://detection-rules/{uuid}` for all of it. */
  documentation_summary: z.string().nullable(),
});

/** A rule as lists show it: its documentation summarized. */
export function summarized({ documentation, ...rule }: DetectionRule) {
  return {
    ...rule,
    documentation_summary:
      documentation === null || documentation.length <= DOC_SUMMARY_CHARS
        ? documentation
        : `${documentation.slice(0, DOC_SUMMARY_CHARS)}…`,
  };
}

export const searchDetectionRules = defineTool({
  name: 'search_detection_rules',
  description:
    'Search detection rules by name (substring), MITRE tactic or technique (exact; techniques match ' +
    'sub-techniques too), source_name and severity (comma lists). Documentation is summarized.',
  // REST's GET /v1/detection-rules query.
  inputSchema: listInput(DetectionRuleListQuerySchema, { is_active: z.boolean().optional() }),
  outputSchema: { detection_rules: z.array(RuleListItemSchema), ...paged },
  annotations: { readOnlyHint: true },
  permissions: ['detection_rules:read'],
  run: async (ctx, query) => {
    const rules = await listDetectionRules(ctx, query);
    return page('detection_rules', { ...rules, items: rules.items.map(summarized) });
  },
});
