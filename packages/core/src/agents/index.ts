/** The agent registry and webhook dispatch. */
export { authHeaderOf, createAgentFetch, postToAgent, signingSecretOf } from './deliver.js';
export {
  dispatchAgent,
  EVENT_ALERT_ENRICHED,
  EVENT_TEST,
  redeliverAgentRun,
  retryDelaySeconds,
  runAgentDelivery,
  sweepStalledDeliveries,
  testAgent,
  testPayload,
  triggerAgents,
} from './dispatch.js';
export { agentMatches, matchingAgents } from './matching.js';
export {
  checkEndpoint,
  createAgent,
  deleteAgent,
  getAgent,
  listAgents,
  rotateAgentSigningSecret,
  toAgent,
  updateAgent,
} from './registry.js';
export { getAgentRun, listAgentRuns, listAlertAgentRuns } from './runs.js';
export {
  deliveryHeaders,
  generateSigningSecret,
  HEADERS as WEBHOOK_HEADERS,
  signPayload,
  verifySignature,
} from './signing.js';
