import type { Db } from '@calseta/db';
import { checkHttpConfig, stepUrlTemplate } from '@calseta/enrichment-engine';
import {
  BUILTIN_PATCHABLE_FIELDS,
  type Extraction,
  type HttpConfig,
  HttpConfigSchema,
  type PageQuery,
  type Provider,
  type ProviderCreate,
  type ProviderCreateInput,
  ProviderCreateSchema,
  type ProviderImportInput,
  type ProviderImportResult,
  ProviderImportSchema,
  type ProviderTestRequest,
  ProviderTestRequestSchema,
  type ProviderTestResult,
  type ProviderUpdate,
  type ProviderUpdateInput,
  ProviderUpdateSchema,
} from '@calseta/schema';
import { authorize } from '../auth/permissions.js';
import { activityRow } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { type ProviderRow, resolveProviderAuth, secretContext } from '../infra/enrichment/registry.js';
import { PROVIDER_ENV_PREFIX } from '../infra/enrichment/runtime.js';
import { notFound, ServiceError, validationError } from '../infra/errors.js';
import { newUuid } from '../infra/ids.js';
import { iso, paginate } from '../infra/serialize.js';
import {
  changedFields,
  fieldsOutside,
  insertExtractions,
  isUniqueViolation,
  providersChanged,
} from './admin-extractions.js';

const UNIQUE_NAME = 'uq_enrichment_provider_name';

/** Every column but `mock_responses`; `auth_config` is read only to tell whether credentials exist. */
const COLUMNS = [
  'id',
  'uuid',
  'provider_name',
  'display_name',
  'description',
  'is_builtin',
  'is_active',
  'supported_indicator_types',
  'http_config',
  'auth_type',
  'auth_config',
  'env_var_mapping',
  'default_cache_ttl_seconds',
  'cache_ttl_by_type',
  'negative_cache_ttl_seconds',
  'malice_rules',
  'rate_limit_per_minute',
  'rate_limit_per_day',
  'timeout_ms',
  'created_at',
  'updated_at',
] as const;

type Row = Pick<ProviderRow, (typeof COLUMNS)[number]>;

