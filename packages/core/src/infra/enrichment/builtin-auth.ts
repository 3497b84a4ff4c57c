import type { ProviderDefinition } from '@calseta/schema';

/**
 * How a builtin provider's `auth.*` template variables resolve. `ProviderDefinitionSchema` has no auth
 * fields (core keeps credentials on the provider row), so this rides next to the definition the
 * composition root hands core (first-party: `@calseta/integrations`).
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

const REF_RE = /\{([A-Za-z0-9_]+)\}/g;

/**
 * The `auth` record of a provider (only builtins have `defaults`): stored auth config (DB, decrypted)
 * wins, then the environment per `env_var_mapping`, then `defaults`. Empty strings count as absent.
 * Pure: the caller passes the environment.
 */
export function resolveBuiltinAuth(
  spec: BuiltinAuthSpec,
  sources: {
    stored?: Readonly<Record<string, string | undefined>>;
    env?: Readonly<Record<string, string | undefined>>;
  } = {},
): Record<string, string> {
  const auth: Record<string, string> = {};
  for (const [envVar, key] of Object.entries(spec.env_var_mapping)) {
    const value = sources.env?.[envVar];
    if (value !== undefined && value !== '') auth[key] = value;
  }
  for (const [key, value] of Object.entries(sources.stored ?? {})) {
    if (value !== undefined && value !== '') auth[key] = value;
  }
  for (const [key, template] of Object.entries(spec.defaults)) {
    if (auth[key] !== undefined) continue;
    let complete = true;
    const value = template.replace(REF_RE, (_, ref: string) => {
      const resolved = auth[ref];
      if (resolved === undefined) complete = false;
      return resolved ?? '';
    });
    if (complete) auth[key] = value;
  }
  return auth;
}

/** Required auth keys the resolved record lacks (empty: configured). */
export function missingBuiltinAuth(spec: BuiltinAuthSpec, auth: Readonly<Record<string, string>>): string[] {
  return spec.required.filter((key) => auth[key] === undefined || auth[key] === '');
}
