import type { ApprovalNotifier } from '@calseta/schema';

/** Approval notifications and the Slack callback (`CoreConfig.approvals`). */
export interface ApprovalConfig {
  /** `APPROVAL_NOTIFIER`; default none. */
  notifier?: ApprovalNotifier;
  /** `SLACK_WEBHOOK_URL`: incoming webhook of approval messages (the only destination; `approval_channel` is a label). */
  slackWebhookUrl?: string | undefined;
  /**
   * `SLACK_SIGNING_SECRET`: verifies `POST /v1/approvals/callback/slack`. Without it the messages carry
   * no buttons (browser link only) and the callback answers 404 (reference quirk 28 fixed).
   */
  slackSigningSecret?: string | undefined;
  /** `TEAMS_WEBHOOK_URL`: incoming webhook of approval cards (the only destination; `approval_channel` is a label). */
  teamsWebhookUrl?: string | undefined;
}

/** `APPROVAL_NOTIFIER`, case-insensitive; unset or unknown → none. */
export function approvalNotifierOf(value: string | undefined): ApprovalNotifier {
  const v = (value ?? '').trim().toLowerCase();
  return v === 'slack' || v === 'teams' ? v : 'none';
}
