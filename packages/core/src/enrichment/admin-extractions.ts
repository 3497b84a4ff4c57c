import type { Db } from '@calseta/db';
import {
  type Extraction,
  ExtractionBulkCreateSchema,
  type ExtractionCreate,
  type ExtractionCreateInput,
  ExtractionCreateSchema,
  type ExtractionUpdate,
  ExtractionUpdateSchema,
  type PageQuery,
} from '@calseta/schema';
import { sql } from 'kysely';
import { authorize } from '../auth/permissions.js';
import { activityRow } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { PROVIDERS_CHANNEL } from '../infra/enrichment/registry.js';
import { notFound, ServiceError, validationError } from '../infra/errors.js';
import { newUuid } from '../infra/ids.js';
import { iso, paginate } from '../infra/serialize.js';

// Helpers shared with the provider verbs (admin-providers.ts) come first.

/**
 * After a provider or extraction write commits: reload here and, via NOTIFY, in every other process.
 * `staleResults`: providers whose cached answers were computed under the old config (steps, rules,
 * extractions) and must be fetched again.
 */
export async function providersChanged(ctx: ServiceContext, staleResults: readonly string[] = []): Promise<void> {
  if (staleResults.length > 0) {
    await ctx.db
      .deleteFrom('enrichment_cache')
      .where('provider_name', 'in', [...staleResults])
      .execute();
  }
  ctx.enrichment.registry.invalidate();
  await sql`SELECT pg_notify(${PROVIDERS_CHANNEL}, '')`.execute(ctx.db);
}

/** A Postgres unique violation of `constraint`: a concurrent write won the race a pre-check lost. */
export function isUniqueViolation(error: unknown, constraint: string): boolean {
  const e = error as { code?: unknown; constraint?: unknown } | null;
  return e?.code === '23505' && e.constraint === constraint;
}

/** Keys a patch sets (not undefined) that are outside `allowed`. */
export function fieldsOutside(patch: object, allowed: readonly string[]): string[] {
  return Object.entries(patch)
    .filter(([key, value]) => value !== undefined && !allowed.includes(key))
    .map(([key]) => key);
}

/** Keys a patch sets, for activity references (never the values: they may be credentials). */
export function changedFields(patch: object): string[] {
  return fieldsOutside(patch, []);
}

// ---------------------------------------------------------------- extractions

const UNIQUE_EXTRACTION = 'uq_enrichment_extraction_provider_type_path';

const COLUMNS = [
  'id',
  'uuid',
  'provider_name',
  'indicator_type',
  'source_path',
  'target_key',
  'value_type',
  'is_system',
  'is_active',
  'description',
  'created_at',
  'updated_at',
] as const;

interface ExtractionRow {
  id: number;
  uuid: string;
  provider_name: string;
  indicator_type: string;
  source_path: string;
  target_key: string;
  value_type: string;
  is_system: boolean;
  is_active: boolean;
  description: string | null;
  created_at: Date;
  updated_at: Date;
}

