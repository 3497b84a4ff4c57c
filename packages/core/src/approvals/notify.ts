import type { ServiceContext } from '../infra/context.js';
import { OutboundBlockedError } from '../infra/http/errors.js';
import type { OutboundPolicy } from '../infra/http/policy.js';
import { createSafeFetch, type SafeFetch } from '../infra/http/safe-fetch.js';
import type { JobPayload } from '../infra/jobs/catalogue.js';
import { decideToken, decideTokenMatches } from './token.js';
import { approvalQuery, toApproval } from './verbs.js';

/** One SSRF-guarded client per process for Slack / Teams webhooks: 15 s, no redirects, small bodies. */
export function createApprovalFetch(outbound: Partial<OutboundPolicy>): SafeFetch {
  return createSafeFetch({ ...outbound, timeoutMs: 15_000, maxRedirects: 0, maxResponseBytes: 262_144 });
}

/** The browser decide link (`CALSETA_API_BASE_URL`). */
export function decideUrl(ctx: Pick<ServiceContext, 'config'>, uuid: string, token: string): string {
  const base = (ctx.config.apiBaseUrl ?? 'http://localhost:8000').replace(/\/+$/, '');
  return `${base}/v1/approvals/${uuid}/decide?token=${encodeURIComponent(token)}`;
}

/**
 * The webhook URL: only what an admin configured (`SLACK_WEBHOOK_URL` / `TEAMS_WEBHOOK_URL`). A
 * workflow's `approval_channel` is a label, never a destination: a `workflows:write` key could
 * otherwise send itself the decide link of every request of its workflow.
 */
function webhookUrl(ctx: Pick<ServiceContext, 'config'>, notifier: string): string | undefined {
  const config = ctx.config.approvals ?? {};
  return notifier === 'slack' ? config.slackWebhookUrl : notifier === 'teams' ? config.teamsWebhookUrl : undefined;
}

/** The browser link of a new request: its token derived again (token.ts), if it still matches the row. */
function requestLink(ctx: Pick<ServiceContext, 'config'>, row: { uuid: string; decide_token: string | null }) {
  const token = decideToken(ctx.config.encryptionKey, row.uuid);
  return token !== null && decideTokenMatches(row.decide_token, token) ? decideUrl(ctx, row.uuid, token) : undefined;
}

/**
 * Worker (`notify-approval`): post one notification, formatted by the `ApprovalNotifier` port of its
 * `notifier_type` (first-party: Slack and Teams in `@calseta/integrations`), to the admin-configured
 * webhook through the SSRF-guarded notifier client; HTTP failures retry, refused URLs do not.
 */
export async function sendApprovalNotification(
  ctx: ServiceContext,
  data: JobPayload<'notify-approval'>,
): Promise<void> {
  const row = await approvalQuery(ctx.db).where('a.id', '=', data.approval_id).executeTakeFirst();
  if (!row) return;
  const approval = toApproval(row);
  if (approval.notifier_type === 'none') return;
  const url = webhookUrl(ctx, approval.notifier_type);
  const log = ctx.logger.child({ approval_uuid: approval.uuid, event: data.event, notifier: approval.notifier_type });
  if (!url) {
    log.warn('approval notification skipped: no webhook URL configured');
    return;
  }
  const link = data.event === 'requested' ? requestLink(ctx, row) : undefined;
  if (data.event === 'requested' && link === undefined) {
    log.warn('approval notification without a browser link: no ENCRYPTION_KEY, or another one than at request time');
  }
  const notifier = ctx.integrations.approvalNotifiers[approval.notifier_type];
  if (!notifier) {
    log.warn('approval notification skipped: no notifier of this type is installed');
    return;
  }
  // Decision buttons only when the callback is verified (Slack's signing secret).
  const message = notifier.message(approval, data.event, {
    link,
    buttons: Boolean(ctx.config.approvals?.slackSigningSecret),
  });
  try {
    const response = await ctx.approvalFetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`notifier answered HTTP ${response.status}: ${text.slice(0, 200)}`);
    log.info('approval notification sent');
  } catch (error) {
    if (error instanceof OutboundBlockedError) {
      log.warn({ err: error }, 'approval notification refused by the outbound policy');
      return;
    }
    throw error;
  }
}
