/**
 * Approval notifiers: the Slack Block Kit message and the Teams Adaptive Card of a workflow approval
 * event. Every untrusted value (indicator, agent reason, workflow name, responder) is one bounded line
 * escaped for the target's markup. Core posts the message to the admin-configured webhook.
 */
export { slackMessage, slackNotifier } from './slack.js';
export { teamsMessage, teamsNotifier } from './teams.js';
export type { ApprovalEvent, ApprovalNotifierSpec, NotifyOptions } from './text.js';
