import type { Db, EnrichmentProvidersTable } from '@calseta/db';
import { requiredAuthKeys } from '@calseta/enrichment-engine';
import {
  type FieldExtractionInput,
  type IndicatorType,
  type ProviderDefinition,
  ProviderDefinitionSchema,
} from '@calseta/schema';
import type { Selectable } from 'kysely';
import type { Logger } from '../logger.js';
import type { Notifications } from '../notifications.js';
import { isSealed, type SecretBox } from '../secrets/box.js';
import { type BuiltinProvider, resolveBuiltinAuth } from './builtin-auth.js';
import type { ProviderRateLimits } from './pg-rate.js';

/** Notified (after commit) when a provider or field extraction changes, so every process reloads. */
export const PROVIDERS_CHANNEL = 'calseta_providers';
/** Without a live listener a process re-reads the providers at least this often. */
const TTL_MS = 5_000;
/** With one, changes arrive by notification; this only bounds the damage of a missed one. */
const LISTENING_TTL_MS = 60_000;

export type ProviderRow = Selectable<EnrichmentProvidersTable>;
export type ExtractionRow = {
  provider_name: string;
  indicator_type: string;
  source_path: string;
  target_key: string;
  value_type: string;
};

/** What auth a provider's row resolves to at run time, without ever exposing the values. */
export interface ResolvedAuth {
  auth: Record<string, string>;
  /** Every auth key its templates need (for any supported type) is present. */
  hasCredentials: boolean;
  /** Where the values came from; `mock`: the built-in mock providers (demo data), no real credential. */
  source: 'stored' | 'env' | 'mock' | 'none' | 'not_needed';
  /** The stored secret could not be decrypted (wrong or missing ENCRYPTION_KEY). */
  decryptError: string | null;
}

export interface LoadedProvider {
  id: number;
  uuid: string;
  isBuiltin: boolean;
  definition: ProviderDefinition;
  auth: ResolvedAuth;
  limits: ProviderRateLimits;
}

/**
 * Names the environment variables that point the builtins at the mock providers (comma-separated;
 * set by `mockProviderEnv`). A provider resolved from them is mocked; any real credential of its own,
 * stored or in the environment, wins and ignores them all (the base URL too).
 */
export const MOCK_ENV_VAR = 'CALSETA_MOCK_ENV';

export function secretContext(providerName: string): string {
  return `enrichment_provider:${providerName}`;
}

/** The provider row as the engine's definition; extractions of the provider (the engine applies each only to its type). */
export function providerDefinition(row: ProviderRow, extractions: readonly ExtractionRow[]): ProviderDefinition {
  return ProviderDefinitionSchema.parse({
    provider_name: row.provider_name,
    display_name: row.display_name,
    supported_indicator_types: row.supported_indicator_types,
    http_config: row.http_config,
    malice_rules: row.malice_rules ?? null,
    field_extractions: extractions.map(
      (e): FieldExtractionInput => ({
        indicator_type: e.indicator_type as IndicatorType,
        source_path: e.source_path,
        target_key: e.target_key,
        value_type: e.value_type as FieldExtractionInput['value_type'],
      }),
    ),
    cache_ttl_by_type: row.cache_ttl_by_type ?? {},
    default_cache_ttl_seconds: row.default_cache_ttl_seconds,
    negative_cache_ttl_seconds: row.negative_cache_ttl_seconds,
    timeout_ms: row.timeout_ms,
  });
}

/**
 * A provider's `auth.*` values: the decrypted stored auth config wins, then environment variables per
 * `env_var_mapping` (`{auth_key: ENV_VAR}`), then a builtin's defaults (e.g. its public base URL).
 */
export function resolveProviderAuth(
  row: Pick<
    ProviderRow,
    'provider_name' | 'auth_config' | 'env_var_mapping' | 'http_config' | 'supported_indicator_types'
  >,
  secrets: SecretBox | null,
  env: Readonly<Record<string, string | undefined>>,
  /** The composition root's builtin providers: a builtin's `defaults` (e.g. its public base URL) apply. */
  builtins: readonly BuiltinProvider[],
): ResolvedAuth {
  const mockNames = new Set((env[MOCK_ENV_VAR] ?? '').split(',').filter((n) => n !== ''));
  if (mockNames.size === 0) return resolveFrom(row, secrets, env, builtins);
  const realEnv = Object.fromEntries(Object.entries(env).filter(([name]) => !mockNames.has(name)));
  const real = resolveFrom(row, secrets, realEnv, builtins);
  if (real.source !== 'none' || real.decryptError !== null) return real;
  const mapping = Object.values((row.env_var_mapping ?? {}) as Record<string, string>);
  if (!mapping.some((name) => mockNames.has(name))) return real;
  const mock = resolveFrom(row, secrets, env, builtins);
  return mock.hasCredentials ? { ...mock, source: 'mock' } : real;
}

