import type { ProviderDefinition } from '@calseta/schema';

/**
 * How a builtin provider's `auth.*` template variables resolve. `ProviderDefinitionSchema` has no auth
 * fields (core keeps credentials on the provider row), so this rides next to the definition the
 * composition root hands core (first-party: `@calseta/integrations`). Defined here, the contract package, because core and
 * `@calseta/integrations` never import each other.
 */
export interface BuiltinAuthSpec {
  /** Reference `auth_type` of the provider row. */
  type: 'api_key' | 'api_token' | 'oauth2_client_credentials';
  /** Environment variable → `auth.<key>` (reference §4.9 `env_var_mapping`, plus optional `*_BASE_URL` overrides). */
  env_var_mapping: Readonly<Record<string, string>>;
  /**
   * Values used when neither the stored auth config nor the environment gives the key. `{key}` inside a
   * default is replaced by that auth key (e.g. Okta `base_url: 'https://{domain}'`); a default whose
   * references are missing is not applied.
   */
  defaults: Readonly<Record<string, string>>;
  /** Keys that must be present for the provider to count as configured. */
  required: readonly string[];
}

/** A builtin enrichment provider: seeded as an `is_builtin` row, its steps refreshed on upgrade. */
export interface BuiltinProvider {
  definition: ProviderDefinition;
  auth: BuiltinAuthSpec;
}
