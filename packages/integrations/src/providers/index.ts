/**
 * Builtin enrichment providers (reference §4.9) as data: `ProviderDefinition`s for the engine plus
 * the auth spec (env var mapping, base URL defaults) core's auth resolver applies.
 */
import { abuseipdbBuiltin } from './abuseipdb.js';
import { entraBuiltin } from './entra.js';
import { oktaBuiltin } from './okta.js';
import type { BuiltinProvider } from './shared.js';
import { virustotalBuiltin } from './virustotal.js';

export { abuseipdbAuth, abuseipdbBuiltin, abuseipdbProvider } from './abuseipdb.js';
export { entraAuth, entraBuiltin, entraProvider } from './entra.js';
export { oktaAuth, oktaBuiltin, oktaProvider } from './okta.js';
export type { BuiltinAuthSpec, BuiltinProvider } from './shared.js';
export { virustotalAuth, virustotalBuiltin, virustotalProvider } from './virustotal.js';

/** Every builtin provider with its auth spec, in seeding order. */
export const builtinProviderSpecs: readonly BuiltinProvider[] = Object.freeze([
  virustotalBuiltin,
  abuseipdbBuiltin,
  oktaBuiltin,
  entraBuiltin,
]);

/** Every builtin provider definition, in seeding order. */
export const builtinProviders = Object.freeze(builtinProviderSpecs.map((p) => p.definition));
