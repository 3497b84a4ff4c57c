/**
 * @calseta/integrations — everything first-party that core reaches only through its ports and plugin
 * seams, never by import: the alert sources (Microsoft Sentinel, Elastic Security, Splunk, the generic
 * webhook), the builtin enrichment providers (VirusTotal, AbuseIPDB, Okta, Entra) and the vendor clients
 * (Okta / Entra workflow actions, Slack / Teams approval messages, Anthropic workflow generation). Each
 * app's composition root hands {@link firstParty} to `createCore`, next to the community plugins.
 */
import { type AlertSource, definePlugin } from '@calseta/plugin-sdk';
import { slackNotifier, teamsNotifier } from './approvals/index.js';
import { anthropicWorkflowModel } from './generation/anthropic.js';
import { builtinProviderSpecs } from './providers/index.js';
import { elasticSource } from './sources/elastic.js';
import { genericSource } from './sources/generic.js';
import { sentinelSource } from './sources/sentinel.js';
import { splunkSource } from './sources/splunk.js';
import { entraWorkflowIntegration, oktaWorkflowIntegration } from './workflows/index.js';

export { elasticSource, genericSource, sentinelSource, splunkSource };

/** Every built-in source, in registration order. */
export const builtinSources: readonly AlertSource[] = Object.freeze([
  sentinelSource,
  elasticSource,
  splunkSource,
  genericSource,
]);

/** The first-party sources as a plugin: registered exactly like one from `CALSETA_PLUGINS`. */
export const firstPartyPlugin = definePlugin({ name: '@calseta/integrations', sources: builtinSources });

/**
 * What the composition roots pass to `createCore` as `integrations`: the first-party plugin, the builtin
 * providers (seeded as `is_builtin` rows) and the vendor clients behind core's ports. Every client makes
 * its requests through the SSRF-guarded client core hands it.
 */
export const firstParty = Object.freeze({
  plugins: Object.freeze([firstPartyPlugin]),
  builtinProviders: builtinProviderSpecs,
  approvalNotifiers: Object.freeze({ slack: slackNotifier, teams: teamsNotifier }),
  workflowModel: anthropicWorkflowModel,
  workflowIntegrations: Object.freeze([oktaWorkflowIntegration, entraWorkflowIntegration]),
});

export * from './approvals/index.js';
export type { GuardedFetch, GuardedRequestInit, GuardedResponse } from './fetch.js';
export * from './generation/anthropic.js';
// Builtin enrichment providers (reference §4.9): ProviderDefinitions + auth specs (src/providers/).
export {
  abuseipdbAuth,
  abuseipdbBuiltin,
  abuseipdbProvider,
  type BuiltinAuthSpec,
  type BuiltinProvider,
  builtinProviderSpecs,
  builtinProviders,
  entraAuth,
  entraBuiltin,
  entraProvider,
  oktaAuth,
  oktaBuiltin,
  oktaProvider,
  virustotalAuth,
  virustotalBuiltin,
  virustotalProvider,
} from './providers/index.js';
export * from './workflows/index.js';
