import type { Database, Db } from '@calseta/db';
import type { ExtractedIndicator } from '@calseta/schema';
import { type ExpressionBuilder, sql } from 'kysely';
import { activityRow } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { newUuid } from '../infra/ids.js';
import { extractIndicators } from './extract.js';

export interface ExtractedAlert {
  alertId: number;
  indicatorCount: number;
  newLinks: number;
}

/**
 * Pipeline step 3 for one alert: run the three extraction passes over its stored payload and
 * persist the indicators (global, one row per type+value) and their links. Idempotent: a retry
 * links nothing twice.
 */
export async function extractAlertIndicators(ctx: ServiceContext, alertId: number): Promise<ExtractedAlert | null> {
  const alert = await ctx.db
    .selectFrom('alerts')
    .select(['id', 'source_name', 'raw_payload', 'normalized'])
    .where('id', '=', alertId)
    .executeTakeFirst();
  if (!alert) return null; // deleted since it was queued: nothing to do
  const source = ctx.sources.get(alert.source_name);
  const normalized = ctx.sources.normalize(source, alert.raw_payload);
  const rules = await ctx.mappingRules.forSource(ctx.db, source.name);
  const { passes, indicators, refused, refusedCount, overCap } = extractIndicators(
    ctx.sources,
    source,
    alert.raw_payload,
    normalized,
    rules,
  );

  return ctx.db.transaction().execute(async (trx) => {
    const newLinks = await linkIndicators(trx, alertId, indicators);
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, {
          type: 'alert_indicators_extracted',
          alertId,
          references: {
            indicator_count: indicators.length,
            new_links: newLinks,
            passes: Object.fromEntries(
              passes.map((p) => [p.pass_name, { count: p.indicators.length, error: p.error }]),
            ),
            // What validation refused (a few listed, all counted) and what the per-alert cap left out.
            refused_count: refusedCount,
            refused: refused.slice(0, 20).map((r) => ({ type: r.type, field: r.field, reason: r.reason })),
            indicators_over_cap: overCap,
          },
        }),
      )
      .execute();
    return { alertId, indicatorCount: indicators.length, newLinks };
  });
}

/** Upsert indicators and link them to an alert; returns how many links are new. */
export async function linkIndicators(
  trx: Db,
  alertId: number,
  indicators: readonly ExtractedIndicator[],
): Promise<number> {
  if (indicators.length === 0) return 0;
  // Insert in a fixed order so concurrent jobs creating the same indicators never deadlock.
  const sorted = [...indicators].sort((a, b) => (a.type + a.value < b.type + b.value ? -1 : 1));
  const now = new Date();
  const identities = (eb: ExpressionBuilder<Database, 'indicators'>) =>
    eb(
      eb.refTuple('type', 'value'),
      'in',
      sorted.map((i) => eb.tuple(i.type, i.value)),
    );
  // The existing indicators are share-locked in id order before anything else (the pipeline's
  // commit locks the same way: pipeline/commit-alert.ts lockIndicators): a verdict being written
  // to one of them commits first, and the link trigger ranks the alert with it; a verdict written
  // after waits for this link and refreshes the alert. Links of other alerts share the lock: they
  // do not queue behind each other.
  await trx.selectFrom('indicators').select('id').where(identities).orderBy('id').forShare().execute();
  await trx
    .insertInto('indicators')
    .values(sorted.map((i) => ({ uuid: newUuid(), type: i.type, value: i.value, first_seen: now, last_seen: now })))
    .onConflict((oc) => oc.columns(['type', 'value']).doNothing())
    .execute();
  // A new statement: it sees rows another job committed while this one waited on the insert (and
  // share-locks them too; held ones are not waited on again).
  const rows = await trx
    .selectFrom('indicators')
    .select(['id', 'type', 'value'])
    .where(identities)
    .orderBy('id')
    .forShare()
    .execute();
  // `last_seen` to the minute; rows another job is touching right now are skipped, not waited for.
  await sql`
    UPDATE indicators SET last_seen = ${now}, updated_at = ${now}
    WHERE id IN (
      SELECT id FROM indicators
      WHERE id = ANY(${rows.map((r) => r.id)}::bigint[]) AND last_seen < ${now}::timestamptz - interval '1 minute'
      ORDER BY id FOR UPDATE SKIP LOCKED)`.execute(trx);
  const idOf = new Map(rows.map((r) => [`${r.type}\u0000${r.value}`, r.id]));
  const links = await trx
    .insertInto('alert_indicators')
    .values(
      sorted.map((i) => ({
        alert_id: alertId,
        indicator_id: idOf.get(`${i.type}\u0000${i.value}`) as number,
        source_field: i.source_field,
      })),
    )
    .onConflict((oc) => oc.columns(['alert_id', 'indicator_id']).doNothing())
    .returning(sql<number>`1`.as('created'))
    .execute();
  return links.length;
}
