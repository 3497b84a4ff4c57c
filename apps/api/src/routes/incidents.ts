import {
  addIncidentAlerts,
  addIncidentFinding,
  dryRunCorrelation,
  getCorrelationConfig,
  getIncident,
  listIncidentFindings,
  listIncidents,
  listIncidentTimeline,
  mergeIncidents,
  patchIncident,
  splitIncident,
  updateCorrelationConfig,
} from '@calseta/core';
import {
  AlertFindingSchema,
  CorrelationConfigSchema,
  CorrelationDryRunRequestSchema,
  CorrelationDryRunResultSchema,
  dataEnvelope,
  FindingCreateSchema,
  IncidentAddAlertsRequestSchema,
  IncidentEventSchema,
  IncidentListQuerySchema,
  IncidentMergeRequestSchema,
  IncidentPatchSchema,
  IncidentSchema,
  IncidentSplitRequestSchema,
  IncidentSummarySchema,
  PageQuerySchema,
  pageEnvelope,
  UuidSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { dataBody, pageBody } from '../envelope.js';
import { apiRoute, body, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';

const IncidentParams = z.object({ incident_uuid: UuidSchema });
const tags = ['Incidents'];
const incident = json(dataEnvelope(IncidentSchema), 'The incident with its members, shared entities and metrics.');
const noIncident = errorContent('No such incident (or alert).');

export const incidentRoutes = new OpenAPIHono<AppEnv>();

incidentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/incidents',
    tags,
    summary: 'List incidents',
    description:
      'Related alerts grouped by correlation (docs/guides/incidents.md). Filters take comma-separated values ' +
      '(`status=Open,Triaging`); `alert_uuid` finds the incident holding an alert; `q` matches the title literally.',
    permission: 'incidents:read',
    request: { query: IncidentListQuerySchema.extend(PageQuerySchema.shape) },
    responses: { 200: json(pageEnvelope(IncidentSummarySchema), 'A page of incidents.') },
  }),
  async (c) => c.json(pageBody(await listIncidents(c.get('ctx'), c.req.valid('query'))), 200),
);

incidentRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/incidents/correlation/dry-run',
    tags,
    summary: 'What correlation would group in a time range (writes nothing)',
    description:
      "Replays the range's alerts (oldest first, up to `max_alerts`) through the stored correlation rules, or " +
      'through `config` overrides, from nothing: existing incidents are ignored.',
    permission: 'incidents:read',
    request: { body: body(CorrelationDryRunRequestSchema) },
    responses: { 200: json(dataEnvelope(CorrelationDryRunResultSchema), 'The groups that would form.') },
  }),
  async (c) => c.json(dataBody(await dryRunCorrelation(c.get('ctx'), c.req.valid('json'))), 200),
);

incidentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/incidents/correlation/config',
    tags,
    summary: 'The correlation rules',
    permission: 'incidents:configure',
    responses: { 200: json(dataEnvelope(CorrelationConfigSchema), 'The rules in force (defaults filled in).') },
  }),
  async (c) => c.json(dataBody(await getCorrelationConfig(c.get('ctx'))), 200),
);

incidentRoutes.openapi(
  apiRoute({
    method: 'put',
    path: '/v1/incidents/correlation/config',
    tags,
    summary: 'Replace the correlation rules',
    description: 'Fields left out take their defaults. Applies to alerts correlated from now on.',
    permission: 'incidents:configure',
    request: { body: body(CorrelationConfigSchema) },
    responses: { 200: json(dataEnvelope(CorrelationConfigSchema), 'The stored rules.') },
  }),
  async (c) => c.json(dataBody(await updateCorrelationConfig(c.get('ctx'), c.req.valid('json'))), 200),
);

incidentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/incidents/{incident_uuid}',
    tags,
    summary: 'Get an incident',
    description: 'Members newest first (at most 500; `alert_count` is the whole), each with why it joined.',
    permission: 'incidents:read',
    request: { params: IncidentParams },
    responses: { 200: incident, 404: noIncident },
  }),
  async (c) => c.json(dataBody(await getIncident(c.get('ctx'), { uuid: c.req.valid('param').incident_uuid })), 200),
);

