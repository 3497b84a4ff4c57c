import type { Db } from '@calseta/db';
import { isIdentifierField } from '@calseta/plugin-sdk';
import {
  type IndicatorMapping,
  type IndicatorMappingCreate,
  IndicatorMappingCreateSchema,
  type IndicatorMappingUpdate,
  NORMALIZED_INDICATOR_FIELDS,
  type PageQuery,
  type TestExtractionResult,
} from '@calseta/schema';
import { sql } from 'kysely';
import { authorize } from '../auth/permissions.js';
import { activityRow } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound, ServiceError } from '../infra/errors.js';
import { newUuid } from '../infra/ids.js';
import { MAPPINGS_CHANNEL } from '../infra/mapping-rules.js';
import { iso, paginate } from '../infra/serialize.js';
import { extractIndicators } from '../ingest/extract.js';

const COLUMNS = [
  'uuid',
  'source_name',
  'field_path',
  'indicator_type',
  'extraction_target',
  'is_system',
  'is_active',
  'description',
  'created_at',
  'updated_at',
] as const;

type MappingRow = {
  uuid: string;
  source_name: string | null;
  field_path: string;
  indicator_type: string;
  extraction_target: string;
  is_system: boolean;
  is_active: boolean;
  description: string | null;
  created_at: Date;
  updated_at: Date;
};

