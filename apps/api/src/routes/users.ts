import {
  createPersonalApiKey,
  getMe,
  listPersonalApiKeys,
  listUsers,
  patchUser,
  revokePersonalApiKey,
  revokeUserSessions,
} from '@calseta/core';
import {
  ApiKeyCreatedSchema,
  ApiKeyCreateSchema,
  ApiKeySchema,
  dataEnvelope,
  PageQuerySchema,
  pageEnvelope,
  UserPatchSchema,
  UserSchema,
  UuidSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { dataBody, pageBody } from '../envelope.js';
import { apiRoute, body, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';
import { KeyListQuery } from './api-keys.js';

const UserParams = z.object({ user_uuid: UuidSchema });

export const userRoutes = new OpenAPIHono<AppEnv>();

userRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/users/me',
    tags: ['Users'],
    summary: 'The person behind the caller (session, or a personal key)',
    permission: 'users:self',
    responses: {
      200: json(dataEnvelope(UserSchema), 'You.'),
      404: errorContent('The credential is an API key without an owner.'),
    },
  }),
  async (c) => c.json(dataBody(await getMe(c.get('ctx'))), 200),
);

userRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/users',
    tags: ['Users'],
    summary: 'List users (people who signed in or were pre-provisioned)',
    permission: 'users:manage',
    request: { query: PageQuerySchema },
    responses: { 200: json(pageEnvelope(UserSchema), 'A page of users, by email.') },
  }),
  async (c) => c.json(pageBody(await listUsers(c.get('ctx'), c.req.valid('query'))), 200),
);

userRoutes.openapi(
  apiRoute({
    method: 'patch',
    path: '/v1/users/{user_uuid}',
    tags: ['Users'],
    summary: 'Grant roles or disable a user (disabling ends their sessions and personal keys)',
    permission: 'users:manage',
    request: { params: UserParams, body: body(UserPatchSchema) },
    responses: {
      200: json(dataEnvelope(UserSchema), 'The user.'),
      404: errorContent('No such user.'),
      409: errorContent('You cannot disable yourself or remove your own admin role (`CONFLICT`).'),
    },
  }),
  async (c) =>
    c.json(
      dataBody(await patchUser(c.get('ctx'), { uuid: c.req.valid('param').user_uuid, patch: c.req.valid('json') })),
      200,
    ),
);

userRoutes.openapi(
  apiRoute({
    method: 'delete',
    path: '/v1/users/{user_uuid}/sessions',
    tags: ['Users'],
    summary: "End all of a user's sessions now",
    permission: 'users:manage',
    request: { params: UserParams },
    responses: {
      200: json(dataEnvelope(z.object({ revoked: z.number().int() })), 'How many sessions ended.'),
      404: errorContent('No such user.'),
    },
  }),
  async (c) => c.json(dataBody(await revokeUserSessions(c.get('ctx'), { uuid: c.req.valid('param').user_uuid })), 200),
);

const NOT_A_PERSON = errorContent('The caller is not a person signed in with single sign-on (`NOT_FOUND`).');

userRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/users/me/api-keys',
    tags: ['Users'],
    summary: 'Your personal API keys (active only unless include_inactive=true)',
    permission: 'users:self',
    request: {
      query: KeyListQuery,
    },
    responses: { 200: json(pageEnvelope(ApiKeySchema), 'A page of your keys.'), 404: NOT_A_PERSON },
  }),
  async (c) => c.json(pageBody(await listPersonalApiKeys(c.get('ctx'), c.req.valid('query'))), 200),
);

userRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/users/me/api-keys',
    tags: ['Users'],
    summary: 'Create a personal API key (scopes within your roles; the key is returned once)',
    description:
      'Records you as its owner; it acts within your roles for its whole life (they may shrink) and stops when you are disabled. Always `key_type: human`.',
    permission: 'users:self',
    request: { body: body(ApiKeyCreateSchema) },
    responses: {
      201: json(dataEnvelope(ApiKeyCreatedSchema), 'Created. Store `key` now: it is not shown again.'),
      404: NOT_A_PERSON,
    },
  }),
  async (c) => c.json(dataBody(await createPersonalApiKey(c.get('ctx'), c.req.valid('json'))), 201),
);

userRoutes.openapi(
  apiRoute({
    method: 'delete',
    path: '/v1/users/me/api-keys/{key_uuid}',
    tags: ['Users'],
    summary: 'Revoke one of your personal API keys',
    permission: 'users:self',
    request: { params: z.object({ key_uuid: UuidSchema }) },
    responses: { 204: { description: 'Revoked.' }, 404: errorContent('No such key of yours (`NOT_FOUND`).') },
  }),
  async (c) => {
    await revokePersonalApiKey(c.get('ctx'), { uuid: c.req.valid('param').key_uuid });
    return c.body(null, 204);
  },
);
