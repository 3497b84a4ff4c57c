import {
  createIndicatorMapping,
  deleteIndicatorMapping,
  getIndicatorMapping,
  listIndicatorMappings,
  sourcePluginFields,
  testExtraction,
  updateIndicatorMapping,
} from '@calseta/core';
import {
  dataEnvelope,
  IndicatorMappingCreateSchema,
  IndicatorMappingListQuerySchema,
  IndicatorMappingSchema,
  IndicatorMappingUpdateSchema,
  PageQuerySchema,
  pageEnvelope,
  TestExtractionRequestSchema,
  TestExtractionResultSchema,
  UuidSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { dataBody, pageBody } from '../envelope.js';
import { apiRoute, body, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';

const MappingParams = z.object({ mapping_uuid: UuidSchema });
const tags = ['Indicator mappings'];

export const mappingRoutes = new OpenAPIHono<AppEnv>();

mappingRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/indicator-mappings',
    tags,
    summary: 'List indicator field mappings',
    permission: 'indicator_mappings:manage',
    request: { query: IndicatorMappingListQuerySchema.extend(PageQuerySchema.shape) },
    responses: { 200: json(pageEnvelope(IndicatorMappingSchema), 'A page of mappings, oldest first.') },
  }),
  async (c) => c.json(pageBody(await listIndicatorMappings(c.get('ctx'), c.req.valid('query'))), 200),
);

mappingRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/indicator-mappings',
    tags,
    summary: 'Create a custom mapping (normalized field or raw payload path → indicator type)',
    permission: 'indicator_mappings:manage',
    request: { body: body(IndicatorMappingCreateSchema) },
    responses: { 201: json(dataEnvelope(IndicatorMappingSchema), 'Created.') },
  }),
  async (c) => c.json(dataBody(await createIndicatorMapping(c.get('ctx'), c.req.valid('json'))), 201),
);

mappingRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/indicator-mappings/source-plugin-fields',
    tags,
    summary: 'Fields each source plugin extracts indicators from (pass 1)',
    permission: 'indicator_mappings:manage',
    responses: {
      200: json(z.object({ data: z.array(IndicatorMappingSchema), meta: z.object({}) }), 'Documented extractions.'),
    },
  }),
  (c) => c.json(dataBody(sourcePluginFields(c.get('ctx'))), 200),
);

mappingRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/indicator-mappings/test-extraction',
    tags,
    summary: 'Dry-run the three extraction passes on a payload (nothing stored)',
    permission: 'indicator_mappings:manage',
    request: { body: body(TestExtractionRequestSchema) },
    responses: { 200: json(dataEnvelope(TestExtractionResultSchema), 'What each pass found.') },
  }),
  async (c) => c.json(dataBody(await testExtraction(c.get('ctx'), c.req.valid('json'))), 200),
);

mappingRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/indicator-mappings/{mapping_uuid}',
    tags,
    summary: 'Get a mapping',
    permission: 'indicator_mappings:manage',
    request: { params: MappingParams },
    responses: {
      200: json(dataEnvelope(IndicatorMappingSchema), 'The mapping.'),
      404: errorContent('No such mapping.'),
    },
  }),
  async (c) =>
    c.json(dataBody(await getIndicatorMapping(c.get('ctx'), { uuid: c.req.valid('param').mapping_uuid })), 200),
);

mappingRoutes.openapi(
  apiRoute({
    method: 'patch',
    path: '/v1/indicator-mappings/{mapping_uuid}',
    tags,
    summary: 'Update a mapping (system mappings: only type, description, active)',
    permission: 'indicator_mappings:manage',
    request: { params: MappingParams, body: body(IndicatorMappingUpdateSchema) },
    responses: {
      200: json(dataEnvelope(IndicatorMappingSchema), 'The updated mapping.'),
      404: errorContent('No such mapping.'),
    },
  }),
  async (c) =>
    c.json(
      dataBody(
        await updateIndicatorMapping(c.get('ctx'), {
          uuid: c.req.valid('param').mapping_uuid,
          patch: c.req.valid('json'),
        }),
      ),
      200,
    ),
);

mappingRoutes.openapi(
  apiRoute({
    method: 'delete',
    path: '/v1/indicator-mappings/{mapping_uuid}',
    tags,
    summary: 'Delete a custom mapping',
    permission: 'indicator_mappings:manage',
    request: { params: MappingParams },
    responses: { 204: { description: 'Deleted.' }, 404: errorContent('No such mapping.') },
  }),
  async (c) => {
    await deleteIndicatorMapping(c.get('ctx'), { uuid: c.req.valid('param').mapping_uuid });
    return c.body(null, 204);
  },
);
