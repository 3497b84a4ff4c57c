import {
  createWorkflow,
  deleteWorkflow,
  executeWorkflow,
  generateWorkflow,
  getWorkflow,
  getWorkflowRun,
  listWorkflowRuns,
  listWorkflows,
  listWorkflowVersions,
  setWorkflowSecret,
  testWorkflow,
  updateWorkflow,
} from '@calseta/core';
import {
  dataEnvelope,
  PageQuerySchema,
  PendingApprovalSchema,
  pageEnvelope,
  UuidSchema,
  WorkflowCodeVersionSchema,
  WorkflowCreateSchema,
  WorkflowExecuteSchema,
  WorkflowGenerateResultSchema,
  WorkflowGenerateSchema,
  WorkflowListQuerySchema,
  WorkflowPatchSchema,
  WorkflowRunListQuerySchema,
  WorkflowRunSchema,
  WorkflowSchema,
  WorkflowSecretNameSchema,
  WorkflowSecretSetSchema,
  WorkflowSummarySchema,
  WorkflowTestResultSchema,
  WorkflowTestSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { dataBody, pageBody } from '../envelope.js';
import { apiRoute, body, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';

const Params = z.object({ workflow_uuid: UuidSchema });
const tags = ['Workflows'];
const workflowEnvelope = dataEnvelope(WorkflowSchema);
const runEnvelope = dataEnvelope(WorkflowRunSchema);

export const workflowRoutes = new OpenAPIHono<AppEnv>();

workflowRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/workflows',
    tags,
    summary: 'List workflows (summaries, no code)',
    description:
      'Filters: `state` and `risk_level` take comma-separated lists; `workflow_type`; `is_system`. Sort by `name`, `state`, `risk_level`, `updated_at` or `created_at` (default `created_at desc`).',
    permission: 'workflows:read',
    request: { query: WorkflowListQuerySchema.extend(PageQuerySchema.shape) },
    responses: { 200: json(pageEnvelope(WorkflowSummarySchema), 'A page of workflows.') },
  }),
  async (c) => c.json(pageBody(await listWorkflows(c.get('ctx'), c.req.valid('query'))), 200),
);

workflowRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/workflows',
    tags,
    summary: 'Create a workflow',
    description:
      'The code is a JavaScript module exporting `async function run(ctx)`; it is validated (422 `VALIDATION_ERROR` with `details.errors[{message, line, column}]`). Declared `secrets` are names; set values with PUT /v1/workflows/{uuid}/secrets/{name}. An `approval_mode` below `always` needs `admin` (403 `FORBIDDEN`).',
    permission: 'workflows:write',
    request: { body: body(WorkflowCreateSchema) },
    responses: { 201: json(workflowEnvelope, 'Created.') },
  }),
  async (c) => c.json(dataBody(await createWorkflow(c.get('ctx'), c.req.valid('json'))), 201),
);

workflowRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/workflows/{workflow_uuid}',
    tags,
    summary: 'Get a workflow (with code and declared secrets, never their values)',
    permission: 'workflows:read',
    request: { params: Params },
    responses: { 200: json(workflowEnvelope, 'The workflow.'), 404: errorContent('No such workflow.') },
  }),
  async (c) => c.json(dataBody(await getWorkflow(c.get('ctx'), { uuid: c.req.valid('param').workflow_uuid })), 200),
);

workflowRoutes.openapi(
  apiRoute({
    method: 'patch',
    path: '/v1/workflows/{workflow_uuid}',
    tags,
    summary: 'Update a workflow',
    description:
      'A code change is validated, the previous code is saved as a version and `code_version` goes up. The code of a system workflow is read-only (400 `BUILTIN_RESTRICTED`). Removing a declared secret drops its value. Lowering `approval_mode`, and new `code` or `http_endpoint_url` for a workflow whose mode stays below `always`, need `admin` (403 `FORBIDDEN`).',
    permission: 'workflows:write',
    request: { params: Params, body: body(WorkflowPatchSchema) },
    responses: {
      200: json(workflowEnvelope, 'The updated workflow.'),
      400: errorContent('The code of a system workflow cannot change (`BUILTIN_RESTRICTED`).'),
      404: errorContent('No such workflow.'),
    },
  }),
  async (c) =>
    c.json(
      dataBody(
        await updateWorkflow(c.get('ctx'), {
          uuid: c.req.valid('param').workflow_uuid,
          patch: c.req.valid('json'),
        }),
      ),
      200,
    ),
);

