import { createSource, deleteSource, getSource, listSources, updateSource } from '@calseta/core';
import {
  dataEnvelope,
  PageQuerySchema,
  pageEnvelope,
  SourceIntegrationCreateSchema,
  SourceIntegrationSchema,
  SourceIntegrationUpdateSchema,
  UuidSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { dataBody, pageBody } from '../envelope.js';
import { apiRoute, body, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';

const Params = z.object({ source_uuid: UuidSchema });
const tags = ['Sources'];
const envelope = dataEnvelope(SourceIntegrationSchema);
const SECRETS =
  '`auth_config` is stored encrypted (needs ENCRYPTION_KEY) and never returned: responses carry `has_auth_config`, ' +
  '`has_webhook_secret` and the credential field names only. With `auth_config.webhook_secret` set, ' +
  '`POST /v1/ingest/{source_name}` requires a valid signature (HMAC-SHA256 of the raw body for Sentinel, Elastic and ' +
  'generic; the shared-secret header for Splunk) and refuses the rest with 401 `INVALID_SIGNATURE`; an inactive ' +
  'integration refuses all webhooks (403 `SOURCE_NOT_ALLOWED`). See docs/security.md.';

export const sourceRoutes = new OpenAPIHono<AppEnv>();

sourceRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/sources',
    tags,
    summary: 'List source integrations',
    permission: 'sources:read',
    request: { query: PageQuerySchema },
    responses: { 200: json(pageEnvelope(SourceIntegrationSchema), 'A page of source integrations, newest first.') },
  }),
  async (c) => c.json(pageBody(await listSources(c.get('ctx'), c.req.valid('query'))), 200),
);

sourceRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/sources',
    tags,
    summary: 'Configure a source integration',
    description: SECRETS,
    permission: 'sources:manage',
    request: { body: body(SourceIntegrationCreateSchema) },
    responses: {
      201: json(envelope, 'Created.'),
      400: errorContent(
        '`source_name` is not a registered source plugin (`INVALID_SOURCE`) or no ENCRYPTION_KEY (`ENCRYPTION_NOT_CONFIGURED`).',
      ),
      409: errorContent('An integration for this source already exists (`CONFLICT`).'),
    },
  }),
  async (c) => c.json(dataBody(await createSource(c.get('ctx'), c.req.valid('json'))), 201),
);

sourceRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/sources/{source_uuid}',
    tags,
    summary: 'Get a source integration',
    permission: 'sources:read',
    request: { params: Params },
    responses: { 200: json(envelope, 'The source integration.'), 404: errorContent('No such source integration.') },
  }),
  async (c) => c.json(dataBody(await getSource(c.get('ctx'), { uuid: c.req.valid('param').source_uuid })), 200),
);

sourceRoutes.openapi(
  apiRoute({
    method: 'patch',
    path: '/v1/sources/{source_uuid}',
    tags,
    summary: 'Update a source integration',
    description: `Omitted fields are unchanged; \`auth_config: null\` removes the credentials. ${SECRETS}`,
    permission: 'sources:manage',
    request: { params: Params, body: body(SourceIntegrationUpdateSchema) },
    responses: {
      200: json(envelope, 'The updated source integration.'),
      400: errorContent('`ENCRYPTION_NOT_CONFIGURED` or `INVALID_SOURCE`.'),
      404: errorContent('No such source integration.'),
    },
  }),
  async (c) =>
    c.json(
      dataBody(
        await updateSource(c.get('ctx'), { uuid: c.req.valid('param').source_uuid, patch: c.req.valid('json') }),
      ),
      200,
    ),
);

sourceRoutes.openapi(
  apiRoute({
    method: 'delete',
    path: '/v1/sources/{source_uuid}',
    tags,
    summary: 'Delete a source integration',
    description: 'Ingest from the source then falls back to the environment secret, if any.',
    permission: 'sources:manage',
    request: { params: Params },
    responses: { 204: { description: 'Deleted.' }, 404: errorContent('No such source integration.') },
  }),
  async (c) => {
    await deleteSource(c.get('ctx'), { uuid: c.req.valid('param').source_uuid });
    return c.body(null, 204);
  },
);
