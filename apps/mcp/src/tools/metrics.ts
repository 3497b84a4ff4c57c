import { getMetricsSummary } from '@calseta/core';
import { MetricsSummarySchema } from '@calseta/schema';
import { defineTool } from '../define.js';

export const getMetrics = defineTool({
  name: 'get_metrics',
  description: 'The dashboard numbers over the last 30 days (alerts, workflows, approvals, platform).',
  inputSchema: {},
  outputSchema: MetricsSummarySchema.shape,
  annotations: { readOnlyHint: true },
  permissions: ['metrics:read'],
  run: (ctx) => getMetricsSummary(ctx),
});
