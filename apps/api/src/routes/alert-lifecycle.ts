import { addAlertFinding, getRelationshipGraph, listAlertFindings } from '@calseta/core';
import {
  AlertFindingSchema,
  dataEnvelope,
  FindingCreateSchema,
  GraphQuerySchema,
  RelationshipGraphSchema,
  UuidSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { dataBody } from '../envelope.js';
import { apiRoute, body, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';

const AlertParams = z.object({ alert_uuid: UuidSchema });
const tags = ['Alerts'];

export const alertLifecycleRoutes = new OpenAPIHono<AppEnv>();

alertLifecycleRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/alerts/{alert_uuid}/findings',
    tags,
    summary: "Post a finding (an agent's or analyst's conclusion) on an alert",
    description: 'Findings are appended, never replaced; each records the key that posted it.',
    permission: 'findings:write',
    request: { params: AlertParams, body: body(FindingCreateSchema) },
    responses: {
      201: json(dataEnvelope(AlertFindingSchema), 'The stored finding.'),
      404: errorContent('No such alert.'),
    },
  }),
  async (c) =>
    c.json(
      dataBody(
        await addAlertFinding(c.get('ctx'), {
          uuid: c.req.valid('param').alert_uuid,
          input: c.req.valid('json'),
        }),
      ),
      201,
    ),
);

alertLifecycleRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/alerts/{alert_uuid}/findings',
    tags,
    summary: "An alert's findings, oldest first",
    permission: 'alerts:read',
    request: { params: AlertParams },
    responses: {
      200: json(z.object({ data: z.array(AlertFindingSchema), meta: z.object({}) }), 'The findings.'),
      404: errorContent('No such alert.'),
    },
  }),
  async (c) => c.json(dataBody(await listAlertFindings(c.get('ctx'), { uuid: c.req.valid('param').alert_uuid })), 200),
);

alertLifecycleRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/alerts/{alert_uuid}/relationship-graph',
    tags,
    summary: 'The alert, its indicators and the other alerts sharing each indicator',
    description: '`sibling_limit` (1–50, default 10) caps the sibling alerts listed per indicator, newest first.',
    permission: 'alerts:read',
    request: { params: AlertParams, query: GraphQuerySchema },
    responses: {
      200: json(dataEnvelope(RelationshipGraphSchema), 'The graph.'),
      404: errorContent('No such alert.'),
    },
  }),
  async (c) =>
    c.json(
      dataBody(
        await getRelationshipGraph(c.get('ctx'), {
          uuid: c.req.valid('param').alert_uuid,
          siblingLimit: c.req.valid('query').sibling_limit,
        }),
      ),
      200,
    ),
);
