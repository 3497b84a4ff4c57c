import { getMetricsSummary } from '@calseta/core';
import type { ResourceDefinition } from '../define.js';

export const METRICS_RESOURCES: ResourceDefinition[] = [
  {
    name: 'metrics-summary',
    uri: 'calseta://metrics/summary',
    description: 'The dashboard numbers over the last 30 days.',
    permissions: ['metrics:read'],
    read: (ctx) => getMetricsSummary(ctx),
  },
];
