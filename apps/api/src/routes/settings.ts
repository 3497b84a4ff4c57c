import { getApprovalDefaults, listActivity } from '@calseta/core';
import {
  ActivityListQuerySchema,
  ApprovalDefaultsSchema,
  AuditEventSchema,
  dataEnvelope,
  pageEnvelope,
} from '@calseta/schema';
import { OpenAPIHono } from '@hono/zod-openapi';
import { dataBody, pageBody } from '../envelope.js';
import { apiRoute, json } from '../route.js';
import type { AppEnv } from '../types.js';

export const settingsRoutes = new OpenAPIHono<AppEnv>();

settingsRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/settings/approval-defaults',
    tags: ['Settings'],
    summary: 'Approval notification defaults',
    description: 'Which notifier approval requests use and whether Slack / Teams are configured (no secrets).',
    permission: 'settings:read',
    responses: { 200: json(dataEnvelope(ApprovalDefaultsSchema), 'The approval defaults.') },
  }),
  async (c) => c.json(dataBody(getApprovalDefaults(c.get('ctx'))), 200),
);

settingsRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/activity',
    tags: ['Audit'],
    summary: 'The audit log',
    description:
      'Every activity event, newest first: domain events, `api_write` (each successful write through the API: ' +
      'method, route, path, resource id, key prefix and name, request id) and `auth_failed` (bad, expired or revoked ' +
      'keys and missing scopes; at most RATE_LIMIT_UNAUTHED_PER_MINUTE rows per client IP per minute). ' +
      'Filters: `event_type` (comma list), `actor_type`, `actor_key_prefix`, `request_id`, `from` / `to` (ISO-8601).',
    permission: 'activity:read',
    request: { query: ActivityListQuerySchema },
    responses: { 200: json(pageEnvelope(AuditEventSchema), 'A page of events, newest first.') },
  }),
  async (c) => c.json(pageBody(await listActivity(c.get('ctx'), c.req.valid('query'))), 200),
);