function toMapping(row: MappingRow): IndicatorMapping {
  return {
    ...row,
    indicator_type: row.indicator_type as IndicatorMapping['indicator_type'],
    extraction_target: row.extraction_target as IndicatorMapping['extraction_target'],
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/** After a mapping write commits: reload here and, via NOTIFY, in every other process. */
async function mappingsChanged(ctx: ServiceContext): Promise<void> {
  ctx.mappingRules.invalidate();
  await sql`SELECT pg_notify(${MAPPINGS_CHANNEL}, '')`.execute(ctx.db);
}

/** A custom mapping identical to an existing one would only extract the same values twice. */
async function rejectDuplicate(
  trx: Db,
  m: { source_name: string | null; field_path: string; indicator_type: string; extraction_target: string },
  except?: number,
): Promise<void> {
  let query = trx
    .selectFrom('indicator_field_mappings')
    .select('uuid')
    .where('field_path', '=', m.field_path)
    .where('indicator_type', '=', m.indicator_type)
    .where('extraction_target', '=', m.extraction_target)
    .where((eb) => (m.source_name === null ? eb('source_name', 'is', null) : eb('source_name', '=', m.source_name)));
  if (except !== undefined) query = query.where('id', '!=', except);
  const existing = await query.executeTakeFirst();
  if (existing) {
    throw new ServiceError('CONFLICT', 'An identical indicator mapping already exists.', {
      existing_uuid: existing.uuid,
    });
  }
}

/** Seed the 14 system mappings from normalized fields (idempotent). */
export async function seedSystemMappings(db: Db): Promise<number> {
  const existing = await db
    .selectFrom('indicator_field_mappings')
    .select('field_path')
    .where('is_system', '=', true)
    .where('extraction_target', '=', 'normalized')
    .execute();
  const have = new Set(existing.map((r) => r.field_path));
  const missing = NORMALIZED_INDICATOR_FIELDS.filter(([field]) => !have.has(field));
  if (missing.length === 0) return 0;
  await db
    .insertInto('indicator_field_mappings')
    .values(
      missing.map(([field, type]) => ({
        uuid: newUuid(),
        source_name: null,
        field_path: field,
        indicator_type: type,
        extraction_target: 'normalized',
        is_system: true,
        is_active: true,
        description: `System mapping: normalized ${field} → ${type}`,
      })),
    )
    .execute();
  return missing.length;
}

export async function listIndicatorMappings(
  ctx: ServiceContext,
  query: PageQuery & { source_name?: string; is_system?: boolean; is_active?: boolean; extraction_target?: string },
) {
  authorize(ctx, 'indicator_mappings:manage');
  let base = ctx.db.selectFrom('indicator_field_mappings');
  if (query.source_name !== undefined) base = base.where('source_name', '=', query.source_name);
  if (query.is_system !== undefined) base = base.where('is_system', '=', query.is_system);
  if (query.is_active !== undefined) base = base.where('is_active', '=', query.is_active);
  if (query.extraction_target !== undefined) base = base.where('extraction_target', '=', query.extraction_target);
  return paginate(base, query, (q) => q.select(COLUMNS).orderBy('created_at', 'asc').orderBy('id', 'asc'), toMapping);
}

export async function getIndicatorMapping(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<IndicatorMapping> {
  authorize(ctx, 'indicator_mappings:manage');
  const row = await ctx.db
    .selectFrom('indicator_field_mappings')
    .select(COLUMNS)
    .where('uuid', '=', uuid)
    .executeTakeFirst();
  if (!row) throw notFound('Indicator mapping');
  return toMapping(row);
}

/**
 * A hash mapping on a field named as an identifier (`metadata.customerIDString`, `event.HostGroups`,
 * `tenant_id`) would only ever extract ids that look like hashes: refused when the mapping is written
 * (extraction refuses such values too, with reason `id_field`).
 */
function checkIdentifierField(fieldPath: string, indicatorType: string): void {
  if (indicatorType.startsWith('hash_') && isIdentifierField(fieldPath)) {
    throw new ServiceError('VALIDATION_ERROR', `"${fieldPath}" holds an identifier, not a ${indicatorType}.`, {
      errors: [
        {
          path: 'field_path',
          message: 'customer, tenant, host-group and *_id fields carry ids that look like hashes; map a hash field',
        },
      ],
    });
  }
}

function checkSource(ctx: ServiceContext, sourceName: string | null | undefined): void {
  if (sourceName && !ctx.sources.has(sourceName)) {
    throw new ServiceError('VALIDATION_ERROR', `Unknown source "${sourceName}".`, {
      errors: [
        {
          path: 'source_name',
          message: `Known sources: ${ctx.sources
            .list()
            .map((s) => s.name)
            .join(', ')}`,
        },
      ],
    });
  }
}

export async function createIndicatorMapping(
  ctx: ServiceContext,
  input: IndicatorMappingCreate,
): Promise<IndicatorMapping> {
  authorize(ctx, 'indicator_mappings:manage');
  const data = IndicatorMappingCreateSchema.parse(input);
  checkSource(ctx, data.source_name);
  checkIdentifierField(data.field_path, data.indicator_type);
  const row = await ctx.db.transaction().execute(async (trx) => {
    await rejectDuplicate(trx, data);
    const created = await trx
      .insertInto('indicator_field_mappings')
      .values({ uuid: newUuid(), ...data, is_system: false })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, { type: 'indicator_mapping_created', references: { mapping_uuid: created.uuid, ...data } }),
      )
      .execute();
    return created;
  });
  await mappingsChanged(ctx);
  return toMapping(row);
}

export async function updateIndicatorMapping(
  ctx: ServiceContext,
  { uuid, patch }: { uuid: string; patch: IndicatorMappingUpdate },
): Promise<IndicatorMapping> {
  authorize(ctx, 'indicator_mappings:manage');
  checkSource(ctx, patch.source_name);
  const row = await ctx.db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('indicator_field_mappings')
      .select(['id', 'is_system', 'field_path', 'source_name', 'extraction_target', 'indicator_type'])
      .where('uuid', '=', uuid)
      .forUpdate()
      .executeTakeFirst();
    if (!current) throw notFound('Indicator mapping');
    const changesIdentity =
      (patch.field_path !== undefined && patch.field_path !== current.field_path) ||
      (patch.source_name !== undefined && patch.source_name !== current.source_name) ||
      (patch.extraction_target !== undefined && patch.extraction_target !== current.extraction_target);
    checkIdentifierField(patch.field_path ?? current.field_path, patch.indicator_type ?? current.indicator_type);
    if (current.is_system && changesIdentity) {
      throw new ServiceError(
        'SYSTEM_MAPPING_READONLY',
        'System mappings keep their field_path, source and target; you may change indicator_type, description and is_active.',
      );
    }
    await rejectDuplicate(
      trx,
      {
        source_name: patch.source_name === undefined ? current.source_name : patch.source_name,
        field_path: patch.field_path ?? current.field_path,
        indicator_type: patch.indicator_type ?? current.indicator_type,
        extraction_target: patch.extraction_target ?? current.extraction_target,
      },
      current.id,
    );
    const updated = await trx
      .updateTable('indicator_field_mappings')
      .set({ ...patch, updated_at: new Date() })
      .where('id', '=', current.id)
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, { type: 'indicator_mapping_updated', references: { mapping_uuid: uuid, changes: patch } }),
      )
      .execute();
    return updated;
  });
  await mappingsChanged(ctx);
  return toMapping(row);
}

