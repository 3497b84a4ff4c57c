import { createApiKey, getApiKey, listApiKeys, revokeApiKey, updateApiKey } from '@calseta/core';
import {
  ApiKeyCreatedSchema,
  ApiKeyCreateSchema,
  ApiKeySchema,
  ApiKeyUpdateSchema,
  dataEnvelope,
  PageQuerySchema,
  pageEnvelope,
  UuidSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { dataBody, pageBody } from '../envelope.js';
import { apiRoute, body, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';

const KeyParams = z.object({ key_uuid: UuidSchema });
/** A page of keys, active only unless include_inactive=true (also a person's own keys). */
export const KeyListQuery = PageQuerySchema.extend({
  include_inactive: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
});

export const apiKeyRoutes = new OpenAPIHono<AppEnv>();

apiKeyRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/api-keys',
    tags: ['API keys'],
    summary: 'List API keys (active only unless include_inactive=true)',
    permission: 'api_keys:manage',
    request: {
      query: KeyListQuery,
    },
    responses: { 200: json(pageEnvelope(ApiKeySchema), 'A page of keys. Never includes a key or its hash.') },
  }),
  async (c) => c.json(pageBody(await listApiKeys(c.get('ctx'), c.req.valid('query'))), 200),
);

apiKeyRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/api-keys',
    tags: ['API keys'],
    summary: 'Create an API key (the plaintext key is returned once)',
    permission: 'api_keys:manage',
    request: { body: body(ApiKeyCreateSchema) },
    responses: { 201: json(dataEnvelope(ApiKeyCreatedSchema), 'Created. Store `key` now: it is not shown again.') },
  }),
  async (c) => c.json(dataBody(await createApiKey(c.get('ctx'), c.req.valid('json'))), 201),
);

apiKeyRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/api-keys/{key_uuid}',
    tags: ['API keys'],
    summary: 'Get an API key',
    permission: 'api_keys:manage',
    request: { params: KeyParams },
    responses: { 200: json(dataEnvelope(ApiKeySchema), 'The key.'), 404: errorContent('No such key.') },
  }),
  async (c) => c.json(dataBody(await getApiKey(c.get('ctx'), { uuid: c.req.valid('param').key_uuid })), 200),
);

apiKeyRoutes.openapi(
  apiRoute({
    method: 'patch',
    path: '/v1/api-keys/{key_uuid}',
    tags: ['API keys'],
    summary: 'Update an API key (name, scopes, expiry, allowed sources, active)',
    permission: 'api_keys:manage',
    request: { params: KeyParams, body: body(ApiKeyUpdateSchema) },
    responses: { 200: json(dataEnvelope(ApiKeySchema), 'The updated key.'), 404: errorContent('No such key.') },
  }),
  async (c) =>
    c.json(
      dataBody(await updateApiKey(c.get('ctx'), { uuid: c.req.valid('param').key_uuid, patch: c.req.valid('json') })),
      200,
    ),
);

apiKeyRoutes.openapi(
  apiRoute({
    method: 'delete',
    path: '/v1/api-keys/{key_uuid}',
    tags: ['API keys'],
    summary: 'Revoke an API key (kept for audit, never authenticates again)',
    permission: 'api_keys:manage',
    request: { params: KeyParams },
    responses: { 204: { description: 'Revoked.' }, 404: errorContent('No such key.') },
  }),
  async (c) => {
    await revokeApiKey(c.get('ctx'), { uuid: c.req.valid('param').key_uuid });
    return c.body(null, 204);
  },
);
