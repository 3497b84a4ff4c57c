import { getAlertMetrics, getDetectionRuleMetrics, getMetricsSummary, getWorkflowMetrics } from '@calseta/core';
import {
  AlertMetricsSchema,
  DetectionRuleMetricsSchema,
  dataEnvelope,
  MetricsSummarySchema,
  MetricsWindowQuerySchema,
  RuleMetricsQuerySchema,
  UuidSchema,
  WorkflowMetricsSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { dataBody } from '../envelope.js';
import { apiRoute, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';

const tags = ['Metrics'];
const WINDOW =
  'Window over `created_at`: `from_time ≤ created_at < to_time`; `to_time` defaults to now and `from_time` to 30 days ' +
  'before `to_time`. Durations are seconds, `null` when no alert qualifies.';

export const metricsRoutes = new OpenAPIHono<AppEnv>();

metricsRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/metrics/alerts',
    tags,
    summary: 'Alert volume, outcomes and response times (MTTD, MTTA, MTTT, MTTC, MTTE)',
    description: WINDOW,
    permission: 'metrics:read',
    request: { query: MetricsWindowQuerySchema },
    responses: { 200: json(dataEnvelope(AlertMetricsSchema), 'Alert metrics for the window.') },
  }),
  async (c) => c.json(dataBody(await getAlertMetrics(c.get('ctx'), c.req.valid('query'))), 200),
);

metricsRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/metrics/workflows',
    tags,
    summary: 'Configured workflows and their runs',
    description: `${WINDOW} Runs are counted by their own \`created_at\`.`,
    permission: 'workflow_metrics:read',
    request: { query: MetricsWindowQuerySchema },
    responses: { 200: json(dataEnvelope(WorkflowMetricsSchema), 'Workflow metrics for the window.') },
  }),
  async (c) => c.json(dataBody(await getWorkflowMetrics(c.get('ctx'), c.req.valid('query'))), 200),
);

metricsRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/metrics/summary',
    tags,
    summary: 'Dashboard summary over the last 30 days',
    description: 'Alerts, workflows and approvals created in the last 30 days; platform counts; job queue state.',
    permission: 'metrics:read',
    responses: { 200: json(dataEnvelope(MetricsSummarySchema), 'The summary.') },
  }),
  async (c) => c.json(dataBody(await getMetricsSummary(c.get('ctx'))), 200),
);

metricsRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/detection-rules/{rule_uuid}/metrics',
    tags: ['Detection rules'],
    summary: "A detection rule's alert metrics (volume, false/true positive rates, MTTA, MTTC)",
    description:
      'Alerts of this rule with `from ≤ created_at < to`; `to` defaults to now and `from` to 30 days before `to`.',
    permission: 'metrics:read',
    request: { params: z.object({ rule_uuid: UuidSchema }), query: RuleMetricsQuerySchema },
    responses: {
      200: json(dataEnvelope(DetectionRuleMetricsSchema), 'The rule metrics.'),
      404: errorContent('No such detection rule.'),
    },
  }),
  async (c) =>
    c.json(
      dataBody(
        await getDetectionRuleMetrics(c.get('ctx'), {
          uuid: c.req.valid('param').rule_uuid,
          query: c.req.valid('query'),
        }),
      ),
      200,
    ),
);
