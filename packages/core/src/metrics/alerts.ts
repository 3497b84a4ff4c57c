import type { Db } from '@calseta/db';
import type { AlertMetrics, DetectionRuleMetrics, RuleMetricsQuery } from '@calseta/schema';
import { type RawBuilder, sql } from 'kysely';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound } from '../infra/errors.js';
import { iso } from '../infra/serialize.js';
import { groupAlerts, inWindow, perDay, ratio, resolveWindow, type Window } from './window.js';

/** Statuses of an alert still being worked on. */
export const ACTIVE = sql<boolean>`alerts.status IN ('Open', 'Triaging', 'Escalated')`;
const CLOSED_FP = sql<boolean>`alerts.status = 'Closed' AND alerts.close_classification LIKE 'False Positive%'`;
const CLOSED_TP = sql<boolean>`alerts.status = 'Closed' AND alerts.close_classification LIKE 'True Positive%'`;

/** Seconds between two timestamps, averaged over the rows where both are set (null when none). */
const avgSeconds = (later: string, earlier: string, filter: RawBuilder<boolean> = sql`TRUE`) =>
  sql<
    number | null
  >`(avg(extract(epoch FROM ${sql.ref(later)} - ${sql.ref(earlier)})) FILTER (WHERE ${filter}))::float8`;

export interface AlertScalars {
  total: number;
  active: number;
  closed: number;
  closed_fp: number;
  closed_tp: number;
  enriched: number;
  /** Alerts whose source severity no table could read (shown with the visible default). */
  severity_unmapped: number;
  /** AVG(enriched_at − ingested_at) over enriched alerts. */
  mtte: number | null;
  /** AVG(created_at − occurred_at), leaving out alerts whose occurred_at was inferred (it is the ingest time). */
  mttd: number | null;
  mtta: number | null;
  mttt: number | null;
  mttc: number | null;
}

/** The scalar alert metrics of §2.7 over the alerts matching `where`, in one scan. */
export async function alertScalars(db: Db, where: RawBuilder<boolean>): Promise<AlertScalars> {
  const { rows } = await sql<AlertScalars>`
    SELECT
      count(*)::int AS total,
      (count(*) FILTER (WHERE ${ACTIVE}))::int AS active,
      (count(*) FILTER (WHERE alerts.status = 'Closed'))::int AS closed,
      (count(*) FILTER (WHERE ${CLOSED_FP}))::int AS closed_fp,
      (count(*) FILTER (WHERE ${CLOSED_TP}))::int AS closed_tp,
      (count(*) FILTER (WHERE alerts.is_enriched))::int AS enriched,
      (count(*) FILTER (WHERE alerts.severity_unmapped))::int AS severity_unmapped,
      ${avgSeconds('alerts.enriched_at', 'alerts.ingested_at', sql`alerts.is_enriched AND alerts.enriched_at IS NOT NULL`)} AS mtte,
      ${avgSeconds('alerts.created_at', 'alerts.occurred_at', sql`NOT alerts.occurred_at_inferred`)} AS mttd,
      ${avgSeconds('alerts.acknowledged_at', 'alerts.created_at', sql`alerts.acknowledged_at IS NOT NULL`)} AS mtta,
      ${avgSeconds('alerts.triaged_at', 'alerts.created_at', sql`alerts.triaged_at IS NOT NULL`)} AS mttt,
      ${avgSeconds('alerts.closed_at', 'alerts.created_at', sql`alerts.closed_at IS NOT NULL`)} AS mttc
    FROM alerts WHERE ${where}
  `.execute(db);
  // biome-ignore lint/style/noNonNullAssertion: an aggregate without GROUP BY returns exactly one row
  return rows[0]!;
}