/** Built field by field (no spread of the row), so `auth_config` cannot leak into a response. */
async function toProvider(ctx: ServiceContext, row: Row): Promise<Provider> {
  const auth = resolveProviderAuth(
    row,
    ctx.secrets,
    ctx.config.enrichment?.providerEnv ?? {},
    ctx.integrations.builtinProviders,
  );
  const quota = await ctx.enrichment.quota(row.provider_name);
  return {
    uuid: row.uuid,
    provider_name: row.provider_name,
    display_name: row.display_name,
    description: row.description,
    is_builtin: row.is_builtin,
    is_active: row.is_active,
    supported_indicator_types: row.supported_indicator_types as Provider['supported_indicator_types'],
    http_config: row.http_config as Provider['http_config'],
    auth_type: row.auth_type,
    env_var_mapping: row.env_var_mapping as Provider['env_var_mapping'],
    default_cache_ttl_seconds: row.default_cache_ttl_seconds,
    cache_ttl_by_type: row.cache_ttl_by_type as Provider['cache_ttl_by_type'],
    negative_cache_ttl_seconds: row.negative_cache_ttl_seconds,
    malice_rules: row.malice_rules as Provider['malice_rules'],
    rate_limit_per_minute: row.rate_limit_per_minute,
    rate_limit_per_day: row.rate_limit_per_day,
    timeout_ms: row.timeout_ms,
    has_credentials: auth.hasCredentials,
    credential_source: auth.source,
    is_configured: row.is_active && auth.hasCredentials,
    quota: {
      minute_remaining: quota.minute_remaining,
      day_remaining: quota.day_remaining,
      paused_until: iso(quota.paused_until),
    },
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/**
 * What the schema cannot see: template syntax and step references, a URL for every supported type
 * in every step, and environment variables a custom provider may read (core hands providers only
 * `CALSETA_PROVIDER_*`, so any other name would silently resolve to nothing).
 */
function checkDefinition(def: {
  http_config?: HttpConfig | undefined;
  supported_indicator_types?: readonly string[] | undefined;
  env_var_mapping?: Record<string, string> | null | undefined;
}): void {
  const errors: Array<{ path: string; message: string }> = [];
  const config = def.http_config;
  if (config !== undefined) {
    for (const problem of checkHttpConfig(config)) {
      // "steps[1] (name) headers.x-key: …" → path http_config.steps.1.headers.x-key
      const match = /^steps\[(\d+)\] \([^)]*\) ([^:]+): /.exec(problem);
      errors.push({
        path: match ? `http_config.steps.${match[1]}.${match[2]}` : 'http_config',
        message: match ? problem.slice(match[0].length) : problem,
      });
    }
    for (const type of def.supported_indicator_types ?? []) {
      config.steps.forEach((step, index) => {
        if (stepUrlTemplate(config, index, type) === undefined) {
          errors.push({
            path: `http_config.steps.${index}.url`,
            message: `step '${step.name ?? `step_${index}`}' has no URL for supported type '${type}'`,
          });
        }
      });
    }
  }
  for (const [key, envVar] of Object.entries(def.env_var_mapping ?? {})) {
    if (!envVar.startsWith(PROVIDER_ENV_PREFIX)) {
      errors.push({
        path: `env_var_mapping.${key}`,
        message: `only ${PROVIDER_ENV_PREFIX}* environment variables are available to providers`,
      });
    }
  }
  if (errors.length > 0) throw validationError('Invalid enrichment provider.', errors);
}

/** The encrypted column value; credentials are never stored in plaintext (no key → refuse). */
function sealAuth(ctx: ServiceContext, providerName: string, authConfig: Record<string, string> | null): string | null {
  if (authConfig === null || Object.keys(authConfig).length === 0) return null;
  if (ctx.secrets === null) {
    throw new ServiceError(
      'ENCRYPTION_NOT_CONFIGURED',
      `Storing credentials needs ENCRYPTION_KEY. Set it, or map the credentials to ${PROVIDER_ENV_PREFIX}* environment variables with env_var_mapping.`,
    );
  }
  return JSON.stringify(ctx.secrets.seal(authConfig, secretContext(providerName)));
}

const JSON_COLUMNS: ReadonlySet<string> = new Set([
  'http_config',
  'env_var_mapping',
  'cache_ttl_by_type',
  'malice_rules',
]);

/** Column values for the fields set in a create body or patch (jsonb as JSON text, credentials sealed). */
function columnValues(ctx: ServiceContext, providerName: string, fields: Partial<ProviderCreate> | ProviderUpdate) {
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || key === 'provider_name') continue;
    if (key === 'auth_config') values[key] = sealAuth(ctx, providerName, value as Record<string, string> | null);
    else if (key === 'supported_indicator_types') values[key] = [...new Set(value as string[])];
    else if (JSON_COLUMNS.has(key)) values[key] = value === null ? null : JSON.stringify(value);
    else values[key] = value;
  }
  return values;
}

function duplicateProvider(name: string, existingUuid?: string): ServiceError {
  return new ServiceError('CONFLICT', `Duplicate provider: an enrichment provider named "${name}" already exists.`, {
    provider_name: name,
    ...(existingUuid === undefined ? {} : { existing_uuid: existingUuid }),
  });
}

/** Insert a custom provider inside the caller's transaction (create and community import). */
async function insertProvider(ctx: ServiceContext, trx: Db, data: ProviderCreate): Promise<Row> {
  const existing = await trx
    .selectFrom('enrichment_providers')
    .select('uuid')
    .where('provider_name', '=', data.provider_name)
    .executeTakeFirst();
  if (existing) throw duplicateProvider(data.provider_name, existing.uuid);
  try {
    return await trx
      .insertInto('enrichment_providers')
      .values({
        ...(columnValues(ctx, data.provider_name, data) as Omit<ProviderRow, 'id' | 'provider_name'>),
        uuid: newUuid(),
        provider_name: data.provider_name,
        is_builtin: false,
        is_active: true,
        mock_responses: null,
      })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
  } catch (error) {
    if (isUniqueViolation(error, UNIQUE_NAME)) throw duplicateProvider(data.provider_name);
    throw error;
  }
}

