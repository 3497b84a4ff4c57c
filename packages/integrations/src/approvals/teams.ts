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
 * Adaptive Card text (TextBlock, Fact values) is Markdown: links `[label](url)`, emphasis, lists. Every
 * character that opens one is backslash-escaped (CommonMark), `<`/`&` too, and a leading list marker.
 */
const cardText = (text: string, max = 1_000) =>
  plain(text, max)
    .replace(/[\\*_[\]()<>&~`]/g, '\\$&')
    .replace(/^([-+])(?= )/, '\\$1')
    .replace(/^(\d+)\.(?= )/, '$1\\.');

/** Teams: an Adaptive Card 1.4; decisions happen through the browser link (no Teams callback). */
export function teamsMessage(
  a: WorkflowApproval,
  event: ApprovalEvent,
  options: Pick<NotifyOptions, 'link'>,
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

export const teamsNotifier: ApprovalNotifierSpec = { message: teamsMessage };
