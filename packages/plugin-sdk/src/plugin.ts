import type { AlertSource } from './alert-source.js';
import type { EnrichmentProviderPlugin } from './enrichment-provider.js';

/**
 * What a plugin package exports as its named export `plugin`: the alert sources and enrichment
 * providers it contributes. Calseta loads the packages listed in `CALSETA_PLUGINS`, registers the
 * sources (`POST /v1/ingest/{name}`) and installs the providers (like
 * `POST /v1/enrichment-providers/import`).
 */
export interface CalsetaPlugin {
  /** The package name, for logs and errors. */
  readonly name: string;
  readonly sources: readonly AlertSource[];
  readonly providers: readonly EnrichmentProviderPlugin[];
}

export interface CalsetaPluginInput {
  name: string;
  sources?: readonly AlertSource[];
  providers?: readonly EnrichmentProviderPlugin[];
}

/** Declare a plugin package's contents. Export the result as `plugin` (a named export). */
export function definePlugin(input: CalsetaPluginInput): CalsetaPlugin {
  if (!input.name.trim()) throw new TypeError('A plugin needs a name (its package name)');
  const sources = [...(input.sources ?? [])];
  const providers = [...(input.providers ?? [])];
  if (sources.length + providers.length === 0) {
    throw new TypeError(`Plugin "${input.name}" contributes no source and no provider`);
  }
  const names = new Set<string>();
  for (const source of sources) {
    if (names.has(source.name)) throw new TypeError(`Plugin "${input.name}" declares source "${source.name}" twice`);
    names.add(source.name);
  }
  const providerNames = new Set<string>();
  for (const provider of providers) {
    const name = provider.provider.provider_name;
    if (providerNames.has(name)) throw new TypeError(`Plugin "${input.name}" declares provider "${name}" twice`);
    providerNames.add(name);
  }
  return Object.freeze({ name: input.name, sources: Object.freeze(sources), providers: Object.freeze(providers) });
}

/** Whether a module export looks like a `CalsetaPlugin` (what a loader checks before trusting it). */
export function isCalsetaPlugin(value: unknown): value is CalsetaPlugin {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return typeof v.name === 'string' && Array.isArray(v.sources) && Array.isArray(v.providers);
}
