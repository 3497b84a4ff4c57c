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
 * the provider row), so this rides next to the definition and core's `auth` resolver applies it with
 * `resolveBuiltinAuth`.
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

const REF_RE = /\{([A-Za-z0-9_]+)\}/g;

/**
 * The `auth` record of a builtin provider: stored auth config (DB, decrypted) wins, then the
 * environment per `env_var_mapping`, then `defaults`. Empty strings count as absent. Pure: the caller
 * passes the environment.
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