function providerActivity(
  ctx: ServiceContext,
  type: 'enrichment_provider_created' | 'enrichment_provider_updated' | 'enrichment_provider_deleted',
  row: Pick<Row, 'uuid' | 'provider_name'>,
  references: Record<string, unknown> = {},
) {
  return activityRow(ctx, {
    type,
    references: { provider_uuid: row.uuid, provider_name: row.provider_name, ...references },
  });
}

export async function listEnrichmentProviders(
  ctx: ServiceContext,
  query: PageQuery & { is_active?: boolean; is_builtin?: boolean },
) {
  authorize(ctx, 'enrichments:read');
  let base = ctx.db.selectFrom('enrichment_providers');
  if (query.is_active !== undefined) base = base.where('is_active', '=', query.is_active);
  if (query.is_builtin !== undefined) base = base.where('is_builtin', '=', query.is_builtin);
  const page = await paginate(
    base,
    query,
    (q) => q.select(COLUMNS).orderBy('created_at', 'asc').orderBy('id', 'asc'),
    (row) => toProvider(ctx, row),
  );
  return { ...page, items: await Promise.all(page.items) };
}

async function findProvider(db: Db, uuid: string, lock = false): Promise<Row> {
  let query = db.selectFrom('enrichment_providers').select(COLUMNS).where('uuid', '=', uuid);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw notFound('Enrichment provider');
  return row;
}