export async function deleteIndicatorMapping(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<void> {
  authorize(ctx, 'indicator_mappings:manage');
  await ctx.db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('indicator_field_mappings')
      .select(['id', 'is_system', 'field_path'])
      .where('uuid', '=', uuid)
      .executeTakeFirst();
    if (!current) throw notFound('Indicator mapping');
    if (current.is_system) {
      throw new ServiceError('SYSTEM_MAPPING_READONLY', 'System mappings cannot be deleted; deactivate them instead.');
    }
    await trx.deleteFrom('indicator_field_mappings').where('id', '=', current.id).execute();
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, {
          type: 'indicator_mapping_deleted',
          references: { mapping_uuid: uuid, field_path: current.field_path },
        }),
      )
      .execute();
  });
  await mappingsChanged(ctx);
}

/** Dry run of the three extraction passes for a payload: nothing is stored. */
export async function testExtraction(
  ctx: ServiceContext,
  input: { source_name: string; raw_payload: Record<string, unknown> },
): Promise<TestExtractionResult> {
  authorize(ctx, 'indicator_mappings:manage');
  const started = performance.now();
  const source = ctx.sources.has(input.source_name) ? ctx.sources.get(input.source_name) : undefined;
  if (!source) {
    throw new ServiceError('VALIDATION_ERROR', `Unknown source "${input.source_name}".`, {
      errors: [{ path: 'source_name', message: 'not a registered alert source' }],
    });
  }
  const validation = ctx.sources.validate(source, input.raw_payload);
  if (!validation.ok) {
    throw new ServiceError('INVALID_PAYLOAD', `The payload is not a valid ${source.displayName} alert.`, {
      errors: validation.issues,
    });
  }
  let normalized = null;
  let normalizeError: string | null = null;
  try {
    normalized = ctx.sources.normalize(source, input.raw_payload);
  } catch (error) {
    normalizeError = error instanceof Error ? error.message : String(error);
  }
  const rules = await ctx.db
    .selectFrom('indicator_field_mappings')
    .select(['source_name', 'field_path', 'indicator_type', 'extraction_target'])
    .where('is_active', '=', true)
    .where((eb) => eb.or([eb('source_name', 'is', null), eb('source_name', '=', source.name)]))
    .orderBy('id')
    .execute();
  const { passes, indicators, refused, refusedCount, overCap } = extractIndicators(
    ctx.sources,
    source,
    input.raw_payload,
    normalized,
    rules,
  );
  return {
    success: true,
    source_name: source.name,
    passes,
    deduplicated: indicators,
    deduplicated_count: indicators.length,
    refused,
    refused_count: refusedCount,
    indicators_over_cap: overCap,
    normalization_preview: normalized,
    error_message: normalizeError,
    duration_ms: Math.round((performance.now() - started) * 100) / 100,
  };
}

/** Pass-1 extractions each plugin documents, shaped like mappings for the UI. */
export function sourcePluginFields(ctx: ServiceContext): IndicatorMapping[] {
  authorize(ctx, 'indicator_mappings:manage');
  const epoch = '2000-01-01T00:00:00.000Z';
  return ctx.sources.documentedExtractions().map((d) => ({
    uuid: '00000000-0000-0000-0000-000000000000',
    source_name: d.source_name,
    field_path: d.field_path,
    indicator_type: d.indicator_type,
    extraction_target: 'source_plugin',
    is_system: true,
    is_active: true,
    description: d.description,
    created_at: epoch,
    updated_at: epoch,
  }));
}
