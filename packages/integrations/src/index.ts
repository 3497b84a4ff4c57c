/**
 * @calseta/integrations — the first-party alert sources (Microsoft Sentinel, Elastic Security, Splunk and
 * the generic webhook), written only against `@calseta/plugin-sdk`, exactly like a community plugin.
 */
import type { AlertSource } from '@calseta/plugin-sdk';
import { elasticSource } from './sources/elastic.js';
import { genericSource } from './sources/generic.js';
import { sentinelSource } from './sources/sentinel.js';
import { splunkSource } from './sources/splunk.js';

export { elasticSource, genericSource, sentinelSource, splunkSource };

/** Every built-in source, in registration order. */
export const builtinSources: readonly AlertSource[] = Object.freeze([
  sentinelSource,
  elasticSource,
  splunkSource,
  genericSource,
]);

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
  missingBuiltinAuth,
  oktaAuth,
  oktaBuiltin,
  oktaProvider,
  resolveBuiltinAuth,
  virustotalAuth,
  virustotalBuiltin,
  virustotalProvider,
} from './providers/index.js';