export async function getEnrichmentProvider(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<Provider> {
  authorize(ctx, 'enrichments:read');
  return toProvider(ctx, await findProvider(ctx.db, uuid));
}

export async function createEnrichmentProvider(ctx: ServiceContext, input: ProviderCreateInput): Promise<Provider> {
  authorize(ctx, 'enrichment_providers:manage');
  const data = ProviderCreateSchema.parse(input);
  checkDefinition(data);
  const row = await ctx.db.transaction().execute(async (trx) => {
    const created = await insertProvider(ctx, trx, data);
    await trx
      .insertInto('activity_events')
      .values(providerActivity(ctx, 'enrichment_provider_created', created))
      .execute();
    return created;
  });
  await providersChanged(ctx);
  return toProvider(ctx, row);
}

export async function updateEnrichmentProvider(
  ctx: ServiceContext,
  { uuid, patch: input }: { uuid: string; patch: ProviderUpdateInput },
): Promise<Provider> {
  authorize(ctx, 'enrichment_providers:manage');
  const patch = ProviderUpdateSchema.parse(input);
  const row = await ctx.db.transaction().execute(async (trx) => {
    const current = await findProvider(trx, uuid, true);
    if (current.is_builtin) {
      const restricted = fieldsOutside(patch, BUILTIN_PATCHABLE_FIELDS);
      if (restricted.length > 0) {
        throw new ServiceError(
          'BUILTIN_RESTRICTED',
          `Builtin providers only allow changes to ${BUILTIN_PATCHABLE_FIELDS.join(', ')}.`,
          { fields: restricted },
        );
      }
    } else if (patch.http_config !== undefined || patch.supported_indicator_types !== undefined) {
      // The new config must cover the (possibly new) types and vice versa.
      checkDefinition({
        http_config: patch.http_config ?? HttpConfigSchema.parse(current.http_config),
        supported_indicator_types: patch.supported_indicator_types ?? current.supported_indicator_types,
        env_var_mapping: patch.env_var_mapping,
      });
    } else {
      checkDefinition({ env_var_mapping: patch.env_var_mapping });
    }
    const updated = await trx
      .updateTable('enrichment_providers')
      .set({ ...columnValues(ctx, current.provider_name, patch), updated_at: new Date() })
      .where('id', '=', current.id)
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('activity_events')
      .values(providerActivity(ctx, 'enrichment_provider_updated', current, { fields: changedFields(patch) }))
      .execute();
    return updated;
  });
  // What a provider answered depends on its steps, types and rules: those answers are stale now.
  const reshaped = ['http_config', 'supported_indicator_types', 'malice_rules'].some(
    (field) => (patch as Record<string, unknown>)[field] !== undefined,
  );
  await providersChanged(ctx, reshaped ? [row.provider_name] : []);
  return toProvider(ctx, row);
}

export function setEnrichmentProviderActive(
  ctx: ServiceContext,
  { uuid, active }: { uuid: string; active: boolean },
): Promise<Provider> {
  return updateEnrichmentProvider(ctx, { uuid, patch: { is_active: active } });
}

export async function deleteEnrichmentProvider(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<void> {
  authorize(ctx, 'enrichment_providers:manage');
  await ctx.db.transaction().execute(async (trx) => {
    const current = await findProvider(trx, uuid, true);
    if (current.is_builtin) {
      throw new ServiceError('BUILTIN_RESTRICTED', 'Builtin providers cannot be deleted; use deactivate instead.', {
        fields: [],
      });
    }
    const name = current.provider_name;
    const extractions = await trx
      .deleteFrom('enrichment_field_extractions')
      .where('provider_name', '=', name)
      .where('is_system', '=', false)
      .returning('uuid')
      .execute();
    // A later provider of the same name must not be served this one's cached results.
    await trx.deleteFrom('enrichment_cache').where('provider_name', '=', name).execute();
    await trx.deleteFrom('enrichment_providers').where('id', '=', current.id).execute();
    await trx
      .insertInto('activity_events')
      .values(
        providerActivity(ctx, 'enrichment_provider_deleted', current, { extractions_deleted: extractions.length }),
      )
      .execute();
  });
  await providersChanged(ctx);
}

/** A live debug run of an active provider: no cache, no rate governor, nothing stored. */
export async function testEnrichmentProvider(
  ctx: ServiceContext,
  { uuid, input }: { uuid: string; input: ProviderTestRequest },
): Promise<ProviderTestResult> {
  authorize(ctx, 'enrichment_providers:manage');
  const request = ProviderTestRequestSchema.parse(input);
  const row = await findProvider(ctx.db, uuid);
  const loaded = row.is_active ? await ctx.enrichment.registry.byName(row.provider_name) : undefined;
  if (loaded === undefined) {
    throw new ServiceError(
      'PROVIDER_NOT_LOADED',
      row.is_active
        ? `Provider "${row.provider_name}" could not be loaded: its stored definition is invalid (see the server log).`
        : `Provider "${row.provider_name}" is not active; activate it to test it.`,
    );
  }
  const run = await ctx.enrichment.test(loaded, { type: request.indicator_type, value: request.indicator_value });
  return {
    provider_name: row.provider_name,
    indicator_type: request.indicator_type,
    indicator_value: request.indicator_value,
    success: run.result.status === 'success' || run.result.status === 'not_found',
    result: run.result,
    steps: run.steps,
  };
}

/** A community provider file: the provider and its extractions, created together or not at all. */
export async function importEnrichmentProvider(
  ctx: ServiceContext,
  input: ProviderImportInput,
): Promise<ProviderImportResult> {
  authorize(ctx, 'enrichment_providers:manage');
  const data = ProviderImportSchema.parse(input);
  checkDefinition(data.provider);
  const name = data.provider.provider_name;
  const foreign = data.field_extractions.flatMap((e, i) =>
    e.provider_name !== undefined && e.provider_name !== name
      ? [{ path: `field_extractions.${i}.provider_name`, message: `must be "${name}" (or omitted)` }]
      : [],
  );
  if (foreign.length > 0) throw validationError('Invalid provider import.', foreign);
  const { row, extractions } = await ctx.db.transaction().execute(async (trx) => {
    const created = await insertProvider(ctx, trx, data.provider);
    await trx
      .insertInto('activity_events')
      .values(providerActivity(ctx, 'enrichment_provider_created', created, { imported: true }))
      .execute();
    const items = data.field_extractions.map((e) => ({ ...e, provider_name: name }));
    const inserted: Extraction[] =
      items.length === 0 ? [] : await insertExtractions(ctx, trx, items, (i) => `field_extractions.${i}.`);
    return { row: created, extractions: inserted };
  });
  await providersChanged(ctx);
  return { provider: await toProvider(ctx, row), field_extractions: extractions };
}
