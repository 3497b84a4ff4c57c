import type { GraphAlertNode, GraphIndicatorNode, RelationshipGraph } from '@calseta/schema';
import { sql } from 'kysely';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound } from '../infra/errors.js';
import { iso } from '../infra/serialize.js';

interface NodeRow {
  uuid: string;
  title: string;
  severity: string;
  status: string;
  source_name: string;
  occurred_at: Date;
  tags: string[];
}

function toNode(row: NodeRow): GraphAlertNode {
  return {
    uuid: row.uuid,
    title: row.title,
    severity: row.severity as GraphAlertNode['severity'],
    status: row.status as GraphAlertNode['status'],
    source_name: row.source_name,
    occurred_at: iso(row.occurred_at),
    tags: row.tags,
  };
}

const STATUS_LABEL: Record<string, string> = {
  success: 'enriched',
  not_found: 'not_found',
  failed: 'failed',
  skipped: 'skipped',
};

/**
 * One word per provider: the first truthy of its extracted `verdict`, `malice`, `risk_score`
 * (stringified), else what happened (`enriched` on success, `not_found`, `failed`, `skipped`).
 */
export function enrichmentSummary(results: unknown): Record<string, string> {
  if (!results || typeof results !== 'object') return {};
  const out: Record<string, string> = {};
  for (const [provider, value] of Object.entries(results as Record<string, unknown>)) {
    if (!value || typeof value !== 'object') continue;
    const result = value as { status?: unknown; extracted?: unknown };
    const extracted = (result.extracted && typeof result.extracted === 'object' ? result.extracted : {}) as Record<
      string,
      unknown
    >;
    const picked = extracted.verdict || extracted.malice || extracted.risk_score;
    out[provider] = picked
      ? String(picked)
      : (STATUS_LABEL[String(result.status)] ?? (result.status === undefined ? 'enriched' : String(result.status)));
  }
  return out;
}

/**
 * An alert, its indicators and, per indicator, how many other alerts share it and the newest
 * `siblingLimit` of them (by `occurred_at`).
 */
export async function getRelationshipGraph(
  ctx: ServiceContext,
  { uuid: alertUuid, siblingLimit = 10 }: { uuid: string; siblingLimit?: number },
): Promise<RelationshipGraph> {
  authorize(ctx, 'alerts:read');
  const limit = Math.min(Math.max(Math.trunc(siblingLimit), 1), 50);
  const alert = await ctx.db
    .selectFrom('alerts')
    .select(['id', 'uuid', 'title', 'severity', 'status', 'source_name', 'occurred_at', 'tags'])
    .where('uuid', '=', alertUuid)
    .executeTakeFirst();
  if (!alert) throw notFound('Alert');

  const indicators = await ctx.db
    .selectFrom('alert_indicators as ai')
    .innerJoin('indicators as i', 'i.id', 'ai.indicator_id')
    .select([
      'i.id',
      'i.uuid',
      'i.type',
      'i.value',
      'i.malice',
      'i.first_seen',
      'i.last_seen',
      'i.is_enriched',
      'i.enrichment_results',
      (eb) =>
        eb
          .selectFrom('alert_indicators as other')
          .select(eb.fn.countAll<number>().as('n'))
          .whereRef('other.indicator_id', '=', 'i.id')
          .where('other.alert_id', '!=', alert.id)
          .as('total_alert_count'),
    ])
    .where('ai.alert_id', '=', alert.id)
    .orderBy('ai.id')
    .execute();

  const ids = indicators.map((i) => i.id);
  const siblings =
    ids.length === 0
      ? []
      : (
          await sql<NodeRow & { indicator_id: number }>`
            SELECT ind.id AS indicator_id, s.*
            FROM unnest(${ids}::bigint[]) AS ind(id)
            CROSS JOIN LATERAL (
              SELECT a.uuid, a.title, a.severity, a.status, a.source_name, a.occurred_at, a.tags
              FROM alert_indicators link JOIN alerts a ON a.id = link.alert_id
              WHERE link.indicator_id = ind.id AND link.alert_id <> ${alert.id}
              ORDER BY a.occurred_at DESC, a.id DESC
              LIMIT ${limit}
            ) s
          `.execute(ctx.db)
        ).rows;
  const byIndicator = new Map<number, GraphAlertNode[]>();
  for (const row of siblings) {
    const list = byIndicator.get(Number(row.indicator_id)) ?? [];
    list.push(toNode(row));
    byIndicator.set(Number(row.indicator_id), list);
  }

  return {
    alert: toNode(alert),
    indicators: indicators.map(
      (i): GraphIndicatorNode => ({
        uuid: i.uuid,
        type: i.type as GraphIndicatorNode['type'],
        value: i.value,
        malice: i.malice as GraphIndicatorNode['malice'],
        first_seen: iso(i.first_seen),
        last_seen: iso(i.last_seen),
        is_enriched: i.is_enriched,
        enrichment_summary: enrichmentSummary(i.enrichment_results),
        total_alert_count: Number(i.total_alert_count ?? 0),
        sibling_alerts: byIndicator.get(i.id) ?? [],
      }),
    ),
  };
}
