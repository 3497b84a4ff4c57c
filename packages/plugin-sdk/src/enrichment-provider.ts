import { type ProviderImport, type ProviderImportInput, ProviderImportSchema } from '@calseta/schema';
import { checkHttpConfig } from './provider/check.js';

/**
 * An enrichment provider as a plugin ships it: data, not code — the provider (HTTP steps with
 * `{{template}}` placeholders, malice rules, cache TTLs, rate limits) and its field extractions, in the
 * shape of `POST /v1/enrichment-providers/import`. Credentials are never part of it: they come from
 * the environment (`env_var_mapping` → `CALSETA_PROVIDER_*`) or are stored encrypted by an admin.
 */
export type EnrichmentProviderPlugin = ProviderImport;
export type EnrichmentProviderPluginInput = ProviderImportInput;

/**
 * Declare an enrichment provider. Parses it with the import schema (defaults applied), checks its
 * templates (known variables and filters, step references in order) and refuses embedded
 * credentials. Throws a `TypeError` listing every problem, at definition time.
 */
export function defineEnrichmentProvider(input: EnrichmentProviderPluginInput): EnrichmentProviderPlugin {
  const parsed = ProviderImportSchema.safeParse(input);
  const label = typeof input?.provider?.provider_name === 'string' ? input.provider.provider_name : '(unnamed)';
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new TypeError(`Enrichment provider "${label}" is invalid:\n  ${problems.join('\n  ')}`);
  }
  const problems = checkHttpConfig(parsed.data.provider.http_config).map((p) => `http_config.${p}`);
  if (parsed.data.provider.auth_config !== null) {
    problems.push('provider.auth_config: credentials must not ship with a plugin (use env_var_mapping)');
  }
  if (problems.length > 0) {
    throw new TypeError(`Enrichment provider "${label}" is invalid:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}
