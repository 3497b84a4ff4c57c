import {
  addAlertIndicators,
  deleteAlert,
  getAlert,
  getAlertContext,
  ingestAlert,
  listAlertActivity,
  listAlertIndicators,
  listAlerts,
  listRelatedAlerts,
  patchAlert,
  requestAlertEnrichment,
} from '@calseta/core';
import {
  ActivityEventSchema,
  AgentPayloadSchema,
  AlertIndicatorSchema,
  AlertIngestRequestSchema,
  AlertListQuerySchema,
  AlertPatchSchema,
  AlertSchema,
  AlertSummarySchema,
  dataEnvelope,
  IndicatorAddRequestSchema,
  IndicatorAddResultSchema,
  IngestAcceptedSchema,
  PageMetaSchema,
  PageQuerySchema,
  pageEnvelope,
  RelatedAlertSchema,
  TokenBudgetQuerySchema,
  UuidSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { alertBody, dataBody, pageBody } from '../envelope.js';
import { apiRoute, body, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';

const AlertParams = z.object({ alert_uuid: UuidSchema });

/** `pageEnvelope(AlertSummary)` whose `meta` may carry `total_is_estimate` (docs/adr/0007). */
const AlertPageSchema = z.object({
  data: z.array(AlertSummarySchema),
  meta: PageMetaSchema.extend({
    total_is_estimate: z
      .literal(true)
      .optional()
      .describe('Present (true) when `total` is an estimate: more than 1,000 alerts match.'),
  }).meta({ id: 'AlertPageMeta' }),
});

export const alertRoutes = new OpenAPIHono<AppEnv>();

alertRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/alerts',
    tags: ['Alerts'],
    summary: 'List alerts',
    description:
      'Filters take comma-separated values (`status=Open,Triaging`); `tags` must all be present. Sorts other than ' +
      'by time break ties by `occurred_at`, and every sort finally by insertion order, in the same direction.\n\n' +
      '`meta.total` is exact when the list ends on the returned page or when at most 1,000 alerts match and ' +
      "an index finds them. Otherwise it is the database planner's estimate (at least what the page proves) and " +
      '`meta.total_is_estimate` is `true`; `total_pages` follows from it. Counting every match exactly would ' +
      'make each page cost grow with the table (docs/adr/0007-alert-list-totals.md).',
    permission: 'alerts:read',
    request: { query: AlertListQuerySchema.extend(PageQuerySchema.shape) },
    responses: { 200: json(AlertPageSchema, 'A page of alerts.') },
  }),
  async (c) => c.json(pageBody(await listAlerts(c.get('ctx'), c.req.valid('query'))), 200),
);

alertRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/alerts',
    tags: ['Alerts'],
    summary: 'Ingest an alert programmatically',
    description:
      'Same pipeline and source checks as `POST /v1/ingest/{source}`: a disabled source integration refuses (403 ' +
      '`SOURCE_NOT_ALLOWED`), and a source that requires a webhook signature (integration `webhook_secret` or ' +
      '`<SOURCE>_WEBHOOK_SECRET`) is refused here (401 `INVALID_SIGNATURE`, nothing stored) unless the key is `admin`: ' +
      'this body is an envelope no source signature covers. 202 means the alert is stored and queued.',
    permission: 'alerts:ingest',
    request: { body: body(AlertIngestRequestSchema) },
    responses: {
      202: json(dataEnvelope(IngestAcceptedSchema), 'Stored and queued (or counted on a duplicate).'),
      401: errorContent('The source requires signed webhooks (`INVALID_SIGNATURE`; nothing is stored).'),
      403: errorContent('Missing scope, a source outside `allowed_sources` or a disabled integration.'),
      404: errorContent('Unknown source (`UNKNOWN_SOURCE`).'),
    },
  }),
  async (c) => {
    const request = c.req.valid('json');
    const accepted = await ingestAlert(c.get('ctx'), { sourceName: request.source_name, payload: request.payload });
    return c.json(dataBody(accepted), 202);
  },
);

alertRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/alerts/{alert_uuid}',
    tags: ['Alerts'],
    summary: 'Get an alert with its indicators and detection rule',
    permission: 'alerts:read',
    request: { params: AlertParams },
    responses: { 200: json(dataEnvelope(AlertSchema), 'The alert.'), 404: errorContent('No such alert.') },
  }),
  async (c) => c.json(alertBody(await getAlert(c.get('ctx'), { uuid: c.req.valid('param').alert_uuid })), 200),
);

alertRoutes.openapi(
  apiRoute({
    method: 'patch',
    path: '/v1/alerts/{alert_uuid}',
    tags: ['Alerts'],
    summary: 'Update status, severity, tags, classification or malice override',
    description: 'Closing requires `close_classification`. Lifecycle timestamps are set once and never cleared.',
    permission: 'alerts:write',
    request: {
      params: AlertParams,
      body: body(AlertPatchSchema),
    },
    responses: { 200: json(dataEnvelope(AlertSchema), 'The updated alert.'), 404: errorContent('No such alert.') },
  }),
  async (c) =>
    c.json(
      alertBody(await patchAlert(c.get('ctx'), { uuid: c.req.valid('param').alert_uuid, patch: c.req.valid('json') })),
      200,
    ),
);

