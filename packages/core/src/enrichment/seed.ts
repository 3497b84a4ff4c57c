import type { Db } from '@calseta/db';
import { sql } from 'kysely';
import type { BuiltinProvider } from '../infra/enrichment/builtin-auth.js';
import { newUuid } from '../infra/ids.js';

/** Default whole-call budget of a seeded builtin (its steps have their own timeouts). */
const BUILTIN_TIMEOUT_MS = 30_000;

/**
 * Seed the builtin providers the composition root handed core (`Integrations.builtinProviders`) and
 * their system field extractions (idempotent: existing rows, which an admin may have changed, are never
 * modified). Returns how many rows were inserted.
 */
export async function seedBuiltinProviders(
  db: Db,
  builtinProviderSpecs: readonly BuiltinProvider[],
): Promise<{ providers: number; extractions: number }> {
  if (builtinProviderSpecs.length === 0) return { providers: 0, extractions: 0 };
  const providers = await db
    .insertInto('enrichment_providers')
    .values(
      builtinProviderSpecs.map(({ definition: d, auth }) => ({
        uuid: newUuid(),
        provider_name: d.provider_name,
        display_name: d.display_name,
        description: `${d.display_name} (builtin)`,
        is_builtin: true,
        is_active: true,
        supported_indicator_types: [...d.supported_indicator_types],
        http_config: JSON.stringify(d.http_config),
        auth_type: auth.type,
        auth_config: null,
        // Stored as the reference shows it: auth key → environment variable.
        env_var_mapping: JSON.stringify(
          Object.fromEntries(Object.entries(auth.env_var_mapping).map(([envVar, key]) => [key, envVar])),
        ),
        default_cache_ttl_seconds: d.default_cache_ttl_seconds ?? 3600,
        cache_ttl_by_type: JSON.stringify(d.cache_ttl_by_type),
        malice_rules: d.malice_rules === null ? null : JSON.stringify(d.malice_rules),
        timeout_ms: d.timeout_ms ?? BUILTIN_TIMEOUT_MS,
        negative_cache_ttl_seconds: d.negative_cache_ttl_seconds,
      })),
    )
    .onConflict((oc) => oc.column('provider_name').doNothing())
    .returning('id')
    .execute();
  // A builtin's steps are Calseta's (admins cannot patch them): an upgrade brings the shipped ones
  // (e.g. the MFA-factor steps of Okta and Entra) to existing rows.
  for (const { definition: d } of builtinProviderSpecs) {
    await db
      .updateTable('enrichment_providers')
      .set({ http_config: JSON.stringify(d.http_config) })
      .where('provider_name', '=', d.provider_name)
      .where('is_builtin', '=', true)
      .where(sql<boolean>`http_config IS DISTINCT FROM ${JSON.stringify(d.http_config)}::jsonb`)
      .execute();
  }
  const rows = builtinProviderSpecs.flatMap(({ definition: d }) =>
    d.field_extractions.map((e) => ({
      uuid: newUuid(),
      provider_name: d.provider_name,
      indicator_type: e.indicator_type,
      source_path: e.source_path,
      target_key: e.target_key,
      value_type: e.value_type,
      is_system: true,
      is_active: e.is_active,
      description: `System extraction: ${d.display_name} ${e.indicator_type} ${e.target_key}`,
    })),
  );
  const extractions = await db
    .insertInto('enrichment_field_extractions')
    .values(rows)
    .onConflict((oc) => oc.columns(['provider_name', 'indicator_type', 'source_path']).doNothing())
    .returning('id')
    .execute();
  return { providers: providers.length, extractions: extractions.length };
}
