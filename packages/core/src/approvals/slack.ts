import type { ServiceContext } from '../infra/context.js';
import { ServiceError } from '../infra/errors.js';
import { isUuid } from '../infra/ids.js';
import { verifySlackSignature } from './token.js';
import { decideApproval } from './verbs.js';

export interface SlackCallbackResult {
  status: 200 | 400 | 403 | 404;
  text: string;
}

/**
 * `POST /v1/approvals/callback/slack` (Slack interactivity). Without `SLACK_SIGNING_SECRET` the
 * callback does not exist (404) — never unauthenticated (reference quirk 28). Signature and
 * timestamp are checked on the raw body before anything is parsed; the action `approve:<uuid>` /
 * `reject:<uuid>` is decided with the Slack user id as responder. Decision errors are logged and
 * answered 200 `ok` (Slack shows nothing useful for errors).
 */
export async function handleSlackCallback(
  ctx: ServiceContext,
  { raw, headers }: { raw: string; headers: { timestamp: string | undefined; signature: string | undefined } },
): Promise<SlackCallbackResult> {
  const secret = ctx.config.approvals?.slackSigningSecret;
  if (!secret) return { status: 404, text: 'Slack callbacks are not configured' };
  const check = verifySlackSignature(secret, headers.timestamp, headers.signature, raw);
  if (check === 'stale') return { status: 403, text: 'Request too old' };
  if (check === 'invalid') return { status: 403, text: 'Invalid signature' };
  const payloadText = new URLSearchParams(raw).get('payload');
  if (payloadText === null) return { status: 400, text: 'Missing payload' };
  let payload: { actions?: Array<{ action_id?: unknown }>; user?: { id?: unknown } };
  try {
    payload = JSON.parse(payloadText) as typeof payload;
  } catch {
    return { status: 400, text: 'Invalid JSON payload' };
  }
  const actionId = payload.actions?.[0]?.action_id;
  if (typeof actionId !== 'string') return { status: 200, text: 'ok' };
  const [verb, uuid] = actionId.split(':', 2);
  if ((verb !== 'approve' && verb !== 'reject') || uuid === undefined || !isUuid(uuid)) {
    return { status: 200, text: 'ok' };
  }
  const user = typeof payload.user?.id === 'string' ? payload.user.id : 'slack';
  try {
    const decider = { id: `slack:${user}`.slice(0, 200), kind: 'person' as const };
    await decideApproval(ctx, uuid, verb, { decider, via: 'slack' });
  } catch (error) {
    if (!(error instanceof ServiceError)) throw error;
    ctx.logger.warn({ approval_uuid: uuid, code: error.code }, `Slack approval decision refused: ${error.message}`);
  }
  return { status: 200, text: 'ok' };
}