function resolveFrom(
  row: Parameters<typeof resolveProviderAuth>[0],
  secrets: SecretBox | null,
  env: Readonly<Record<string, string | undefined>>,
  builtins: readonly BuiltinProvider[],
): ResolvedAuth {
  let stored: Record<string, string> = {};
  let decryptError: string | null = null;
  if (isSealed(row.auth_config)) {
    if (secrets === null) decryptError = 'ENCRYPTION_KEY is not set';
    else {
      try {
        const value = secrets.open(row.auth_config, secretContext(row.provider_name));
        if (typeof value === 'object' && value !== null) {
          stored = Object.fromEntries(
            Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'),
          );
        }
      } catch (error) {
        decryptError = error instanceof Error ? error.message : String(error);
      }
    }
  }
  const mapping = (row.env_var_mapping ?? {}) as Record<string, string>;
  const builtin = builtins.find((p) => p.definition.provider_name === row.provider_name);
  const auth = resolveBuiltinAuth(
    {
      type: builtin?.auth.type ?? 'api_key',
      env_var_mapping: Object.fromEntries(Object.entries(mapping).map(([key, envVar]) => [envVar, key])),
      defaults: builtin?.auth.defaults ?? {},
      required: [],
    },
    { stored, env },
  );
  const config = row.http_config as ProviderDefinition['http_config'];
  const needed = new Set(
    (row.supported_indicator_types as IndicatorType[]).flatMap((type) => {
      try {
        return requiredAuthKeys(config, type);
      } catch {
        return [];
      }
    }),
  );
  const hasCredentials = [...needed].every((key) => auth[key] !== undefined && auth[key] !== '');
  const fromEnv = Object.values(mapping).some((envVar) => (env[envVar] ?? '') !== '');
  const source =
    needed.size === 0 ? 'not_needed' : Object.keys(stored).length > 0 ? 'stored' : fromEnv ? 'env' : 'none';
  return { auth, hasCredentials, source, decryptError };
}

export interface ProviderRegistryOptions {
  db: Db;
  secrets: SecretBox | null;
  /** Environment variables the builtin `env_var_mapping`s read. */
  env: Readonly<Record<string, string | undefined>>;
  /** The builtin providers the composition root handed core (their auth defaults). */
  builtins: readonly BuiltinProvider[];
  logger: Logger;
  /** Called on every invalidation (e.g. to drop cached provider results held in memory). */
  onInvalidate?: () => void;
}

/**
 * The active providers with their extractions and resolved credentials, cached per process. Every
 * provider or extraction write notifies PROVIDERS_CHANNEL after commit, so every process (api,
 * worker, mcp) reloads on the next use; TTL_MS bounds staleness should a notification be lost.
 */
export class ProviderRegistry {
  private providers: LoadedProvider[] = [];
  private loadedAt = 0;
  private generation = 0;
  private loading: Promise<void> | undefined;
  private ttlMs = TTL_MS;

  constructor(private readonly options: ProviderRegistryOptions) {}

  /** Active providers in creation order. */
  async active(): Promise<readonly LoadedProvider[]> {
    while (Date.now() - this.loadedAt > this.ttlMs) {
      this.loading ??= this.load().finally(() => {
        this.loading = undefined;
      });
      await this.loading;
    }
    return this.providers;
  }

  async byName(name: string): Promise<LoadedProvider | undefined> {
    return (await this.active()).find((p) => p.definition.provider_name === name);
  }

  /** Rate limits by provider name, for the rate governor. */
  readonly limits = async (provider: string): Promise<ProviderRateLimits | undefined> =>
    (await this.byName(provider))?.limits;

  invalidate(): void {
    this.generation += 1;
    this.loadedAt = 0;
    this.options.onInvalidate?.();
  }

  async attach(notifications: Notifications): Promise<void> {
    notifications.onReconnect(() => this.invalidate());
    await notifications.listen(PROVIDERS_CHANNEL, () => this.invalidate());
    this.ttlMs = LISTENING_TTL_MS;
  }

  private async load(): Promise<void> {
    const { db, secrets, env, builtins, logger } = this.options;
    const generation = this.generation;
    const [rows, extractions] = await Promise.all([
      db.selectFrom('enrichment_providers').selectAll().where('is_active', '=', true).orderBy('id').execute(),
      db
        .selectFrom('enrichment_field_extractions')
        .select(['provider_name', 'indicator_type', 'source_path', 'target_key', 'value_type'])
        .where('is_active', '=', true)
        .orderBy('id')
        .execute(),
    ]);
    const loaded: LoadedProvider[] = [];
    for (const row of rows) {
      try {
        const auth = resolveProviderAuth(row, secrets, env, builtins);
        if (auth.decryptError !== null) {
          logger.warn({ provider: row.provider_name, reason: auth.decryptError }, 'provider credentials unreadable');
        }
        loaded.push({
          id: row.id,
          uuid: row.uuid,
          isBuiltin: row.is_builtin,
          definition: providerDefinition(
            row,
            extractions.filter((e) => e.provider_name === row.provider_name),
          ),
          auth,
          limits: { perMinute: row.rate_limit_per_minute, perDay: row.rate_limit_per_day },
        });
      } catch (error) {
        // A row that no longer parses (edited by hand) must not take every other provider down.
        logger.error({ err: error, provider: row.provider_name }, 'provider skipped: invalid definition');
      }
    }
    this.providers = loaded;
    // Invalidated while loading: what was read may be stale, so the next use loads again.
    if (generation === this.generation) this.loadedAt = Date.now();
  }
}
