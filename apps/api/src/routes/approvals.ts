import {
  approvalPreview,
  contextFor,
  decideWithToken,
  getApproval,
  handleSlackCallback,
  isUuid,
  listApprovals,
  respondToApproval,
  ServiceError,
  SYSTEM,
} from '@calseta/core';
import {
  ApprovalDecisionSchema,
  ApprovalListQuerySchema,
  dataEnvelope,
  PageQuerySchema,
  pageEnvelope,
  UuidSchema,
  WorkflowApprovalSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { dataBody, pageBody } from '../envelope.js';
import { apiRoute, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';
import { approvalDecidePage, messagePage } from '../views/approval-decide.js';

const tags = ['Workflow approvals'];
const Params = z.object({ approval_uuid: UuidSchema });
const approvalEnvelope = dataEnvelope(WorkflowApprovalSchema);
const decisionBody = { required: false, content: { 'application/json': { schema: ApprovalDecisionSchema } } };

export const approvalRoutes = new OpenAPIHono<AppEnv>();

// ------------------------------------------------------------------ REST (approvals:write)

approvalRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/workflow-approvals',
    tags,
    summary: 'Approval requests, newest first',
    description:
      'Filters: `status` (comma-separated: pending, approved, rejected, expired), `workflow_uuid` (unknown → 404). Stale pending requests are marked expired first.',
    permission: 'approvals:write',
    request: { query: ApprovalListQuerySchema.extend(PageQuerySchema.shape) },
    responses: {
      200: json(pageEnvelope(WorkflowApprovalSchema), 'A page of approval requests.'),
      404: errorContent('No such workflow.'),
    },
  }),
  async (c) => c.json(pageBody(await listApprovals(c.get('ctx'), c.req.valid('query'))), 200),
);

approvalRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/workflow-approvals/{approval_uuid}',
    tags,
    summary: 'Get an approval request',
    permission: 'approvals:write',
    request: { params: Params },
    responses: { 200: json(approvalEnvelope, 'The request.'), 404: errorContent('No such request.') },
  }),
  async (c) => c.json(dataBody(await getApproval(c.get('ctx'), { uuid: c.req.valid('param').approval_uuid })), 200),
);

for (const decision of ['approve', 'reject'] as const) {
  approvalRoutes.openapi(
    apiRoute({
      method: 'post',
      path: `/v1/workflow-approvals/{approval_uuid}/${decision}`,
      tags,
      summary: decision === 'approve' ? 'Approve: the run is queued' : 'Reject: nothing runs',
      description:
        'The responder recorded is the calling key (`api_key:<uuid>`). Agent keys never decide, and the key that ' +
        'requested the execution cannot decide it (403 `FORBIDDEN`, `details.reason` `agent` / `requester`). The ' +
        "reference's optional body `{responder_id}` is accepted and ignored. Decided already → 409 " +
        '`APPROVAL_ALREADY_DECIDED`; past expiry → 409 `APPROVAL_EXPIRED` (the request is marked expired).',
      permission: 'approvals:write',
      request: { params: Params, body: decisionBody },
      responses: {
        200: json(approvalEnvelope, 'The decided request (`run_uuid` once approved).'),
        403: errorContent('An agent key, or the key that requested the execution (`FORBIDDEN`).'),
        404: errorContent('No such request.'),
        409: errorContent('Already decided or expired (`APPROVAL_ALREADY_DECIDED`, `APPROVAL_EXPIRED`).'),
      },
    }),
    async (c) =>
      c.json(
        dataBody(
          await respondToApproval(c.get('ctx'), {
            uuid: c.req.valid('param').approval_uuid,
            decision,
            input: c.req.valid('json'),
          }),
        ),
        200,
      ),
  );
}

// ------------------------------------------------------------------ browser page (token = credential)

type HtmlStatus = 200 | 400 | 403 | 404 | 409 | 410;

/** A ServiceError as an HTML page; other errors propagate (500 JSON envelope). */
function errorPage(c: Context<AppEnv>, error: unknown) {
  if (!(error instanceof ServiceError)) throw error;
  const statuses: Partial<Record<string, [HtmlStatus, string]>> = {
    NOT_FOUND: [404, 'Approval request not found'],
    FORBIDDEN: [403, 'Invalid approval link'],
    APPROVAL_EXPIRED: [410, 'Approval request expired'],
    APPROVAL_ALREADY_DECIDED: [409, 'Already decided'],
  };
  const [status, title] = statuses[error.code] ?? [400, 'Request refused'];
  return c.html(messagePage(title, error.message), status);
}

function systemContext(c: Context<AppEnv>) {
  return contextFor(c.get('deps'), SYSTEM, c.get('requestId'));
}

