import {
  createAgent,
  deleteAgent,
  dispatchAgent,
  getAgent,
  getAgentRun,
  listAgentRuns,
  listAgents,
  listAlertAgentRuns,
  listIncidentDeliveries,
  redeliverAgentRun,
  rotateAgentSigningSecret,
  testAgent,
  triggerAgents,
  updateAgent,
} from '@calseta/core';
import {
  AgentCreateSchema,
  AgentListItemSchema,
  AgentRunDetailSchema,
  AgentRunSchema,
  AgentSchema,
  AgentTestResultSchema,
  AgentUpdateSchema,
  AgentWithSecretSchema,
  DispatchAgentResultSchema,
  dataEnvelope,
  IncidentDeliverySchema,
  PageQuerySchema,
  pageEnvelope,
  TriggerAgentsResultSchema,
  UuidSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { dataBody, pageBody } from '../envelope.js';
import { apiRoute, body, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';

const AgentParams = z.object({ agent_uuid: UuidSchema });
const AlertParams = z.object({ alert_uuid: UuidSchema });
const RunParams = z.object({ run_uuid: UuidSchema });
const tags = ['Agents'];
const runTags = ['Agent deliveries'];
const agentEnvelope = dataEnvelope(AgentSchema);
const SIGNING =
  'Deliveries are signed: `X-Calseta-Signature: v1=<hex HMAC-SHA256(signing_secret, "<X-Calseta-Timestamp>.<body>")>` (see docs/agent-webhooks.md).';

export const agentRoutes = new OpenAPIHono<AppEnv>();

agentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/agents',
    tags,
    summary: 'List registered agents',
    permission: 'agents:read',
    request: { query: PageQuerySchema },
    responses: {
      200: json(
        pageEnvelope(AgentListItemSchema),
        'A page of agents, newest first, each with its delivery health (latest delivery, last 24 hours).',
      ),
    },
  }),
  async (c) => c.json(pageBody(await listAgents(c.get('ctx'), c.req.valid('query'))), 200),
);

agentRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/agents',
    tags,
    summary: 'Register an agent (returns its signing secret once)',
    description: `The endpoint must pass the outbound (SSRF) policy. The auth header value is stored encrypted and never returned. ${SIGNING}`,
    permission: 'agents:write',
    request: { body: body(AgentCreateSchema) },
    responses: {
      201: json(
        dataEnvelope(AgentWithSecretSchema),
        'Registered; `signing_secret` is shown only here and on rotation.',
      ),
      400: errorContent(
        'The endpoint is refused by SSRF protection (`INVALID_ENDPOINT_URL`) or no ENCRYPTION_KEY (`ENCRYPTION_NOT_CONFIGURED`).',
      ),
    },
  }),
  async (c) => c.json(dataBody(await createAgent(c.get('ctx'), c.req.valid('json'))), 201),
);

agentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/agents/{agent_uuid}',
    tags,
    summary: 'Get an agent',
    permission: 'agents:read',
    request: { params: AgentParams },
    responses: { 200: json(agentEnvelope, 'The agent.'), 404: errorContent('No such agent.') },
  }),
  async (c) => c.json(dataBody(await getAgent(c.get('ctx'), { uuid: c.req.valid('param').agent_uuid })), 200),
);

agentRoutes.openapi(
  apiRoute({
    method: 'patch',
    path: '/v1/agents/{agent_uuid}',
    tags,
    summary: 'Update an agent',
    description:
      'Omitted fields are unchanged; `null` clears (`trigger_filter: null`, `auth_header_name: null` removes the auth header). ' +
      'Setting the auth header takes both `auth_header_name` and `auth_header_value`. A new `endpoint_url` on another ' +
      'origin (scheme, host or port) drops the stored auth header unless a new one comes in the same request: the ' +
      'credential was given for the old host.',
    permission: 'agents:write',
    request: { params: AgentParams, body: body(AgentUpdateSchema) },
    responses: {
      200: json(agentEnvelope, 'The updated agent.'),
      400: errorContent('`INVALID_ENDPOINT_URL` or `ENCRYPTION_NOT_CONFIGURED`.'),
      404: errorContent('No such agent.'),
    },
  }),
  async (c) =>
    c.json(
      dataBody(await updateAgent(c.get('ctx'), { uuid: c.req.valid('param').agent_uuid, patch: c.req.valid('json') })),
      200,
    ),
);

agentRoutes.openapi(
  apiRoute({
    method: 'delete',
    path: '/v1/agents/{agent_uuid}',
    tags,
    summary: 'Delete an agent and its deliveries',
    permission: 'agents:write',
    request: { params: AgentParams },
    responses: { 204: { description: 'Deleted.' }, 404: errorContent('No such agent.') },
  }),
  async (c) => {
    await deleteAgent(c.get('ctx'), { uuid: c.req.valid('param').agent_uuid });
    return c.body(null, 204);
  },
);

agentRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/agents/{agent_uuid}/rotate-signing-secret',
    tags,
    summary: 'Replace the signing secret (returned once; the old one stops at once)',
    permission: 'agents:write',
    request: { params: AgentParams },
    responses: {
      200: json(dataEnvelope(AgentWithSecretSchema), 'The agent with its new `signing_secret`.'),
      400: errorContent('No ENCRYPTION_KEY (`ENCRYPTION_NOT_CONFIGURED`).'),
      404: errorContent('No such agent.'),
    },
  }),
  async (c) =>
    c.json(dataBody(await rotateAgentSigningSecret(c.get('ctx'), { uuid: c.req.valid('param').agent_uuid })), 200),
);

agentRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/agents/{agent_uuid}/test',
    tags,
    summary: 'Send a signed synthetic delivery now (one attempt, nothing recorded)',
    description: `\`X-Calseta-Event: agent.test\`; the body has \`"test": true\`. The endpoint is SSRF-checked like every delivery. ${SIGNING}`,
    permission: 'agents:write',
    request: { params: AgentParams },
    responses: {
      200: json(dataEnvelope(AgentTestResultSchema), 'What the endpoint answered.'),
      404: errorContent('No such agent.'),
    },
  }),
  async (c) => c.json(dataBody(await testAgent(c.get('ctx'), { uuid: c.req.valid('param').agent_uuid })), 200),
);

agentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/agents/{agent_uuid}/runs',
    tags: runTags,
    summary: "The agent's deliveries, newest first",
    permission: 'agents:read',
    request: { params: AgentParams, query: PageQuerySchema },
    responses: {
      200: json(pageEnvelope(AgentRunSchema), 'A page of deliveries.'),
      404: errorContent('No such agent.'),
    },
  }),
  async (c) =>
    c.json(
      pageBody(
        await listAgentRuns(c.get('ctx'), { uuid: c.req.valid('param').agent_uuid, query: c.req.valid('query') }),
      ),
      200,
    ),
);

agentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/agents/{agent_uuid}/incident-deliveries',
    tags: runTags,
    summary: "A per-incident agent's deliveries (one per incident revision), newest first, with every attempt",
    permission: 'agents:read',
    request: { params: AgentParams, query: PageQuerySchema },
    responses: {
      200: json(pageEnvelope(IncidentDeliverySchema), 'A page of incident deliveries.'),
      404: errorContent('No such agent.'),
    },
  }),
  async (c) =>
    c.json(
      pageBody(
        await listIncidentDeliveries(c.get('ctx'), {
          uuid: c.req.valid('param').agent_uuid,
          query: c.req.valid('query'),
        }),
      ),
      200,
    ),
);

agentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/alerts/{alert_uuid}/agent-runs',
    tags: runTags,
    summary: "The alert's deliveries to agents, newest first",
    permission: 'agents:read',
    request: { params: AlertParams, query: PageQuerySchema },
    responses: {
      200: json(pageEnvelope(AgentRunSchema), 'A page of deliveries.'),
      404: errorContent('No such alert.'),
    },
  }),
  async (c) =>
    c.json(
      pageBody(
        await listAlertAgentRuns(c.get('ctx'), { uuid: c.req.valid('param').alert_uuid, query: c.req.valid('query') }),
      ),
      200,
    ),
);

agentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/agent-runs/{run_uuid}',
    tags: runTags,
    summary: 'One delivery with every attempt',
    permission: 'agents:read',
    request: { params: RunParams },
    responses: {
      200: json(dataEnvelope(AgentRunDetailSchema), 'The delivery.'),
      404: errorContent('No such delivery.'),
    },
  }),
  async (c) => c.json(dataBody(await getAgentRun(c.get('ctx'), { uuid: c.req.valid('param').run_uuid })), 200),
);

agentRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/agent-runs/{run_uuid}/redeliver',
    tags: runTags,
    summary: 'Deliver the same event again (same idempotency key, new delivery id)',
    description:
      'A new delivery of a finished one: the payload is rebuilt from the alert as it is now, attempts start over, ' +
      'and `Idempotency-Key` stays the same so a receiver that already processed the event can drop it.',
    permission: 'agents:write',
    request: { params: RunParams },
    responses: {
      202: json(dataEnvelope(AgentRunSchema), 'Queued: the new delivery.'),
      404: errorContent('No such delivery.'),
      409: errorContent('The delivery has not finished yet (`CONFLICT`).'),
      422: errorContent('The agent is not active (`AGENT_INACTIVE`).'),
    },
  }),
  async (c) => c.json(dataBody(await redeliverAgentRun(c.get('ctx'), { uuid: c.req.valid('param').run_uuid })), 202),
);

agentRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/alerts/{alert_uuid}/trigger-agents',
    tags: runTags,
    summary: 'Deliver the alert to every matching agent now (a new delivery each)',
    permission: 'agents:write',
    request: { params: AlertParams },
    responses: {
      202: json(dataEnvelope(TriggerAgentsResultSchema), 'Queued.'),
      404: errorContent('No such alert.'),
    },
  }),
  async (c) => c.json(dataBody(await triggerAgents(c.get('ctx'), { uuid: c.req.valid('param').alert_uuid })), 202),
);

agentRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/alerts/{alert_uuid}/dispatch-agent',
    tags: runTags,
    summary: 'Deliver the alert to one agent now, bypassing its triggers',
    permission: 'agents:write',
    request: { params: AlertParams, query: z.object({ agent_uuid: UuidSchema }) },
    responses: {
      202: json(dataEnvelope(DispatchAgentResultSchema), 'Queued.'),
      404: errorContent('No such alert or agent.'),
      422: errorContent('The agent is not active (`AGENT_INACTIVE`).'),
    },
  }),
  async (c) =>
    c.json(
      dataBody(
        await dispatchAgent(c.get('ctx'), {
          alertUuid: c.req.valid('param').alert_uuid,
          agentUuid: c.req.valid('query').agent_uuid,
        }),
      ),
      202,
    ),
);