workflowRoutes.openapi(
  apiRoute({
    method: 'delete',
    path: '/v1/workflows/{workflow_uuid}',
    tags,
    summary: 'Delete a workflow (with its versions, runs and secret values)',
    permission: 'workflows:write',
    request: { params: Params },
    responses: { 204: { description: 'Deleted.' }, 404: errorContent('No such workflow.') },
  }),
  async (c) => {
    await deleteWorkflow(c.get('ctx'), { uuid: c.req.valid('param').workflow_uuid });
    return c.body(null, 204);
  },
);

workflowRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/workflows/{workflow_uuid}/versions',
    tags,
    summary: 'Saved code versions, newest first (the current code is not among them)',
    permission: 'workflows:read',
    request: { params: Params },
    responses: {
      200: json(dataEnvelope(z.array(WorkflowCodeVersionSchema)), 'The versions.'),
      404: errorContent('No such workflow.'),
    },
  }),
  async (c) =>
    c.json(dataBody(await listWorkflowVersions(c.get('ctx'), { uuid: c.req.valid('param').workflow_uuid })), 200),
);

workflowRoutes.openapi(
  apiRoute({
    method: 'put',
    path: '/v1/workflows/{workflow_uuid}/secrets/{name}',
    tags,
    summary: 'Set the value of a declared secret (stored encrypted, never returned)',
    permission: 'workflows:write',
    request: {
      params: Params.extend({ name: WorkflowSecretNameSchema }),
      body: body(WorkflowSecretSetSchema),
    },
    responses: {
      200: json(workflowEnvelope, 'The workflow (secrets show `is_set`).'),
      400: errorContent('No ENCRYPTION_KEY configured (`ENCRYPTION_NOT_CONFIGURED`).'),
      404: errorContent('No such workflow.'),
    },
  }),
  async (c) => {
    const { workflow_uuid, name } = c.req.valid('param');
    return c.json(
      dataBody(await setWorkflowSecret(c.get('ctx'), { uuid: workflow_uuid, name, value: c.req.valid('json').value })),
      200,
    );
  },
);

workflowRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/workflows/{workflow_uuid}/execute',
    tags,
    summary: 'Queue a run of an active workflow (or request its approval)',
    description:
      'The trigger type is the key type. Agent keys must give `reason` and `confidence` (0..1), else 422. When `approval_mode` asks for approval (`always`; `agent_only` for agent keys) no run is created: the answer is `{status: "pending_approval", approval_request_uuid, expires_at, approval}` and the run is queued once approved (see /v1/workflow-approvals). Otherwise the run is queued with its job (202) and executed by the worker in the sandbox; follow it with GET /v1/workflow-runs/{uuid}. Not active → 409 `CONFLICT`.',
    permission: 'workflows:execute',
    request: { params: Params, body: body(WorkflowExecuteSchema) },
    responses: {
      202: json(dataEnvelope(z.union([WorkflowRunSchema, PendingApprovalSchema])), 'Queued, or pending approval.'),
      404: errorContent('No such workflow or alert.'),
      409: errorContent('The workflow is not active (`CONFLICT`).'),
    },
  }),
  async (c) =>
    c.json(
      dataBody(
        await executeWorkflow(c.get('ctx'), {
          uuid: c.req.valid('param').workflow_uuid,
          input: c.req.valid('json'),
        }),
      ),
      202,
    ),
);

workflowRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/workflows/generate',
    tags,
    summary: 'Generate workflow code from a description (Claude; not saved)',
    description:
      'Asks the Anthropic Messages API (`ANTHROPIC_API_KEY`, `ANTHROPIC_MODEL`, `ANTHROPIC_BASE_URL`) for workflow code, validates it (one corrective retry feeding the validation errors back) and returns `{code, validation, model}` without saving. Without `ANTHROPIC_API_KEY`: 400 `GENERATION_NOT_CONFIGURED`. Upstream failures: 503 `SERVICE_UNAVAILABLE`.',
    permission: 'workflows:write',
    request: { body: body(WorkflowGenerateSchema) },
    responses: {
      200: json(dataEnvelope(WorkflowGenerateResultSchema), 'The generated code and its validation.'),
      400: errorContent('No ANTHROPIC_API_KEY configured (`GENERATION_NOT_CONFIGURED`).'),
      503: errorContent('The Anthropic API failed or could not be reached (`SERVICE_UNAVAILABLE`).'),
    },
  }),
  async (c) => c.json(dataBody(await generateWorkflow(c.get('ctx'), c.req.valid('json'))), 200),
);

workflowRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/workflows/{workflow_uuid}/test',
    tags,
    summary: 'Run a workflow now against mocked HTTP answers (records nothing)',
    description:
      '`mock_http` answers `ctx.http` (first match of `method` + `url_pattern` wins; an unmatched request throws in the workflow). `ctx.integrations.okta` / `entra` are no-op mocks (always present; nothing reaches Okta or Entra), each call listed in `http_calls` as `INTEGRATION integration://<name>/<method>`. Declared secrets that are set read as the placeholder `[secret NAME]`, never their values. Any state. Timeout: min(timeout_seconds, 30).',
    permission: 'workflows:execute',
    request: { params: Params, body: body(WorkflowTestSchema) },
    responses: {
      200: json(dataEnvelope(WorkflowTestResultSchema), 'The outcome.'),
      404: errorContent('No such workflow.'),
    },
  }),
  async (c) =>
    c.json(
      dataBody(
        await testWorkflow(c.get('ctx'), {
          uuid: c.req.valid('param').workflow_uuid,
          input: c.req.valid('json'),
        }),
      ),
      200,
    ),
);

workflowRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/workflows/{workflow_uuid}/runs',
    tags,
    summary: "A workflow's runs, newest first",
    permission: 'workflows:read',
    request: {
      params: Params,
      query: WorkflowRunListQuerySchema.omit({ workflow_uuid: true }).extend(PageQuerySchema.shape),
    },
    responses: {
      200: json(pageEnvelope(WorkflowRunSchema), 'A page of runs.'),
      404: errorContent('No such workflow.'),
    },
  }),
  async (c) =>
    c.json(
      pageBody(
        await listWorkflowRuns(c.get('ctx'), {
          ...c.req.valid('query'),
          workflow_uuid: c.req.valid('param').workflow_uuid,
        }),
      ),
      200,
    ),
);

workflowRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/workflow-runs',
    tags,
    summary: 'Workflow runs, newest first',
    description: 'Filters: `status` (comma-separated), `workflow_uuid` (unknown → 404).',
    permission: 'workflows:read',
    request: { query: WorkflowRunListQuerySchema.extend(PageQuerySchema.shape) },
    responses: {
      200: json(pageEnvelope(WorkflowRunSchema), 'A page of runs.'),
      404: errorContent('No such workflow.'),
    },
  }),
  async (c) => c.json(pageBody(await listWorkflowRuns(c.get('ctx'), c.req.valid('query'))), 200),
);

workflowRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/workflow-runs/{run_uuid}',
    tags,
    summary: 'Get a workflow run (status, result, logs)',
    permission: 'workflows:read',
    request: { params: z.object({ run_uuid: UuidSchema }) },
    responses: { 200: json(runEnvelope, 'The run.'), 404: errorContent('No such run.') },
  }),
  async (c) => c.json(dataBody(await getWorkflowRun(c.get('ctx'), { uuid: c.req.valid('param').run_uuid })), 200),
);
