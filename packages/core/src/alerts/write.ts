import { MAX_INDICATORS_PER_ALERT } from '@calseta/plugin-sdk';
import {
  type AlertPatch,
  AlertPatchSchema,
  type AlertStatus,
  type IndicatorAddRequest,
  IndicatorAddRequestSchema,
  type IndicatorAddResult,
} from '@calseta/schema';
import { authorize } from '../auth/permissions.js';
import { INDICATOR_COLUMNS, toIndicator } from '../indicators/indicators.js';
import { type ActivityInput, activityRow } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound, ServiceError } from '../infra/errors.js';
import { retryOnDeadlock } from '../infra/transaction.js';
import { linkIndicators } from '../ingest/extract-alert-indicators.js';
import { lifecycleChange } from './lifecycle.js';
import { type AlertDetail, loadAlert } from './read.js';

/**
 * Update an alert's triage state. Lifecycle stamps are written once and never cleared:
 * acknowledged_at (first move out of Open), triaged_at (first Triaging), closed_at (first Closed).
 */
export async function patchAlert(
  ctx: ServiceContext,
  input: { uuid: string; patch: AlertPatch },
): Promise<AlertDetail> {
  const { alert, meta } = await patchAlertFrom(ctx, input);
  return { alert, meta };
}

/**
 * `patchAlert`, also saying which status the alert had: read under the same row lock as the change
 * (MCP's update_alert_status reports `previous_status`; a separate read first could be stale).
 */
export async function patchAlertFrom(
  ctx: ServiceContext,
  { uuid, patch: input }: { uuid: string; patch: AlertPatch },
): Promise<AlertDetail & { previousStatus: AlertStatus }> {
  authorize(ctx, 'alerts:write');
  const patch = AlertPatchSchema.parse(input);
  const previousStatus = await ctx.db.transaction().execute(async (trx) => {
    const current = await trx
      .selectFrom('alerts')
      .select([
        'id',
        'status',
        'severity',
        'tags',
        'close_classification',
        'malice_override',
        'acknowledged_at',
        'triaged_at',
        'closed_at',
      ])
      .where('uuid', '=', uuid)
      .forUpdate()
      .executeTakeFirst();
    if (!current) throw notFound('Alert');
    const now = new Date();
    const set: Record<string, unknown> = { updated_at: now };
    const events: ActivityInput[] = [];
    const event = (type: ActivityInput['type'], references: Record<string, unknown>) =>
      events.push({ type, alertId: current.id, references });

    const lifecycle = lifecycleChange(current, patch, now);
    Object.assign(set, lifecycle.set);
    if (lifecycle.status?.closed) {
      event('alert_closed', { from_status: current.status, close_classification: patch.close_classification });
    } else if (lifecycle.status) {
      event('alert_status_updated', { from_status: current.status, to_status: patch.status });
    }
    if (lifecycle.classification) {
      event('alert_classification_updated', {
        from_classification: lifecycle.classification.from,
        to_classification: lifecycle.classification.to,
      });
    }
    if (patch.severity !== undefined && patch.severity !== current.severity) {
      set.severity = patch.severity;
      event('alert_severity_updated', { from_severity: current.severity, to_severity: patch.severity });
    }
    if (patch.tags !== undefined) {
      const tags = [...new Set(patch.tags)];
      set.tags = tags;
      if (tags.join('\u0000') !== current.tags.join('\u0000')) {
        event('alert_tags_updated', { from_tags: current.tags, to_tags: tags });
      }
    }
    if (patch.reset_malice_override) {
      if (current.malice_override) {
        Object.assign(set, { malice_override: null, malice_override_source: null, malice_override_at: null });
        event('alert_malice_updated', {
          from_malice: current.malice_override,
          to_malice: null,
          malice_source: 'reset',
        });
      }
    } else if (patch.malice_override !== undefined && patch.malice_override !== current.malice_override) {
      Object.assign(set, {
        malice_override: patch.malice_override,
        malice_override_source: 'analyst',
        malice_override_at: now,
      });
      event('alert_malice_updated', {
        from_malice: current.malice_override,
        to_malice: patch.malice_override,
        malice_source: 'analyst',
      });
    }
    await trx.updateTable('alerts').set(set).where('id', '=', current.id).execute();
    if (events.length > 0) {
      await trx
        .insertInto('activity_events')
        .values(events.map((e) => activityRow(ctx, e)))
        .execute();
    }
    return current.status as AlertStatus;
  });
  return { ...(await loadAlert(ctx.db, uuid)), previousStatus };
}

