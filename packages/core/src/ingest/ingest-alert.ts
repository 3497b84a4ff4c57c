import { type IngestAccepted, SEVERITY_WEIGHT } from '@calseta/schema';
import { sql } from 'kysely';
import { activityRow } from '../activity/record.js';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../context.js';
import { ServiceError } from '../errors.js';
import { newUuid } from '../ids.js';
import { ensureDetectionRule, findDetectionRule } from './detection-rules.js';
import { extractIndicators } from './extract.js';
import { fingerprint } from './fingerprint.js';

export interface IngestInput {
  sourceName: string;
  /** The parsed JSON body. */
  payload: unknown;
  /** Present for webhooks: the exact bytes and headers, for signature checks. */
  webhook?: { rawBody: Uint8Array; headers: Readonly<Record<string, string>> };
}

/**
 * Ingest one alert: check, normalize, fingerprint, then in ONE transaction store it (or count it on
 * its duplicate) and enqueue its pipeline job. Returning means both are committed.
 */
export async function ingestAlert(ctx: ServiceContext, input: IngestInput): Promise<IngestAccepted> {
  authorize(ctx, 'alerts:ingest');
  const source = ctx.sources.get(input.sourceName);
  if (
    ctx.actor.type !== 'system' &&
    ctx.actor.key.allowedSources &&
    !ctx.actor.key.allowedSources.includes(source.name)
  ) {
    throw new ServiceError('SOURCE_NOT_ALLOWED', `This API key may not ingest from "${source.name}".`, {
      allowed_sources: ctx.actor.key.allowedSources,
    });
  }
  const secret = ctx.config.webhookSecrets[source.name];
  if (input.webhook && secret && source.verifySignature) {
    const valid = (() => {
      try {
        return source.verifySignature({ ...input.webhook, secret });
      } catch {
        return false;
      }
    })();
    if (!valid) throw new ServiceError('INVALID_SIGNATURE', `Webhook signature check failed for "${source.name}".`);
  }
  const raw = input.payload;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ServiceError('INVALID_PAYLOAD', 'The payload must be a JSON object.');
  }
  const validation = ctx.sources.validate(source, raw);
  if (!validation.ok) {
    throw new ServiceError('INVALID_PAYLOAD', `The payload is not a valid ${source.displayName} alert.`, {
      errors: validation.issues,
    });
  }
  const normalized = ctx.sources.normalize(source, raw);
  // The fingerprint covers what the plugin found plus custom normalized mappings. System mappings
  // are left out: they re-find what plugins already report, and including them would change every
  // fingerprint relative to the reference implementation (dedup must agree across both).
  const customRules = (await ctx.mappingRules.forSource(ctx.db, source.name)).filter((r) => !r.is_system);
  const { indicators } = extractIndicators(ctx.sources, source, raw, normalized, customRules, { rawPass: false });
  const print = fingerprint(normalized.title, source.name, indicators);
  const ruleRef = ctx.sources.detectionRule(source, raw);
  const now = new Date();
  const occurredAt = normalized.occurred_at ?? now.toISOString();
  const existingRuleId = ruleRef ? await findDetectionRule(ctx.db, source.name, ruleRef.source_rule_id) : null;

  const accepted = await ctx.db.transaction().execute(async (trx) => {
    if (ctx.config.dedupWindowHours > 0) {
      // Serialize ingests of the same fingerprint only, so two copies arriving together dedupe.
      await sql`SELECT pg_advisory_xact_lock(hashtextextended(${print}, 0))`.execute(trx);
      const original = await trx
        .selectFrom('alerts')
        .select(['id', 'uuid', 'severity', 'duplicate_count'])
        .where('fingerprint', '=', print)
        .where('created_at', '>=', new Date(now.getTime() - ctx.config.dedupWindowHours * 3_600_000))
        .orderBy('created_at', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (original) {
        const escalates =
          SEVERITY_WEIGHT[normalized.severity] > SEVERITY_WEIGHT[original.severity as keyof typeof SEVERITY_WEIGHT];
        const updated = await trx
          .updateTable('alerts')
          .set((eb) => ({
            duplicate_count: eb('duplicate_count', '+', 1),
            last_seen_at: now,
            updated_at: now,
            ...(escalates && {
              severity: normalized.severity,
              escalation_count: eb('escalation_count', '+', 1),
              last_escalated_at: now,
            }),
          }))
          .where('id', '=', original.id)
          .returning(['duplicate_count'])
          .executeTakeFirstOrThrow();
        await trx
          .insertInto('activity_events')
          .values(
            activityRow(ctx, {
              type: escalates ? 'alert_escalated' : 'alert_deduplicated',
              alertId: original.id,
              references: {
                fingerprint: print,
                duplicate_count: updated.duplicate_count,
                source_name: source.name,
                title: normalized.title,
                ...(escalates && { from_severity: original.severity, to_severity: normalized.severity }),
              },
            }),
          )
          .execute();
        // An escalation is new information: the alert goes through the pipeline again.
        if (escalates)
          await ctx.queue.send('enrich-alert', { alert_id: original.id, reason: 'escalation' }, { db: trx });
        return {
          alert_uuid: original.uuid,
          status: escalates ? 'escalated' : 'deduplicated',
          is_duplicate: true,
          duplicate_count: updated.duplicate_count,
        } satisfies IngestAccepted;
      }
    }

    const ruleId = ruleRef ? (existingRuleId ?? (await ensureDetectionRule(trx, ctx, source.name, ruleRef))) : null;
    const alert = await trx
      .insertInto('alerts')
      .values({
        uuid: newUuid(),
        title: normalized.title,
        description: normalized.description,
        severity: normalized.severity,
        source_name: source.name,
        occurred_at: occurredAt,
        occurred_at_inferred: normalized.occurred_at === null,
        source_time: normalized.occurred_at,
        ingested_at: now,
        fingerprint: print,
        tags: normalized.tags,
        normalized: JSON.stringify(normalized),
        raw_payload: JSON.stringify(raw),
        detection_rule_id: ruleId,
      })
      .returning(['id', 'uuid'])
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('activity_events')
      .values(
        activityRow(ctx, {
          type: 'alert_ingested',
          alertId: alert.id,
          references: { source_name: source.name, severity: normalized.severity, title: normalized.title },
        }),
      )
      .execute();
    await ctx.queue.send('enrich-alert', { alert_id: alert.id, reason: 'ingest' }, { db: trx });
    return {
      alert_uuid: alert.uuid,
      status: 'queued',
      is_duplicate: false,
      duplicate_count: null,
    } satisfies IngestAccepted;
  });
  if (accepted.status !== 'deduplicated') ctx.queue.announce('enrich-alert');
  return accepted;
}
