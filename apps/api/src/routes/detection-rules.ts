import {
  createDetectionRule,
  deleteDetectionRule,
  getDetectionRule,
  listDetectionRules,
  updateDetectionRule,
} from '@calseta/core';
import {
  DetectionRuleCreateSchema,
  DetectionRuleListQuerySchema,
  DetectionRulePatchSchema,
  DetectionRuleSchema,
  dataEnvelope,
  PageQuerySchema,
  pageEnvelope,
  UuidSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { dataBody, pageBody } from '../envelope.js';
import { apiRoute, body, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';

const RuleParams = z.object({ rule_uuid: UuidSchema });
const tags = ['Detection rules'];
const ruleEnvelope = dataEnvelope(DetectionRuleSchema);

export const detectionRuleRoutes = new OpenAPIHono<AppEnv>();

detectionRuleRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/detection-rules',
    tags,
    summary: 'List detection rules',
    description:
      'Filters: `source_name` and `severity` take comma-separated lists; `is_active`. Sort by `name`, `source_name`, `severity` or `created_at` (default `created_at desc`).',
    permission: 'detection_rules:read',
    request: { query: DetectionRuleListQuerySchema.extend(PageQuerySchema.shape) },
    responses: { 200: json(pageEnvelope(DetectionRuleSchema), 'A page of rules.') },
  }),
  async (c) => c.json(pageBody(await listDetectionRules(c.get('ctx'), c.req.valid('query'))), 200),
);

detectionRuleRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/detection-rules',
    tags,
    summary: 'Create a detection rule (documentation in markdown, ADS template)',
    description:
      "A rule is identified by `(source_name, source_rule_id)`. Ingest creates an undocumented rule the first time an alert fires on one; creating a rule that exists is 409 `CONFLICT` with `details.existing_uuid`: document it with PATCH instead. `created_by` defaults to the caller's key prefix.",
    permission: 'detection_rules:manage',
    request: { body: body(DetectionRuleCreateSchema) },
    responses: {
      201: json(ruleEnvelope, 'Created.'),
      409: errorContent('A rule with this source and source rule id exists (`CONFLICT`, `details.existing_uuid`).'),
    },
  }),
  async (c) => c.json(dataBody(await createDetectionRule(c.get('ctx'), c.req.valid('json'))), 201),
);

detectionRuleRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/detection-rules/{rule_uuid}',
    tags,
    summary: 'Get a detection rule',
    permission: 'detection_rules:read',
    request: { params: RuleParams },
    responses: { 200: json(ruleEnvelope, 'The rule.'), 404: errorContent('No such rule.') },
  }),
  async (c) => c.json(dataBody(await getDetectionRule(c.get('ctx'), { uuid: c.req.valid('param').rule_uuid })), 200),
);

detectionRuleRoutes.openapi(
  apiRoute({
    method: 'patch',
    path: '/v1/detection-rules/{rule_uuid}',
    tags,
    summary: 'Update a detection rule',
    description:
      'Omitted fields are unchanged; `null` clears `severity`, `run_frequency` and `documentation`. The source identity and `created_by` cannot change.',
    permission: 'detection_rules:manage',
    request: { params: RuleParams, body: body(DetectionRulePatchSchema) },
    responses: { 200: json(ruleEnvelope, 'The updated rule.'), 404: errorContent('No such rule.') },
  }),
  async (c) =>
    c.json(
      dataBody(
        await updateDetectionRule(c.get('ctx'), {
          uuid: c.req.valid('param').rule_uuid,
          patch: c.req.valid('json'),
        }),
      ),
      200,
    ),
);

detectionRuleRoutes.openapi(
  apiRoute({
    method: 'delete',
    path: '/v1/detection-rules/{rule_uuid}',
    tags,
    summary: 'Delete a detection rule (its alerts stay, unlinked)',
    permission: 'detection_rules:manage',
    request: { params: RuleParams },
    responses: { 204: { description: 'Deleted.' }, 404: errorContent('No such rule.') },
  }),
  async (c) => {
    await deleteDetectionRule(c.get('ctx'), { uuid: c.req.valid('param').rule_uuid });
    return c.body(null, 204);
  },
);
