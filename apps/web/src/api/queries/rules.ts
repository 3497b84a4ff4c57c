import type { DetectionRule, DetectionRuleMetrics } from '@calseta/schema';
import type { One } from '../client.js';
import { resource } from './resource.js';

const rules = resource<DetectionRule>('detection-rules');
export const ruleQueries = {
  ...rules,
  metrics: (uuid: string) => rules.sub<One<DetectionRuleMetrics>>(uuid, 'metrics'),
};
