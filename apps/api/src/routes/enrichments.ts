import { enrichOnDemand, getIndicator, listProviderStatus, patchIndicator } from '@calseta/core';
import {
  dataEnvelope,
  EnrichmentRequestSchema,
  IndicatorDetailSchema,
  IndicatorPatchSchema,
  OnDemandEnrichmentSchema,
  ProviderStatusSchema,
  UuidSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { dataBody } from '../envelope.js';
import { apiRoute, body, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';

const IndicatorParams = z.object({ indicator_uuid: UuidSchema });

/** On-demand enrichment, the provider registry view, and indicators. */
export const enrichmentRoutes = new OpenAPIHono<AppEnv>();

enrichmentRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/enrichments',
    tags: ['Enrichment'],
    summary: 'Enrich one value now with every active provider that supports its type',
    description:
      'Nothing is stored on indicators. Answers come from the shared cache when fresh (`cache_hit`), and concurrent requests for the same value make one provider call.',
    permission: 'enrichments:read',
    request: { body: body(EnrichmentRequestSchema) },
    responses: { 200: json(dataEnvelope(OnDemandEnrichmentSchema), 'Results per provider, verdict and explanation.') },
  }),
  async (c) => c.json(dataBody(await enrichOnDemand(c.get('ctx'), c.req.valid('json'))), 200),
);

enrichmentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/enrichments/providers',
    tags: ['Enrichment'],
    summary: 'The active providers: supported types, whether configured, remaining quota',
    permission: 'enrichments:read',
    responses: {
      200: json(z.object({ data: z.array(ProviderStatusSchema), meta: z.object({}) }), 'Active providers.'),
    },
  }),
  async (c) => c.json(dataBody(await listProviderStatus(c.get('ctx'))), 200),
);

enrichmentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/indicators/{indicator_uuid}',
    tags: ['Indicators'],
    summary: 'An indicator with every provider result, raw responses included',
    permission: 'indicators:read',
    request: { params: IndicatorParams },
    responses: {
      200: json(dataEnvelope(IndicatorDetailSchema), 'The indicator.'),
      404: errorContent('No such indicator.'),
    },
  }),
  async (c) => c.json(dataBody(await getIndicator(c.get('ctx'), { uuid: c.req.valid('param').indicator_uuid })), 200),
);

enrichmentRoutes.openapi(
  apiRoute({
    method: 'patch',
    path: '/v1/indicators/{indicator_uuid}',
    tags: ['Indicators'],
    summary: "Set an analyst's verdict (`malice`), or `null` to return to the providers' verdict",
    permission: 'alerts:write',
    request: { params: IndicatorParams, body: body(IndicatorPatchSchema) },
    responses: {
      200: json(dataEnvelope(IndicatorDetailSchema), 'The indicator with its new verdict and explanation.'),
      404: errorContent('No such indicator.'),
    },
  }),
  async (c) =>
    c.json(
      dataBody(
        await patchIndicator(c.get('ctx'), {
          uuid: c.req.valid('param').indicator_uuid,
          patch: c.req.valid('json'),
        }),
      ),
      200,
    ),
);
