/** @calseta/example-triage-agent — a runnable triage agent over webhooks or MCP. */
export { type CalsetaActions, handleAlert, type Outcome, restActions } from './act.js';
export { type McpAgent, type McpAgentOptions, startMcpAgent } from './mcp.js';
export { type LlmOptions, llmTriage, type Triage, triage } from './triage.js';
export { startWebhookAgent, verifySignature, type WebhookAgent, type WebhookAgentOptions } from './webhook.js';