export async function alertMetrics(db: Db, window: Window): Promise<AlertMetrics> {
  const where = inWindow('alerts', window);
  const [s, byStatus, bySeverity, bySource, overTime, activeBySeverity, topRules] = await Promise.all([
    alertScalars(db, where),
    groupAlerts(db, sql`alerts.status`, where),
    groupAlerts(db, sql`alerts.severity`, where),
    groupAlerts(db, sql`alerts.source_name`, where),
    perDay(db, 'alerts', where),
    groupAlerts(db, sql`alerts.severity`, sql<boolean>`${where} AND ${ACTIVE}`),
    sql<{ uuid: string; name: string; count: number }>`
      SELECT r.uuid, r.name, count(*)::int AS count
      FROM alerts JOIN detection_rules r ON r.id = alerts.detection_rule_id
      WHERE ${where}
      GROUP BY r.id ORDER BY count DESC, r.name ASC, r.id ASC LIMIT 10
    `.execute(db),
  ]);
  return {
    period_from: iso(window.from),
    period_to: iso(window.to ?? new Date()),
    total_alerts: s.total,
    alerts_by_status: byStatus,
    alerts_by_severity: bySeverity,
    alerts_by_source: bySource,
    alerts_over_time: overTime,
    false_positive_rate: ratio(s.closed_fp, s.closed),
    mean_time_to_enrich: s.mtte,
    mean_time_to_detect: s.mttd,
    mean_time_to_acknowledge: s.mtta,
    mean_time_to_triage: s.mttt,
    mean_time_to_conclusion: s.mttc,
    active_alerts_by_severity: activeBySeverity,
    top_detection_rules: topRules.rows,
    enrichment_coverage: ratio(s.enriched, s.total),
    severity_unmapped_alerts: s.severity_unmapped,
  };
}

/** `GET /v1/metrics/alerts`: alert volume, outcomes and response times for alerts created in the window. */
export async function getAlertMetrics(
  ctx: ServiceContext,
  query: { from_time?: string | undefined; to_time?: string | undefined },
): Promise<AlertMetrics> {
  authorize(ctx, 'metrics:read');
  const window = resolveWindow(query.from_time, query.to_time, { from: 'from_time', to: 'to_time' });
  return alertMetrics(ctx.db, window);
}

/** `GET /v1/detection-rules/{uuid}/metrics`: the same formulas over one rule's alerts. */
export async function getDetectionRuleMetrics(
  ctx: ServiceContext,
  { uuid: ruleUuid, query }: { uuid: string; query: RuleMetricsQuery },
): Promise<DetectionRuleMetrics> {
  authorize(ctx, 'metrics:read');
  const window = resolveWindow(query.from, query.to, { from: 'from', to: 'to' });
  const rule = await ctx.db
    .selectFrom('detection_rules')
    .select(['id', 'uuid', 'name'])
    .where('uuid', '=', ruleUuid)
    .executeTakeFirst();
  if (!rule) throw notFound('Detection rule');
  const db = ctx.db;
  const where = sql<boolean>`alerts.detection_rule_id = ${rule.id} AND ${inWindow('alerts', window)}`;
  const [s, byStatus, bySeverity, classifications, overTime, fpOverTime, activeBySeverity, sources, top] =
    await Promise.all([
      alertScalars(db, where),
      groupAlerts(db, sql`alerts.status`, where),
      groupAlerts(db, sql`alerts.severity`, where),
      groupAlerts(db, sql`alerts.close_classification`, sql<boolean>`${where} AND alerts.status = 'Closed'`),
      perDay(db, 'alerts', where),
      perDay(db, 'alerts', sql<boolean>`${where} AND ${CLOSED_FP}`),
      groupAlerts(db, sql`alerts.severity`, sql<boolean>`${where} AND ${ACTIVE}`),
      groupAlerts(db, sql`alerts.source_name`, where),
      sql<{ type: string; value: string; count: number; malice: string }>`
        SELECT i.type, i.value, count(*)::int AS count, i.malice
        FROM alerts
        JOIN alert_indicators ai ON ai.alert_id = alerts.id
        JOIN indicators i ON i.id = ai.indicator_id
        WHERE ${where}
        GROUP BY i.id ORDER BY count DESC, i.type ASC, i.value ASC LIMIT 10
      `.execute(db),
    ]);
  return {
    detection_rule_uuid: rule.uuid,
    detection_rule_name: rule.name,
    period_from: iso(window.from),
    period_to: iso(window.to),
    total_alerts: s.total,
    active_alerts: s.active,
    alerts_by_status: byStatus,
    alerts_by_severity: bySeverity,
    false_positive_rate: ratio(s.closed_fp, s.closed),
    true_positive_rate: ratio(s.closed_tp, s.closed),
    close_classifications: classifications,
    alerts_over_time: overTime,
    fp_over_time: fpOverTime,
    mtta_seconds: s.mtta,
    mttc_seconds: s.mttc,
    severity_distribution: activeBySeverity,
    top_indicators: top.rows as DetectionRuleMetrics['top_indicators'],
    alert_sources: sources,
  };
}
