import type { WorkflowApproval } from '@calseta/schema';
import {
  type ApprovalEvent,
  type ApprovalNotifierSpec,
  indicatorOf,
  type NotifyOptions,
  outcomeLine,
  pct,
  plain,
  utc,
} from './text.js';

/**
 * Slack mrkdwn: `&`, `<` and `>` escaped, so the text cannot make links (`<url|label>`) or mentions
 * (`<!channel>`, `<@U…>`); at most `max` characters once escaped (a cut never splits an entity).
 */
function mrkdwn(text: string, max = 1_500): string {
  const escaped = plain(text, max).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return escaped.length <= max ? escaped : `${escaped.slice(0, max - 1).replace(/&[a-z]{0,3}$/, '')}…`;
}

/**
 * Slack Block Kit. The request message carries Approve / Reject buttons only when `options.buttons`
 * (core verifies the callback); the browser link is always there.
 */
export function slackMessage(
  a: WorkflowApproval,
  event: ApprovalEvent,
  options: NotifyOptions,
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

export const slackNotifier: ApprovalNotifierSpec = { message: slackMessage };
