import type {
  ExtractionValueType,
  FieldExtractionInput,
  IndicatorType,
  MaliceRulesInput,
  ProviderDefinition,
} from '@calseta/schema';

/**
 * What a builtin enrichment provider needs besides its `ProviderDefinition`: how core resolves its
 * `auth.*` template variables. `ProviderDefinitionSchema` has no auth fields (core keeps credentials on
 * the provider row), so this rides next to the definition and core's auth resolver applies it (stored
 * config wins over the environment, the environment over `defaults`).
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

export interface BuiltinProvider {
  definition: ProviderDefinition;
  auth: BuiltinAuthSpec;
}

/** One extraction row per indicator type (the engine applies a row only to its own type). */
export function extractionsFor(
  types: readonly IndicatorType[],
  rows: ReadonlyArray<readonly [target_key: string, source_path: string, value_type: ExtractionValueType]>,
): FieldExtractionInput[] {
  return types.flatMap((indicator_type) =>
    rows.map(([target_key, source_path, value_type]) => ({ indicator_type, source_path, target_key, value_type })),
  );
}

/**
 * Identity providers give context, not a verdict: a found account is `Context` (described, not
 * judged), an unknown one `Unknown`. The reference left both `Pending`, which then never changed.
 */
export const NO_VERDICT: MaliceRulesInput = { rules: [], default_verdict: 'Context', not_found_verdict: 'Unknown' };
