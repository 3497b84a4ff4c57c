import type { Db } from '@calseta/db';
import { aggregateVerdict } from '@calseta/enrichment-engine';
import type {
  EnrichmentProviderResult,
  Indicator,
  IndicatorDetail,
  IndicatorPatch,
  IndicatorType,
  MaliceLevel,
  VerdictExplanation,
} from '@calseta/schema';
import { authorize } from '../auth/permissions.js';
import { activityRow } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound, ServiceError } from '../infra/errors.js';
import { iso } from '../infra/serialize.js';
import { withCachedRaw } from './raw.js';

/** Indicator columns every indicator view selects (qualified, for joins). */
export const INDICATOR_COLUMNS = [
  'indicators.id',
  'indicators.uuid',
  'indicators.type',
  'indicators.value',
  'indicators.first_seen',
  'indicators.last_seen',
  'indicators.is_enriched',
  'indicators.malice',
  'indicators.malice_source',
  'indicators.malice_overridden_at',
  'indicators.malice_explanation',
  'indicators.enriched_at',
  'indicators.enrichment_results',
  'indicators.created_at',
  'indicators.updated_at',
] as const;

export interface IndicatorRow {
  id: number;
  uuid: string;
  type: string;
  value: string;
  first_seen: Date;
  last_seen: Date;
  is_enriched: boolean;
  malice: string;
  malice_source: string;
  malice_overridden_at: Date | null;
  malice_explanation: unknown;
  enriched_at: Date | null;
  enrichment_results: unknown;
  created_at: Date;
  updated_at: Date;
}

type StoredResults = Record<string, EnrichmentProviderResult>;

/** Provider results without raw responses: agents and lists never get raw provider payloads. */
function withoutRaw(results: StoredResults): Indicator['enrichment_results'] {
  return Object.fromEntries(
    Object.entries(results).map(([name, { raw: _raw, ...rest }]) => [name, rest]),
  ) as Indicator['enrichment_results'];
}

export function toIndicator(row: IndicatorRow): Indicator;
export function toIndicator(row: IndicatorRow, options: { raw: true }): IndicatorDetail;
export function toIndicator(row: IndicatorRow, options: { raw?: boolean } = {}): Indicator | IndicatorDetail {
  const results = (row.enrichment_results ?? null) as StoredResults | null;
  return {
    uuid: row.uuid,
    type: row.type as Indicator['type'],
    value: row.value,
    first_seen: iso(row.first_seen),
    last_seen: iso(row.last_seen),
    is_enriched: row.is_enriched,
    malice: row.malice as MaliceLevel,
    malice_source: row.malice_source as Indicator['malice_source'],
    malice_overridden_at: iso(row.malice_overridden_at),
    malice_explanation: (row.malice_explanation ?? null) as VerdictExplanation | null,
    enriched_at: iso(row.enriched_at),
    enrichment_results: results === null ? null : options.raw ? results : withoutRaw(results),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

async function indicatorRow(db: Db, uuid: string): Promise<IndicatorRow> {
  const row = await db.selectFrom('indicators').select(INDICATOR_COLUMNS).where('uuid', '=', uuid).executeTakeFirst();
  if (!row) throw notFound('Indicator');
  return row;
}

/** One indicator with every provider's full result, raw responses included while cached (indicators/raw.ts). */
export async function getIndicator(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<IndicatorDetail> {
  authorize(ctx, 'indicators:read');
  const row = await indicatorRow(ctx.db, uuid);
  const results = await withCachedRaw(ctx.db, row, (row.enrichment_results ?? null) as StoredResults | null);
  return toIndicator({ ...row, enrichment_results: results }, { raw: true });
}

/**
 * What is stored about an indicator, by uuid or by type and value, without raw provider responses
 * (what agents read). Reading it never calls a provider: that is `enrichOnDemand`'s job.
 */
export async function findIndicator(
  ctx: ServiceContext,
  by: { uuid: string } | { type: IndicatorType; value: string },
): Promise<Indicator> {
  authorize(ctx, 'indicators:read');
  if ('uuid' in by) return toIndicator(await indicatorRow(ctx.db, by.uuid));
  const value = by.value.trim();
  const row = await ctx.db
    .selectFrom('indicators')
    .select(INDICATOR_COLUMNS)
    .where('type', '=', by.type)
    .where('value', '=', value)
    .executeTakeFirst();
  if (!row) {
    throw new ServiceError(
      'NOT_FOUND',
      `No ${by.type} indicator "${value}" has been seen in an alert, so nothing is stored. A live enrichment asks the providers (and spends their quota).`,
    );
  }
  return toIndicator(row);
}

/**
 * An analyst's verdict (`malice`), or back to the providers' (`malice: null`): the verdict is then
 * recomputed from the stored results at once, with its explanation. Recorded in the activity log.
 */
export async function patchIndicator(
  ctx: ServiceContext,
  { uuid, patch }: { uuid: string; patch: IndicatorPatch },
): Promise<IndicatorDetail> {
  authorize(ctx, 'alerts:write');
  const row = await ctx.db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('indicators')
      .select(['id', 'malice', 'malice_source', 'enrichment_results'])
      .where('uuid', '=', uuid)
      .forUpdate()
      .executeTakeFirst();
    if (!current) throw notFound('Indicator');
    const now = new Date();
    const override = patch.malice === null ? null : { verdict: patch.malice, at: now.toISOString() };
    const { verdict, explanation } = aggregateVerdict(
      Object.values((current.enrichment_results ?? {}) as StoredResults),
      override,
    );
    await trx
      .updateTable('indicators')
      .set({
        malice: verdict,
        malice_source: override ? 'analyst' : 'enrichment',
        malice_overridden_at: override ? now : null,
        malice_explanation: explanation === null ? null : JSON.stringify(explanation),
        updated_at: now,
      })
      .where('id', '=', current.id)
      .execute();
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, {
          type: 'indicator_malice_updated',
          indicatorId: current.id,
          references: {
            indicator_uuid: uuid,
            from_malice: current.malice,
            to_malice: verdict,
            malice_source: override ? 'analyst' : 'reset',
          },
        }),
      )
      .execute();
    return trx
      .selectFrom('indicators')
      .select(INDICATOR_COLUMNS)
      .where('id', '=', current.id)
      .executeTakeFirstOrThrow();
  });
  return toIndicator(row, { raw: true });
}