alertRoutes.openapi(
  apiRoute({
    method: 'delete',
    path: '/v1/alerts/{alert_uuid}',
    tags: ['Alerts'],
    summary: 'Delete an alert',
    description: 'Admin only: deleting removes evidence (the reference allowed any `alerts:write` key).',
    permission: 'alerts:delete',
    request: { params: AlertParams },
    responses: { 204: { description: 'Deleted.' }, 404: errorContent('No such alert.') },
  }),
  async (c) => {
    await deleteAlert(c.get('ctx'), { uuid: c.req.valid('param').alert_uuid });
    return c.body(null, 204);
  },
);

alertRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/alerts/{alert_uuid}/indicators',
    tags: ['Alerts'],
    summary: "An alert's indicators",
    permission: 'alerts:read',
    request: { params: AlertParams },
    responses: {
      200: json(z.object({ data: z.array(AlertIndicatorSchema), meta: z.object({}) }), 'The indicators.'),
      404: errorContent('No such alert.'),
    },
  }),
  async (c) =>
    c.json(dataBody(await listAlertIndicators(c.get('ctx'), { uuid: c.req.valid('param').alert_uuid })), 200),
);

alertRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/alerts/{alert_uuid}/indicators',
    tags: ['Alerts'],
    summary: 'Add indicators to an alert (and queue its enrichment unless enrich=false)',
    description:
      'Each indicator is upserted and linked once (adding one twice adds it once). With `enrich` (default true) the alert is enriched again in the background; agents that already received it are not notified again.',
    permission: 'alerts:write',
    request: {
      params: AlertParams,
      query: z.object({ enrich: z.enum(['true', 'false']).optional() }),
      body: body(IndicatorAddRequestSchema),
    },
    responses: {
      201: json(dataEnvelope(IndicatorAddResultSchema), 'The indicators as stored.'),
      404: errorContent('No such alert.'),
    },
  }),
  async (c) => {
    const result = await addAlertIndicators(c.get('ctx'), {
      uuid: c.req.valid('param').alert_uuid,
      input: c.req.valid('json'),
      enrich: c.req.valid('query').enrich !== 'false',
    });
    return c.json(dataBody(result), 201);
  },
);

alertRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/alerts/{alert_uuid}/context',
    tags: ['Alerts'],
    summary: 'The agent payload: everything an agent needs about this alert, within a token budget',
    description:
      'The same document webhooks deliver and MCP serves: normalized alert, indicators with verdicts and reasons, detection rule, context documents, related past alerts and workflows, fitted into `token_budget` o200k tokens (default 2,000) — `trimmed` says what was shortened and where the rest is.',
    permission: 'alerts:read',
    request: { params: AlertParams, query: TokenBudgetQuerySchema },
    responses: {
      200: json(dataEnvelope(AgentPayloadSchema), 'The payload.'),
      404: errorContent('No such alert.'),
    },
  }),
  async (c) => {
    const { token_budget, detail } = c.req.valid('query');
    const payload = await getAlertContext(c.get('ctx'), {
      uuid: c.req.valid('param').alert_uuid,
      ...(token_budget === undefined ? {} : { tokenBudget: token_budget }),
      ...(detail === undefined ? {} : { detail }),
    });
    return c.json(dataBody(payload), 200);
  },
);

alertRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/alerts/{alert_uuid}/related',
    tags: ['Alerts'],
    summary: 'Earlier alerts sharing indicators with this one, most shared first',
    permission: 'alerts:read',
    request: { params: AlertParams },
    responses: {
      200: json(z.object({ data: z.array(RelatedAlertSchema), meta: z.object({}) }), 'Related alerts.'),
      404: errorContent('No such alert.'),
    },
  }),
  async (c) => c.json(dataBody(await listRelatedAlerts(c.get('ctx'), { uuid: c.req.valid('param').alert_uuid })), 200),
);

alertRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/alerts/{alert_uuid}/enrich',
    tags: ['Alerts'],
    summary: 'Enrich the alert again (queued)',
    description:
      'Re-runs indicator extraction and enrichment with the active providers. Cached provider answers are reused until they expire. ' +
      'Agents that already received the alert are not notified again unless `redispatch=true`.',
    permission: 'alerts:write',
    request: {
      params: AlertParams,
      query: z.object({ redispatch: z.enum(['true', 'false']).optional() }),
    },
    responses: {
      202: json(
        dataEnvelope(z.object({ message: z.string(), alert_uuid: UuidSchema })),
        'Queued: the job is durable and the worker picks it up at once.',
      ),
      404: errorContent('No such alert.'),
    },
  }),
  async (c) => {
    const queued = await requestAlertEnrichment(c.get('ctx'), {
      uuid: c.req.valid('param').alert_uuid,
      redispatch: c.req.valid('query').redispatch === 'true',
    });
    return c.json(dataBody({ message: 'Enrichment queued', ...queued }), 202);
  },
);

alertRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/alerts/{alert_uuid}/activity',
    tags: ['Alerts'],
    summary: "An alert's activity timeline, newest first",
    permission: 'alerts:read',
    request: { params: AlertParams, query: PageQuerySchema },
    responses: {
      200: json(pageEnvelope(ActivityEventSchema), 'A page of events.'),
      404: errorContent('No such alert.'),
    },
  }),
  async (c) =>
    c.json(
      pageBody(
        await listAlertActivity(c.get('ctx'), { uuid: c.req.valid('param').alert_uuid, query: c.req.valid('query') }),
      ),
      200,
    ),
);