incidentRoutes.openapi(
  apiRoute({
    method: 'patch',
    path: '/v1/incidents/{incident_uuid}',
    tags,
    summary: 'Update status, severity, classification or title',
    description:
      'Closing requires `close_classification`. `severity: null` hands severity back to the members (the worst ' +
      'of them). Lifecycle timestamps are set once and never cleared.',
    permission: 'incidents:write',
    request: { params: IncidentParams, body: body(IncidentPatchSchema) },
    responses: { 200: incident, 404: noIncident },
  }),
  async (c) =>
    c.json(
      dataBody(
        await patchIncident(c.get('ctx'), { uuid: c.req.valid('param').incident_uuid, patch: c.req.valid('json') }),
      ),
      200,
    ),
);

incidentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/incidents/{incident_uuid}/timeline',
    tags,
    summary: "An incident's timeline, oldest first",
    permission: 'incidents:read',
    request: { params: IncidentParams, query: PageQuerySchema },
    responses: { 200: json(pageEnvelope(IncidentEventSchema), 'A page of events.'), 404: noIncident },
  }),
  async (c) =>
    c.json(
      pageBody(
        await listIncidentTimeline(c.get('ctx'), {
          uuid: c.req.valid('param').incident_uuid,
          query: c.req.valid('query'),
        }),
      ),
      200,
    ),
);

incidentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/incidents/{incident_uuid}/findings',
    tags,
    summary: "An incident's findings, oldest first",
    permission: 'incidents:read',
    request: { params: IncidentParams },
    responses: {
      200: json(z.object({ data: z.array(AlertFindingSchema), meta: z.object({}) }), 'The findings.'),
      404: noIncident,
    },
  }),
  async (c) =>
    c.json(dataBody(await listIncidentFindings(c.get('ctx'), { uuid: c.req.valid('param').incident_uuid })), 200),
);

incidentRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/incidents/{incident_uuid}/findings',
    tags,
    summary: "Post a finding (an agent's or analyst's conclusion) on an incident",
    permission: 'incidents:write',
    request: { params: IncidentParams, body: body(FindingCreateSchema) },
    responses: { 201: json(dataEnvelope(AlertFindingSchema), 'The stored finding.'), 404: noIncident },
  }),
  async (c) =>
    c.json(
      dataBody(
        await addIncidentFinding(c.get('ctx'), {
          uuid: c.req.valid('param').incident_uuid,
          input: c.req.valid('json'),
        }),
      ),
      201,
    ),
);

incidentRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/incidents/{incident_uuid}/alerts',
    tags,
    summary: 'Move alerts into this incident',
    description: 'From another incident or from none. The memberships are pinned: correlation never moves them again.',
    permission: 'incidents:write',
    request: { params: IncidentParams, body: body(IncidentAddAlertsRequestSchema) },
    responses: { 200: incident, 404: noIncident },
  }),
  async (c) =>
    c.json(
      dataBody(
        await addIncidentAlerts(c.get('ctx'), { uuid: c.req.valid('param').incident_uuid, input: c.req.valid('json') }),
      ),
      200,
    ),
);

incidentRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/incidents/{incident_uuid}/split',
    tags,
    summary: 'Split member alerts out to a new incident',
    description: 'At least one member must stay. The moved memberships are pinned.',
    permission: 'incidents:write',
    request: { params: IncidentParams, body: body(IncidentSplitRequestSchema) },
    responses: { 201: json(dataEnvelope(IncidentSchema), 'The new incident.'), 404: noIncident },
  }),
  async (c) =>
    c.json(
      dataBody(
        await splitIncident(c.get('ctx'), { uuid: c.req.valid('param').incident_uuid, input: c.req.valid('json') }),
      ),
      201,
    ),
);

incidentRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/incidents/{incident_uuid}/merge',
    tags,
    summary: 'Merge other incidents into this one',
    description:
      "The listed incidents' alerts move here (pinned); they close as `Duplicate` with `merged_into_uuid` set. " +
      '409 `CONFLICT` when one of them was already merged away.',
    permission: 'incidents:write',
    request: { params: IncidentParams, body: body(IncidentMergeRequestSchema) },
    responses: { 200: incident, 404: noIncident, 409: errorContent('Already merged (`CONFLICT`).') },
  }),
  async (c) =>
    c.json(
      dataBody(
        await mergeIncidents(c.get('ctx'), { uuid: c.req.valid('param').incident_uuid, input: c.req.valid('json') }),
      ),
      200,
    ),
);
