import {
  createFieldExtraction,
  createFieldExtractions,
  deleteFieldExtraction,
  getFieldExtraction,
  listFieldExtractions,
  updateFieldExtraction,
} from '@calseta/core';
import {
  dataEnvelope,
  ExtractionBulkCreateSchema,
  ExtractionCreateSchema,
  ExtractionListQuerySchema,
  ExtractionSchema,
  ExtractionUpdateSchema,
  PageQuerySchema,
  pageEnvelope,
  UuidSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { dataBody, pageBody } from '../envelope.js';
import { apiRoute, body, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';

const ExtractionParams = z.object({ extraction_uuid: UuidSchema });
const tags = ['Enrichment field extractions'];
const extractionEnvelope = dataEnvelope(ExtractionSchema);
const conflict = errorContent('An extraction for this provider, type and source path exists (`CONFLICT`).');
const systemRestricted = errorContent(
  'Missing scope (`FORBIDDEN`), or a system extraction, of which only is_active may change (`SYSTEM_EXTRACTION_RESTRICTED`).',
);

export const fieldExtractionRoutes = new OpenAPIHono<AppEnv>();

fieldExtractionRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/enrichment-field-extractions',
    tags,
    summary: 'List field extractions',
    permission: 'enrichments:read',
    request: { query: ExtractionListQuerySchema.extend(PageQuerySchema.shape) },
    responses: { 200: json(pageEnvelope(ExtractionSchema), 'A page of extractions, oldest first.') },
  }),
  async (c) => c.json(pageBody(await listFieldExtractions(c.get('ctx'), c.req.valid('query'))), 200),
);

fieldExtractionRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/enrichment-field-extractions',
    tags,
    summary: "Create a field extraction (a path in a provider's response → a key of its extracted fields)",
    permission: 'enrichment_providers:manage',
    request: { body: body(ExtractionCreateSchema) },
    responses: { 201: json(extractionEnvelope, 'Created.'), 409: conflict },
  }),
  async (c) => c.json(dataBody(await createFieldExtraction(c.get('ctx'), c.req.valid('json'))), 201),
);

fieldExtractionRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/enrichment-field-extractions/bulk',
    tags,
    summary: 'Create 1–100 field extractions, all or nothing',
    permission: 'enrichment_providers:manage',
    request: { body: body(ExtractionBulkCreateSchema) },
    responses: {
      201: json(z.object({ data: z.array(ExtractionSchema), meta: z.object({}) }), 'Created.'),
      409: conflict,
    },
  }),
  async (c) => c.json(dataBody(await createFieldExtractions(c.get('ctx'), c.req.valid('json'))), 201),
);

fieldExtractionRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/enrichment-field-extractions/{extraction_uuid}',
    tags,
    summary: 'Get a field extraction',
    permission: 'enrichments:read',
    request: { params: ExtractionParams },
    responses: { 200: json(extractionEnvelope, 'The extraction.'), 404: errorContent('No such extraction.') },
  }),
  async (c) =>
    c.json(dataBody(await getFieldExtraction(c.get('ctx'), { uuid: c.req.valid('param').extraction_uuid })), 200),
);

fieldExtractionRoutes.openapi(
  apiRoute({
    method: 'patch',
    path: '/v1/enrichment-field-extractions/{extraction_uuid}',
    tags,
    summary: 'Update a field extraction (system extractions: only is_active)',
    permission: 'enrichment_providers:manage',
    request: { params: ExtractionParams, body: body(ExtractionUpdateSchema) },
    responses: {
      200: json(extractionEnvelope, 'The updated extraction.'),
      403: systemRestricted,
      404: errorContent('No such extraction.'),
      409: conflict,
    },
  }),
  async (c) =>
    c.json(
      dataBody(
        await updateFieldExtraction(c.get('ctx'), {
          uuid: c.req.valid('param').extraction_uuid,
          patch: c.req.valid('json'),
        }),
      ),
      200,
    ),
);

fieldExtractionRoutes.openapi(
  apiRoute({
    method: 'delete',
    path: '/v1/enrichment-field-extractions/{extraction_uuid}',
    tags,
    summary: 'Delete a custom field extraction',
    permission: 'enrichment_providers:manage',
    request: { params: ExtractionParams },
    responses: {
      204: { description: 'Deleted.' },
      403: systemRestricted,
      404: errorContent('No such extraction.'),
    },
  }),
  async (c) => {
    await deleteFieldExtraction(c.get('ctx'), { uuid: c.req.valid('param').extraction_uuid });
    return c.body(null, 204);
  },
);
