import type { WorkflowApproval } from '@calseta/schema';
import type { ServiceContext } from '../context.js';
import { OutboundBlockedError } from '../http/errors.js';
import type { OutboundPolicy } from '../http/policy.js';
import { createSafeFetch, type SafeFetch } from '../http/safe-fetch.js';
import type { JobPayload } from '../jobs/catalogue.js';
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

/** Slack mrkdwn: `&`, `<` and `>` escaped so user text cannot make links or mentions. */
const mrkdwn = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

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
      text: `${a.workflow_name}: ${line}`,
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: `*${mrkdwn(title)}*\n${mrkdwn(line)}` } },
        { type: 'context', elements: [{ type: 'mrkdwn', text: `Approval ${a.uuid}` }] },
      ],
    };
  }
  const blocks: Record<string, unknown>[] = [
    { type: 'header', text: { type: 'plain_text', text: title.slice(0, 150) } },
    {
      type: 'section',
      fields: [
        { type: 'mrkdwn', text: `*Indicator*\n${mrkdwn(indicatorOf(a))}` },
        { type: 'mrkdwn', text: `*Trigger*\n${mrkdwn(`${a.trigger_type} (${a.trigger_agent_key_prefix})`)}` },
        { type: 'mrkdwn', text: `*Confidence*\n${pct(a.confidence)}` },
        { type: 'mrkdwn', text: `*Expires*\n${utc(a.expires_at)}` },
      ],
    },
    { type: 'section', text: { type: 'mrkdwn', text: `*Agent reason*\n${mrkdwn(a.reason || '(none given)')}` } },
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
  return { text: `Workflow approval needed: ${a.workflow_name} (${indicatorOf(a)})`, blocks };
}

/** Teams: an Adaptive Card 1.4; decisions happen through the browser link (no Teams callback). */
export function teamsMessage(
  a: WorkflowApproval,
  event: ApprovalEvent,
  options: { link?: string | undefined },
): Record<string, unknown> {
  const facts =
    event === 'requested'
      ? [
          { title: 'Indicator', value: indicatorOf(a) },
          { title: 'Trigger', value: `${a.trigger_type} (${a.trigger_agent_key_prefix})` },
          { title: 'Confidence', value: pct(a.confidence) },
          { title: 'Risk Level', value: a.risk_level },
          { title: 'Expires', value: utc(a.expires_at) },
        ]
      : [
          { title: 'Workflow', value: a.workflow_name },
          { title: 'Outcome', value: outcomeLine(a, event) },
        ];
  const body: Record<string, unknown>[] = [
    {
      type: 'TextBlock',
      size: 'Large',
      weight: 'Bolder',
      wrap: true,
      text:
        event === 'requested'
          ? `[${a.risk_level.toUpperCase()}] Workflow Approval Required`
          : 'Workflow Approval Update',
    },
    { type: 'TextBlock', wrap: true, text: a.workflow_name },
    { type: 'FactSet', facts },
  ];
  if (event === 'requested')
    body.push({ type: 'TextBlock', wrap: true, text: `Agent reason: ${a.reason || '(none given)'}` });
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

/** The webhook URL: the workflow's `approval_channel` when it is an http(s) URL, else the configured one. */
function webhookUrl(ctx: Pick<ServiceContext, 'config'>, approval: WorkflowApproval): string | undefined {
  const channel = approval.notifier_channel?.trim();
  if (channel && /^https?:\/\//i.test(channel)) return channel;
  const config = ctx.config.approvals ?? {};
  return approval.notifier_type === 'slack' ? config.slackWebhookUrl : config.teamsWebhookUrl;
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
  const url = webhookUrl(ctx, approval);
  const log = ctx.logger.child({ approval_uuid: approval.uuid, event: data.event, notifier: approval.notifier_type });
  if (!url) {
    log.warn('approval notification skipped: no webhook URL configured');
    return;
  }
  const link = data.token ? decideUrl(ctx, approval.uuid, data.token) : undefined;
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
