import type { BuiltinAuthSpec } from '@calseta/plugin-sdk';

export type { BuiltinAuthSpec, BuiltinProvider } from '@calseta/plugin-sdk';

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