/** Delete an alert and its links (indicators stay: they are global). */
export async function deleteAlert(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<void> {
  authorize(ctx, 'alerts:delete');
  await ctx.db.transaction().execute(async (trx) => {
    const deleted = await trx
      .deleteFrom('alerts')
      .where('uuid', '=', uuid)
      .returning(['uuid', 'title', 'source_name'])
      .executeTakeFirst();
    if (!deleted) throw notFound('Alert');
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, {
          type: 'alert_deleted',
          references: { alert_uuid: deleted.uuid, title: deleted.title, source_name: deleted.source_name },
        }),
      )
      .execute();
  });
}

const keyOf = (i: { type: string; value: string }) => `${i.type}\u0000${i.value}`;

/**
 * An alert carries at most MAX_INDICATORS_PER_ALERT indicators, as extraction keeps: each delivery's
 * payload and related-alerts read grow with them. Checked per request (two requests at once may pass
 * the cap by one request's worth, at most 100): a bound on work, not an exact count.
 */
async function refuseOverCap(
  trx: ServiceContext['db'],
  alertId: number,
  adding: ReadonlyArray<{ type: string; value: string }>,
): Promise<void> {
  const linked = await trx
    .selectFrom('alert_indicators')
    .innerJoin('indicators', 'indicators.id', 'alert_indicators.indicator_id')
    .select(['indicators.type', 'indicators.value'])
    .where('alert_indicators.alert_id', '=', alertId)
    .limit(MAX_INDICATORS_PER_ALERT + 1)
    .execute();
  const known = new Set(linked.map(keyOf));
  const total = known.size + adding.filter((i) => !known.has(keyOf(i))).length;
  if (total > MAX_INDICATORS_PER_ALERT) {
    throw new ServiceError(
      'VALIDATION_ERROR',
      `An alert carries at most ${MAX_INDICATORS_PER_ALERT} indicators: it has ${known.size}, this request would bring it to ${total}. Nothing was added.`,
      { limit: MAX_INDICATORS_PER_ALERT, linked: known.size, would_be: total },
    );
  }
}

/**
 * Add indicators to an alert by hand: each is upserted (global, one row per type+value) and linked
 * once; with `enrich` the alert's enrichment is queued in the same transaction. Agents already
 * notified of the alert are not notified again (quirk 23).
 */
export async function addAlertIndicators(
  ctx: ServiceContext,
  { uuid, input, enrich = true }: { uuid: string; input: IndicatorAddRequest; enrich?: boolean },
): Promise<IndicatorAddResult> {
  authorize(ctx, 'alerts:write');
  const { indicators } = IndicatorAddRequestSchema.parse(input);
  const unique = [...new Map(indicators.map((i) => [keyOf(i), i])).values()];
  // Repeated if Postgres fails it to break a deadlock: indicators created by others while it links
  // are share-locked after the ones it locked first, out of the id order every writer keeps.
  const result = await retryOnDeadlock(() =>
    ctx.db.transaction().execute(async (trx) => {
      const alert = await trx.selectFrom('alerts').select('id').where('uuid', '=', uuid).executeTakeFirst();
      if (!alert) throw notFound('Alert');
      await refuseOverCap(trx, alert.id, unique);
      const added = await linkIndicators(
        trx,
        alert.id,
        unique.map((i) => ({ ...i, source_field: 'manual' })),
      );
      await trx
        .insertInto('activity_events')
        .values(
          activityRow(ctx, {
            type: 'alert_indicators_added',
            alertId: alert.id,
            references: {
              indicator_count: unique.length,
              indicators: unique.map(({ type, value }) => ({ type, value })),
              enrich_requested: enrich,
            },
          }),
        )
        .execute();
      if (enrich) await ctx.queue.send('enrich-alert', { alert_id: alert.id, reason: 'indicators_added' }, { db: trx });
      const rows = await trx
        .selectFrom('indicators')
        .select(INDICATOR_COLUMNS)
        .where((eb) =>
          eb(
            eb.refTuple('type', 'value'),
            'in',
            unique.map((i) => eb.tuple(i.type, i.value)),
          ),
        )
        .orderBy('id')
        .execute();
      return { added_count: added, indicators: rows.map((row) => toIndicator(row)), enrich_requested: enrich };
    }),
  );
  // Woken once committed; unannounced, the job waited for a worker's idle poll.
  if (enrich) ctx.queue.announce('enrich-alert');
  return result;
}
