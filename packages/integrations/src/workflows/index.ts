/**
 * Workflow integrations (`ctx.integrations` of workflow code, reference §7.5): Okta and Microsoft Entra
 * (Graph) clients with exactly the methods the builtin workflows call. Core builds them per run from the
 * `okta` / `entra` providers' resolved credentials and hands them its SSRF-guarded workflow client; the
 * workflow never sees the credentials. HTTP errors reject with the provider's message.
 */
export { clearEntraTokenCache, type EntraAuth, EntraIntegration, entraWorkflowIntegration } from './entra.js';
export { OktaIntegration, oktaWorkflowIntegration } from './okta.js';
export type { WorkflowIntegrationSpec } from './shared.js';
