import {
  createEnrichmentProvider,
  deleteEnrichmentProvider,
  getEnrichmentProvider,
  importEnrichmentProvider,
  listEnrichmentProviders,
  setEnrichmentProviderActive,
  testEnrichmentProvider,
  updateEnrichmentProvider,
} from '@calseta/core';
import {
  dataEnvelope,
  PageQuerySchema,
  ProviderCreateSchema,
  ProviderImportResultSchema,
  ProviderImportSchema,
  ProviderListQuerySchema,
  ProviderSchema,
  ProviderTestRequestSchema,
  ProviderTestResultSchema,
  ProviderUpdateSchema,
  pageEnvelope,
  UuidSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { dataBody, pageBody } from '../envelope.js';
import { apiRoute, body, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';

const ProviderParams = z.object({ provider_uuid: UuidSchema });
const tags = ['Enrichment providers'];
const providerEnvelope = dataEnvelope(ProviderSchema);

export const enrichmentProviderRoutes = new OpenAPIHono<AppEnv>();

enrichmentProviderRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/enrichment-providers',
    tags,
    summary: 'List enrichment providers',
    permission: 'enrichments:read',
    request: { query: ProviderListQuerySchema.extend(PageQuerySchema.shape) },
    responses: { 200: json(pageEnvelope(ProviderSchema), 'A page of providers, oldest first.') },
  }),
  async (c) => c.json(pageBody(await listEnrichmentProviders(c.get('ctx'), c.req.valid('query'))), 200),
);

enrichmentProviderRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/enrichment-providers',
    tags,
    summary: 'Create a custom provider (credentials are stored encrypted and never returned)',
    permission: 'enrichment_providers:manage',
    request: { body: body(ProviderCreateSchema) },
    responses: {
      201: json(providerEnvelope, 'Created.'),
      400: errorContent('Credentials given but no ENCRYPTION_KEY configured (`ENCRYPTION_NOT_CONFIGURED`).'),
      409: errorContent('A provider with this name exists (`CONFLICT`).'),
    },
  }),
  async (c) => c.json(dataBody(await createEnrichmentProvider(c.get('ctx'), c.req.valid('json'))), 201),
);

enrichmentProviderRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/enrichment-providers/import',
    tags,
    summary: 'Import a community provider with its field extractions (all or nothing)',
    permission: 'enrichment_providers:manage',
    request: { body: body(ProviderImportSchema) },
    responses: {
      201: json(dataEnvelope(ProviderImportResultSchema), 'Created.'),
      409: errorContent('A provider with this name exists, or duplicate extractions (`CONFLICT`).'),
    },
  }),
  async (c) => c.json(dataBody(await importEnrichmentProvider(c.get('ctx'), c.req.valid('json'))), 201),
);

enrichmentProviderRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/enrichment-providers/{provider_uuid}',
    tags,
    summary: 'Get a provider',
    permission: 'enrichments:read',
    request: { params: ProviderParams },
    responses: { 200: json(providerEnvelope, 'The provider.'), 404: errorContent('No such provider.') },
  }),
  async (c) =>
    c.json(dataBody(await getEnrichmentProvider(c.get('ctx'), { uuid: c.req.valid('param').provider_uuid })), 200),
);

enrichmentProviderRoutes.openapi(
  apiRoute({
    method: 'patch',
    path: '/v1/enrichment-providers/{provider_uuid}',
    tags,
    summary: 'Update a provider (builtins: only activation, credentials, verdict rules, caching and limits)',
    permission: 'enrichment_providers:manage',
    request: { params: ProviderParams, body: body(ProviderUpdateSchema) },
    responses: {
      200: json(providerEnvelope, 'The updated provider.'),
      400: errorContent('A builtin field was changed (`BUILTIN_RESTRICTED`, `details.fields`) or no ENCRYPTION_KEY.'),
      404: errorContent('No such provider.'),
    },
  }),
  async (c) =>
    c.json(
      dataBody(
        await updateEnrichmentProvider(c.get('ctx'), {
          uuid: c.req.valid('param').provider_uuid,
          patch: c.req.valid('json'),
        }),
      ),
      200,
    ),
);

enrichmentProviderRoutes.openapi(
  apiRoute({
    method: 'delete',
    path: '/v1/enrichment-providers/{provider_uuid}',
    tags,
    summary: 'Delete a custom provider and its custom field extractions',
    permission: 'enrichment_providers:manage',
    request: { params: ProviderParams },
    responses: {
      204: { description: 'Deleted.' },
      400: errorContent('Builtin providers cannot be deleted (`BUILTIN_RESTRICTED`).'),
      404: errorContent('No such provider.'),
    },
  }),
  async (c) => {
    await deleteEnrichmentProvider(c.get('ctx'), { uuid: c.req.valid('param').provider_uuid });
    return c.body(null, 204);
  },
);

enrichmentProviderRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/enrichment-providers/{provider_uuid}/test',
    tags,
    summary: 'Run a provider live against one indicator, with per-step debug (nothing cached or stored)',
    permission: 'enrichment_providers:manage',
    request: { params: ProviderParams, body: body(ProviderTestRequestSchema) },
    responses: {
      200: json(dataEnvelope(ProviderTestResultSchema), 'The run; credentials in the steps are masked.'),
      400: errorContent('The provider is not active (`PROVIDER_NOT_LOADED`).'),
      404: errorContent('No such provider.'),
    },
  }),
  async (c) =>
    c.json(
      dataBody(
        await testEnrichmentProvider(c.get('ctx'), {
          uuid: c.req.valid('param').provider_uuid,
          input: c.req.valid('json'),
        }),
      ),
      200,
    ),
);

for (const [action, active] of [
  ['activate', true],
  ['deactivate', false],
] as const) {
  enrichmentProviderRoutes.openapi(
    apiRoute({
      method: 'post',
      path: `/v1/enrichment-providers/{provider_uuid}/${action}`,
      tags,
      summary: active ? 'Activate a provider' : 'Deactivate a provider (it stops enriching; nothing is deleted)',
      permission: 'enrichment_providers:manage',
      request: { params: ProviderParams },
      responses: { 200: json(providerEnvelope, 'The provider.'), 404: errorContent('No such provider.') },
    }),
    async (c) =>
      c.json(
        dataBody(await setEnrichmentProviderActive(c.get('ctx'), { uuid: c.req.valid('param').provider_uuid, active })),
        200,
      ),
  );
}
