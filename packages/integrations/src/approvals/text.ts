import type { WorkflowApproval } from '@calseta/schema';

/** The approval notification events (core's `notify-approval` job). */
export type ApprovalEvent = 'requested' | 'decided' | 'expired' | 'executed';

export interface NotifyOptions {
  /** The browser decide link (only on `requested`, and only when core could derive its token). */
  link?: string | undefined;
  /** Decision buttons: core sets this when it verifies the chat system's callbacks (Slack: `SLACK_SIGNING_SECRET`). */
  buttons: boolean;
}

/**
 * What an approval notifier gives core (core's `ApprovalNotifier` port): the JSON body posted to the
 * admin-configured webhook for one event. Core posts it with its SSRF-guarded notifier client.
 */
export interface ApprovalNotifierSpec {
  message(approval: WorkflowApproval, event: ApprovalEvent, options: NotifyOptions): Record<string, unknown>;
}

export const pct = (confidence: number) => `${Math.round(confidence * 100)}%`;
export const utc = (iso: string) => `${iso.slice(0, 16).replace('T', ' ')} UTC`;
export const indicatorOf = (a: WorkflowApproval) =>
  a.trigger_context ? `${a.trigger_context.indicator_type}: ${a.trigger_context.indicator_value}` : '-';

/**
 * Untrusted text (indicator, reason, workflow name, responder, run message) as one line of at most
 * `max` characters: no forged lines, and no block over what Slack (3,000) or Teams accept.
 */
export function plain(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

export function outcomeLine(a: WorkflowApproval, event: ApprovalEvent): string {
  if (event === 'expired') return `⌛ Expired without a decision (${utc(a.expires_at)})`;
  if (event === 'executed') {
    const r = a.execution_result;
    return `${r?.success ? '✅' : '❌'} Execution result: ${r?.message ?? 'no result'}`;
  }
  return a.status === 'approved'
    ? `✅ Approved by ${a.responder_id ?? 'unknown'}: execution queued`
    : `❌ Rejected by ${a.responder_id ?? 'unknown'}: no execution`;
}
