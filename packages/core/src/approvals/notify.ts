import type { WorkflowApproval } from '@calseta/schema';
import type { ServiceContext } from '../context.js';
import { OutboundBlockedError } from '../http/errors.js';
import type { OutboundPolicy } from '../http/policy.js';
import { createSafeFetch, type SafeFetch } from '../http/safe-fetch.js';
import type { JobPayload } from '../jobs/catalogue.js';
import { decideToken, decideTokenMatches } from './token.js';
import { approvalQuery, toApproval } from './verbs.js';

/** One SSRF-guarded client per process for Slack / Teams webhooks: 15 s, no redirects, small bodies. */
export function createApprovalFetch(outbound: Partial<OutboundPolicy>): SafeFetch {
  return createSafeFetch({ ...outbound, timeoutMs: 15_000, maxRedirects: 0, maxResponseBytes: 262_144 });
}

export type ApprovalEvent = JobPayload<'notify-approval'>['event'];

/** The browser decide link (`CALSETA_API_BASE_URL`). */
export function decideUrl(ctx: Pick<ServiceContext, 'config'>, uuid: string, token: string): string {
  const base = (ctx.config.apiBaseUrl ?? 'http://localhost:8000').replace(/\/+$/, '');
  return `${base}/v1/approvals/${uuid}/decide?token=${encodeURIComponent(token)}`;
}

const pct = (confidence: number) => `${Math.round(confidence * 100)}%`;
const utc = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;
const indicatorOf = (a: WorkflowApproval) =>
  a.trigger_context ? `${a.trigger_context.indicator_type}: ${a.trigger_context.indicator_value}` : '-';

/**
 * Untrusted text (indicator, reason, workflow name, responder, run message) as one line of at most
 * `max` characters: no forged lines, and no block over what Slack (3,000) or Teams accept.
 */
function plain(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * Slack mrkdwn: `&`, `<` and `>` escaped, so the text cannot make links (`<url|label>`) or mentions
 * (`<!channel>`, `<@U…>`); at most `max` characters once escaped (a cut never splits an entity).
 */
function mrkdwn(text: string, max = 1_500): string {
  const escaped = plain(text, max).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return escaped.length <= max ? escaped : `${escaped.slice(0, max - 1).replace(/&[a-z]{0,3}$/, '')}…`;
}

/**
 * Adaptive Card text (TextBlock, Fact values) is Markdown: links `[label](url)`, emphasis, lists. Every
 * character that opens one is backslash-escaped (CommonMark), `<`/`&` too, and a leading list marker.
 */
const cardText = (text: string, max = 1_000) =>
  plain(text, max)
    .replace(/[\\*_[\]()<>&~`]/g, '\\$&')
    .replace(/^([-+])(?= )/, '\\$1')
    .replace(/^(\d+)\.(?= )/, '$1\\.');

function outcomeLine(a: WorkflowApproval, event: ApprovalEvent): string {
  if (event === 'expired') return `⌛ Expired without a decision (${utc(a.expires_at)})`;
  if (event === 'executed') {
    const r = a.execution_result;
    return `${r?.success ? '✅' : '❌'} Execution result: ${r?.message ?? 'no result'}`;
  }
  return a.status === 'approved'
    ? `✅ Approved by ${a.responder_id ?? 'unknown'}: execution queued`
    : `❌ Rejected by ${a.responder_id ?? 'unknown'}: no execution`;
}

/**
 * Slack Block Kit. The request message carries Approve / Reject buttons only when
 * `SLACK_SIGNING_SECRET` is set (the callback is verified); the browser link is always there.
 */
export function slackMessage(
  a: WorkflowApproval,
  event: ApprovalEvent,
  options: { link?: string | undefined; buttons: boolean },
): Record<string, unknown> {
  const title = `[${a.risk_level.toUpperCase()}] Workflow Approval: ${a.workflow_name}`;
  if (event !== 'requested') {
    const line = outcomeLine(a, event);
    return {
      text: mrkdwn(`${a.workflow_name}: ${line}`),
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: `*${mrkdwn(title, 500)}*\n${mrkdwn(line, 2_000)}` } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: `Approval ${a.uuid}` }] },
      ],
    };
  }
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: plain(title, 150) } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Indicator*\n${mrkdwn(indicatorOf(a))}` },
        { type: 'mrkdwn', text: `*Trigger*\n${mrkdwn(`${a.trigger_type} (${a.trigger_agent_key_prefix})`)}` },
        { type: 'mrkdwn', text: `*Confidence*\n${pct(a.confidence)}` },
        { type: 'mrkdwn', text: `*Expires*\n${utc(a.expires_at)}` },
      ],
    },
    {
      type: 'section',
      text: { type: 'mrkdwn', text: `*Agent reason*\n${mrkdwn(a.reason || '(none given)', 2_800)}` },
    },
  ];
  if (options.buttons) {
    blocks.push({
      type: 'actions',
      block_id: `approval:${a.uuid}`,
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Approve' },
          style: 'primary',
          action_id: `approve:${a.uuid}`,
          value: a.uuid,
        },
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Reject' },
          style: 'danger',
          action_id: `reject:${a.uuid}`,
          value: a.uuid,
        },
      ],
    });
  }
  if (options.link) {
    blocks.push({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: `<${options.link}|Review and decide in the browser>` }],
    });
  }
  return { text: `Workflow approval needed: ${mrkdwn(`${a.workflow_name} (${indicatorOf(a)})`)}`, blocks };
}

/** Teams: an Adaptive Card 1.4; decisions happen through the browser link (no Teams callback). */
export function teamsMessage(
  a: WorkflowApproval,
  event: ApprovalEvent,
  options: { link?: string | undefined },
): Record<string, unknown> {
  const facts = (
    event === 'requested'
      ? [
          ['Indicator', indicatorOf(a)],
          ['Trigger', `${a.trigger_type} (${a.trigger_agent_key_prefix})`],
          ['Confidence', pct(a.confidence)],
          ['Risk Level', a.risk_level],
          ['Expires', utc(a.expires_at)],
        ]
      : [
          ['Workflow', a.workflow_name],
          ['Outcome', outcomeLine(a, event)],
        ]
  ).map(([title, value]) => ({ title, value: cardText(value as string) }));
  const body: Record<string, unknown>[] = [
    {
      type: 'TextBlock',
      size: 'Large',
      weight: 'Bolder',
      wrap: true,
      text:
        event === 'requested'
          ? `[${cardText(a.risk_level.toUpperCase(), 20)}] Workflow Approval Required`
          : 'Workflow Approval Update',
    },
    { type: 'TextBlock', wrap: true, text: cardText(a.workflow_name) },
    { type: 'FactSet', facts },
  ];
  if (event === 'requested')
    body.push({ type: 'TextBlock', wrap: true, text: `Agent reason: ${cardText(a.reason || '(none given)', 3_000)}` });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          ...(options.link
            ? { actions: [{ type: 'Action.OpenUrl', title: 'Review & Decide', url: options.link }] }
            : {}),
        },
      },
    ],
  };
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

/** Worker (`notify-approval`): post one notification; HTTP failures retry, refused URLs do not. */
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
  const message =
    approval.notifier_type === 'slack'
      ? slackMessage(approval, data.event, { link, buttons: Boolean(ctx.config.approvals?.slackSigningSecret) })
      : teamsMessage(approval, data.event, { link });
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