export function toExtraction({ id: _id, ...row }: ExtractionRow): Extraction {
  return {
    ...row,
    indicator_type: row.indicator_type as Extraction['indicator_type'],
    value_type: row.value_type as Extraction['value_type'],
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

type ExtractionKey = Pick<ExtractionRow, 'provider_name' | 'indicator_type' | 'source_path'>;

const keyOf = (k: ExtractionKey) => `${k.provider_name}\u0000${k.indicator_type}\u0000${k.source_path}`;

function duplicateExtraction(key: ExtractionKey, details: Record<string, unknown>): ServiceError {
  return new ServiceError(
    'CONFLICT',
    `Duplicate field extraction: provider "${key.provider_name}" already has one for ${key.indicator_type} at "${key.source_path}".`,
    details,
  );
}

/** 409 when any key already has a row (other than `exceptId`): one (provider, type, path) per extraction. */
async function rejectExisting(trx: Db, keys: readonly ExtractionKey[], exceptId?: number): Promise<void> {
  let query = trx
    .selectFrom('enrichment_field_extractions')
    .select(['uuid', 'provider_name', 'indicator_type', 'source_path'])
    .where((eb) =>
      eb.or(
        keys.map((k) =>
          eb.and([
            eb('provider_name', '=', k.provider_name),
            eb('indicator_type', '=', k.indicator_type),
            eb('source_path', '=', k.source_path),
          ]),
        ),
      ),
    );
  if (exceptId !== undefined) query = query.where('id', '!=', exceptId);
  const existing = await query.limit(1).executeTakeFirst();
  if (existing) throw duplicateExtraction(existing, { existing_uuid: existing.uuid });
}

/**
 * Each (provider, type) must name an existing provider that supports the type: an extraction for a
 * type the provider never enriches would silently never apply. `at(i)` prefixes error paths.
 */
async function checkProviders(
  trx: Db,
  items: ReadonlyArray<Pick<ExtractionRow, 'provider_name' | 'indicator_type'>>,
  at: (index: number) => string,
): Promise<void> {
  const names = [...new Set(items.map((i) => i.provider_name))];
  const providers = await trx
    .selectFrom('enrichment_providers')
    .select(['provider_name', 'supported_indicator_types'])
    .where('provider_name', 'in', names)
    .execute();
  const supported = new Map(providers.map((p) => [p.provider_name, p.supported_indicator_types]));
  const errors: Array<{ path: string; message: string }> = [];
  items.forEach((item, index) => {
    const types = supported.get(item.provider_name);
    if (types === undefined) {
      throw new ServiceError('PROVIDER_NOT_FOUND', `No enrichment provider named "${item.provider_name}".`, {
        provider_name: item.provider_name,
        path: `${at(index)}provider_name`,
      });
    }
    if (!types.includes(item.indicator_type)) {
      errors.push({
        path: `${at(index)}indicator_type`,
        message: `provider "${item.provider_name}" supports ${types.join(', ')}, not ${item.indicator_type}`,
      });
    }
  });
  if (errors.length > 0) throw validationError('Invalid field extraction.', errors);
}

/**
 * Insert extractions inside the caller's transaction (create, bulk, community import), all or
 * nothing, recording one activity event. Rows created here are never system rows.
 */
export async function insertExtractions(
  ctx: ServiceContext,
  trx: Db,
  items: readonly ExtractionCreate[],
  at: (index: number) => string,
): Promise<Extraction[]> {
  await checkProviders(trx, items, at);
  const seen = new Map<string, number>();
  items.forEach((item, index) => {
    const first = seen.get(keyOf(item));
    if (first !== undefined) throw duplicateExtraction(item, { paths: [at(first), at(index)] });
    seen.set(keyOf(item), index);
  });
  await rejectExisting(trx, items);
  let rows: ExtractionRow[];
  try {
    rows = await trx
      .insertInto('enrichment_field_extractions')
      .values(items.map((item) => ({ uuid: newUuid(), ...item, is_system: false })))
      .returning(COLUMNS)
      .execute();
  } catch (error) {
    if (isUniqueViolation(error, UNIQUE_EXTRACTION)) throw duplicateExtraction(items[0] as ExtractionKey, {});
    throw error;
  }
  await trx
    .insertInto('activity_events')
    .values(
      activityRow(ctx, {
        type: 'enrichment_extraction_created',
        references: {
          extractions: rows.map((r) => ({
            extraction_uuid: r.uuid,
            provider_name: r.provider_name,
            indicator_type: r.indicator_type,
            source_path: r.source_path,
            target_key: r.target_key,
          })),
        },
      }),
    )
    .execute();
  return rows.map(toExtraction);
}

export async function listFieldExtractions(
  ctx: ServiceContext,
  query: PageQuery & { provider_name?: string; indicator_type?: string; is_system?: boolean; is_active?: boolean },
) {
  authorize(ctx, 'enrichments:read');
  let base = ctx.db.selectFrom('enrichment_field_extractions');
  if (query.provider_name !== undefined) base = base.where('provider_name', '=', query.provider_name);
  if (query.indicator_type !== undefined) base = base.where('indicator_type', '=', query.indicator_type);
  if (query.is_system !== undefined) base = base.where('is_system', '=', query.is_system);
  if (query.is_active !== undefined) base = base.where('is_active', '=', query.is_active);
  return paginate(
    base,
    query,
    (q) => q.select(COLUMNS).orderBy('created_at', 'asc').orderBy('id', 'asc'),
    toExtraction,
  );
}

export async function getFieldExtraction(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<Extraction> {
  authorize(ctx, 'enrichments:read');
  const row = await ctx.db
    .selectFrom('enrichment_field_extractions')
    .select(COLUMNS)
    .where('uuid', '=', uuid)
    .executeTakeFirst();
  if (!row) throw notFound('Field extraction');
  return toExtraction(row);
}

export async function createFieldExtraction(ctx: ServiceContext, input: ExtractionCreateInput): Promise<Extraction> {
  authorize(ctx, 'enrichment_providers:manage');
  const data = ExtractionCreateSchema.parse(input);
  const [created] = await ctx.db.transaction().execute((trx) => insertExtractions(ctx, trx, [data], () => ''));
  await providersChanged(ctx, [data.provider_name]);
  return created as Extraction;
}

export async function createFieldExtractions(
  ctx: ServiceContext,
  input: { extractions: ExtractionCreateInput[] },
): Promise<Extraction[]> {
  authorize(ctx, 'enrichment_providers:manage');
  const { extractions } = ExtractionBulkCreateSchema.parse(input);
  const created = await ctx.db
    .transaction()
    .execute((trx) => insertExtractions(ctx, trx, extractions, (i) => `extractions.${i}.`));
  await providersChanged(ctx, [...new Set(created.map((e) => e.provider_name))]);
  return created;
}

/** Fields a system extraction's patch may carry: its mapping is maintained by the seed. */
const SYSTEM_PATCHABLE = ['is_active'];

export async function updateFieldExtraction(
  ctx: ServiceContext,
  { uuid, patch: input }: { uuid: string; patch: ExtractionUpdate },
): Promise<Extraction> {
  authorize(ctx, 'enrichment_providers:manage');
  const patch = ExtractionUpdateSchema.parse(input);
  const row = await ctx.db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('enrichment_field_extractions')
      .select(COLUMNS)
      .where('uuid', '=', uuid)
      .forUpdate()
      .executeTakeFirst();
    if (!current) throw notFound('Field extraction');
    const restricted = current.is_system ? fieldsOutside(patch, SYSTEM_PATCHABLE) : [];
    if (restricted.length > 0) {
      throw new ServiceError(
        'SYSTEM_EXTRACTION_RESTRICTED',
        'System field extractions can only be activated or deactivated.',
        { fields: restricted },
      );
    }
    const next = {
      provider_name: current.provider_name,
      indicator_type: patch.indicator_type ?? current.indicator_type,
      source_path: patch.source_path ?? current.source_path,
    };
    if (next.indicator_type !== current.indicator_type) await checkProviders(trx, [next], () => '');
    if (keyOf(next) !== keyOf(current)) await rejectExisting(trx, [next], current.id);
    let updated: ExtractionRow;
    try {
      updated = await trx
        .updateTable('enrichment_field_extractions')
        .set({ ...patch, updated_at: new Date() })
        .where('id', '=', current.id)
        .returning(COLUMNS)
        .executeTakeFirstOrThrow();
    } catch (error) {
      if (isUniqueViolation(error, UNIQUE_EXTRACTION)) throw duplicateExtraction(next, {});
      throw error;
    }
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, {
          type: 'enrichment_extraction_updated',
          references: { extraction_uuid: uuid, provider_name: current.provider_name, changes: patch },
        }),
      )
      .execute();
    return updated;
  });
  await providersChanged(ctx, [row.provider_name]);
  return toExtraction(row);
}

export async function deleteFieldExtraction(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<void> {
  authorize(ctx, 'enrichment_providers:manage');
  const provider = await ctx.db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('enrichment_field_extractions')
      .select(COLUMNS)
      .where('uuid', '=', uuid)
      .forUpdate()
      .executeTakeFirst();
    if (!current) throw notFound('Field extraction');
    if (current.is_system) {
      throw new ServiceError(
        'SYSTEM_EXTRACTION_RESTRICTED',
        'System field extractions cannot be deleted; deactivate them instead.',
      );
    }
    await trx.deleteFrom('enrichment_field_extractions').where('id', '=', current.id).execute();
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, {
          type: 'enrichment_extraction_deleted',
          references: {
            extraction_uuid: uuid,
            provider_name: current.provider_name,
            indicator_type: current.indicator_type,
            source_path: current.source_path,
          },
        }),
      )
      .execute();
    return current.provider_name;
  });
  await providersChanged(ctx, [provider]);
}
