/** Workflow approvals: the execute gate, decisions (REST, browser token, Slack), notifiers, sweeper. */
export { type ApprovalConfig, approvalNotifierOf } from '../infra/approval-config.js';
export { executeWorkflow } from './execute.js';
export { decisionRefusal, type Principal, principalOf, type Requester } from './identity.js';
export { createApprovalFetch, decideUrl, sendApprovalNotification } from './notify.js';
export { handleSlackCallback, type SlackCallbackResult } from './slack.js';
export {
  decideToken,
  decideTokenMatches,
  hashDecideToken,
  SLACK_MAX_AGE_SECONDS,
  slackSignature,
  verifySlackSignature,
} from './token.js';
export {
  type ApprovalPreview,
  approvalPreview,
  decideApproval,
  decideWithToken,
  expireStaleApprovals,
  getApproval,
  listApprovals,
  needsApproval,
  recordApprovedRunResult,
  respondToApproval,
  sweepApprovals,
} from './verbs.js';

/** Cron of the `sweep-approvals` job (pg-boss schedules need a supervising queue: the worker's). */
export const APPROVAL_SWEEP_CRON = '* * * * *';
