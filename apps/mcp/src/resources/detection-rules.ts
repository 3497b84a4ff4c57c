import { getDetectionRule, listDetectionRules } from '@calseta/core';
import { catalogue } from '../define.js';
import { summarized } from '../tools/detection-rules.js';

export const DETECTION_RULE_RESOURCES = catalogue({
  name: 'detection-rules',
  item: 'detection-rule',
  permissions: ['detection_rules:read'],
  description: {
    collection: 'Detection rules with a documentation summary (max 500).',
    item: 'One detection rule with its documentation.',
  },
  list: listDetectionRules,
  get: getDetectionRule,
  title: (rule) => rule.name,
  summarize: summarized,
});