/**
 * `GET /v1/approvals/{uuid}/decide?token=`: no API key — the single-use token from the notification
 * is the credential (404 unknown, 403 wrong token). Shows what will run; expired/decided requests
 * show their status.
 */
approvalRoutes.get('/v1/approvals/:approval_uuid/decide', async (c) => {
  const uuid = c.req.param('approval_uuid');
  if (!isUuid(uuid)) return c.html(messagePage('Approval request not found', 'No such approval request.'), 404);
  const token = c.req.query('token');
  try {
    const preview = await approvalPreview(systemContext(c), { uuid, token });
    c.header('Cache-Control', 'no-store');
    return c.html(approvalDecidePage(preview, token ?? ''), 200);
  } catch (error) {
    return errorPage(c, error);
  }
});

/** `POST /v1/approvals/{uuid}/decide` (form `token`, `decision=approve|reject`). */
approvalRoutes.post('/v1/approvals/:approval_uuid/decide', async (c) => {
  const uuid = c.req.param('approval_uuid');
  if (!isUuid(uuid)) return c.html(messagePage('Approval request not found', 'No such approval request.'), 404);
  const form = new URLSearchParams(await c.req.text());
  const decision = form.get('decision');
  if (decision !== 'approve' && decision !== 'reject') {
    return c.html(messagePage('Invalid decision', 'Choose approve or reject.'), 400);
  }
  try {
    await decideWithToken(systemContext(c), { uuid, token: form.get('token') ?? undefined, decision });
    c.header('Cache-Control', 'no-store');
    return c.html(
      decision === 'approve'
        ? messagePage('Approved', 'Workflow approved. Execution has been queued.')
        : messagePage('Rejected', 'Workflow rejected. No execution will occur.'),
      200,
    );
  } catch (error) {
    return errorPage(c, error);
  }
});

// ------------------------------------------------------------------ chat callbacks

/** Slack interactivity: verified with SLACK_SIGNING_SECRET; without it the route answers 404. */
approvalRoutes.post('/v1/approvals/callback/slack', async (c) => {
  const raw = await c.req.text();
  const result = await handleSlackCallback(systemContext(c), {
    raw,
    headers: { timestamp: c.req.header('x-slack-request-timestamp'), signature: c.req.header('x-slack-signature') },
  });
  return c.text(result.text, result.status);
});

/** Teams has no interactive callback: decisions use the card's browser link. */
approvalRoutes.post('/v1/approvals/callback/teams', (c) =>
  c.json({ message: 'Teams approvals are decided through the browser link in the card or the REST API.' }, 200),
);

// The four routes above answer HTML or chat payloads and authenticate with their own credential (the
// link's token, Slack's signature), so they are plain routes; they are documented here all the same.
const ApprovalPath = z.object({ approval_uuid: UuidSchema });
const html = (description: string) => ({ description, content: { 'text/html': { schema: z.string() } } });
approvalRoutes.openAPIRegistry.registerPath({
  method: 'get',
  path: '/v1/approvals/{approval_uuid}/decide',
  tags: ['Workflow approvals'],
  summary: 'The browser approval page (credential: the token in the notification link)',
  request: { params: ApprovalPath, query: z.object({ token: z.string() }) },
  responses: {
    200: html('What will run, with approve and reject buttons.'),
    403: html('Wrong token.'),
    404: html('No such request.'),
  },
});
approvalRoutes.openAPIRegistry.registerPath({
  method: 'post',
  path: '/v1/approvals/{approval_uuid}/decide',
  tags: ['Workflow approvals'],
  summary: 'Decide from the browser page (form fields token and decision=approve|reject)',
  request: {
    params: ApprovalPath,
    body: {
      content: {
        'application/x-www-form-urlencoded': {
          schema: z.object({ token: z.string(), decision: z.enum(['approve', 'reject']) }),
        },
      },
    },
  },
  responses: {
    200: html('Decided.'),
    400: html('Invalid decision.'),
    403: html('Wrong token.'),
    404: html('No such request.'),
    409: html('Already decided.'),
    410: html('Expired.'),
  },
});
approvalRoutes.openAPIRegistry.registerPath({
  method: 'post',
  path: '/v1/approvals/callback/slack',
  tags: ['Workflow approvals'],
  summary: 'Slack interactivity callback (verified with SLACK_SIGNING_SECRET; 404 without it)',
  responses: { 200: { description: 'Decision recorded.' }, 401: { description: 'Bad signature.' } },
});
approvalRoutes.openAPIRegistry.registerPath({
  method: 'post',
  path: '/v1/approvals/callback/teams',
  tags: ['Workflow approvals'],
  summary: 'Teams callback (none: Teams decisions use the browser link)',
  responses: { 200: { description: 'An explanation.' } },
});
