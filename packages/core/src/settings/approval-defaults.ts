import type { ApprovalDefaults } from '@calseta/schema';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';

/** Fallback approval timeout of a workflow without its own (seconds). */
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 3600;

/** `GET /v1/settings/approval-defaults`: how approval requests are notified (no secret is returned). */
export function getApprovalDefaults(ctx: ServiceContext): ApprovalDefaults {
  authorize(ctx, 'settings:read');
  const approvals = ctx.config.approvals ?? {};
  return {
    notifier: approvals.notifier ?? 'none',
    default_channel: null,
    default_timeout_seconds: DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    slack_configured: Boolean(approvals.slackWebhookUrl),
    teams_configured: Boolean(approvals.teamsWebhookUrl),
  };
}
