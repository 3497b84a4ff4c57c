import type { Database, Db } from '@calseta/db';
import {
  type ActivityEvent,
  type Alert,
  type AlertIndicator,
  type AlertListQuery,
  type AlertSummary,
  type CloseClassification,
  type EnrichmentSummary,
  type Finding,
  MALICE_WEIGHT,
  type MaliceLevel,
  type PageQuery,
} from '@calseta/schema';
import { CompiledQuery, type ExpressionBuilder, sql } from 'kysely';
import { authorize } from '../auth/permissions.js';
import { contextDocumentsFor } from '../context/documents.js';
import { INDICATOR_COLUMNS, toIndicator } from '../indicators/indicators.js';
import { alertMalice } from '../indicators/malice.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound } from '../infra/errors.js';
import { csv, iso, type Page, pageOf } from '../infra/serialize.js';

export const SUMMARY_COLUMNS = [
  'alerts.id',
  'alerts.uuid',
  'alerts.title',
  'alerts.description',
  'alerts.severity',
  'alerts.severity_raw',
  'alerts.severity_unmapped',
  'alerts.status',
  'alerts.enrichment_status',
  'alerts.source_name',
  'alerts.occurred_at',
  'alerts.occurred_at_inferred',
  'alerts.ingested_at',
  'alerts.is_enriched',
  'alerts.duplicate_count',
  'alerts.tags',
  'alerts.close_classification',
  'alerts.closed_at',
  'alerts.created_at',
  'alerts.updated_at',
  'alerts.malice_rank',
  'alerts.indicator_count',
] as const;

/** MaliceLevel by weight (MALICE_WEIGHT; `alerts.malice_rank`, kept by migration 0014). */
const MALICE_BY_RANK = Object.fromEntries(Object.entries(MALICE_WEIGHT).map(([level, w]) => [w, level])) as Record<
  number,
  MaliceLevel
>;

type SummaryRow = {
  uuid: string;
  title: string;
  description: string | null;
  severity: string;
  severity_raw: string | null;
  severity_unmapped: boolean;
  status: string;
  enrichment_status: string;
  source_name: string;
  occurred_at: Date;
  occurred_at_inferred: boolean;
  ingested_at: Date;
  is_enriched: boolean;
  duplicate_count: number;
  tags: string[];
  close_classification: string | null;
  closed_at: Date | null;
  created_at: Date;
  updated_at: Date;
  malice_rank: number;
  indicator_count: number;
};

export function toSummary(row: SummaryRow): AlertSummary {
  return {
    uuid: row.uuid,
    title: row.title,
    description: row.description,
    severity: row.severity as AlertSummary['severity'],
    severity_raw: row.severity_raw,
    severity_unmapped: row.severity_unmapped,
    status: row.status as AlertSummary['status'],
    enrichment_status: row.enrichment_status as AlertSummary['enrichment_status'],
    source_name: row.source_name,
    occurred_at: iso(row.occurred_at),
    occurred_at_inferred: row.occurred_at_inferred,
    ingested_at: iso(row.ingested_at),
    is_enriched: row.is_enriched,
    duplicate_count: row.duplicate_count,
    tags: row.tags,
    close_classification: row.close_classification as CloseClassification | null,
    closed_at: iso(row.closed_at),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
    malice: MALICE_BY_RANK[row.malice_rank] ?? 'Pending',
    indicator_count: row.indicator_count,
  };
}

/**
 * Severity by weight. Migration 0010 indexes exactly this expression (with occurred_at and id), so
 * keep the two identical.
 */
const SEVERITY_RANK = sql<number>`CASE alerts.severity WHEN 'Critical' THEN 5 WHEN 'High' THEN 4 WHEN 'Medium' THEN 3 WHEN 'Low' THEN 2 WHEN 'Informational' THEN 1 ELSE 0 END`;
const SEVERITY_RANKS: ReadonlyMap<string, number> = new Map([
  ['Critical', 5],
  ['High', 4],
  ['Medium', 3],
  ['Low', 2],
  ['Informational', 1],
]);

/**
 * `meta.total` is exact when the list's end is on the page, or when the planner expects at most this
 * many matches, cheaply found (ALERT_EXACT_COUNT_MAX_COST), and a count capped just above it confirms
 * it; otherwise it is the planner's estimate and `meta.total_is_estimate` is true
 * (docs/adr/0007-alert-list-totals.md). An exact count visits every match: bounded so, a list request
 * costs the same at 10k alerts as at 10M.
 */
export const ALERT_TOTAL_EXACT_UP_TO = 1000;

type AlertListInput = AlertListQuery & PageQuery;

function filteredAlerts(db: Db, query: AlertListInput) {
  let base = db.selectFrom('alerts');
  const inFilter = (column: 'status' | 'source_name' | 'enrichment_status', value: string | undefined) => {
    const values = csv(value);
    if (values) base = base.where(`alerts.${column}`, 'in', values);
  };
  inFilter('status', query.status);
  const severities = csv(query.severity);
  const rank = severities?.length === 1 ? SEVERITY_RANKS.get(severities[0] ?? '') : undefined;
  // One weighted severity: equal weight is equal severity (stored severities are AlertSeverity
  // values), and the weight leads an index ordered like the list (0010), so the page is an index
  // range. Several: filtered on the time-ordered walk, like the other multi-value filters.
  if (rank !== undefined) base = base.where(SEVERITY_RANK, '=', rank);
  else if (severities) base = base.where('alerts.severity', 'in', severities);
  inFilter('source_name', query.source_name);
  inFilter('enrichment_status', query.enrichment_status);
  const malice = csv(query.malice)
    ?.map((level) => MALICE_WEIGHT[level as MaliceLevel])
    .filter((w) => w !== undefined);
  // One level leads the (malice_rank, occurred_at, id) index of 0014, like one severity.
  if (malice) base = base.where('alerts.malice_rank', 'in', malice.length > 0 ? malice : [-1]);
  if (query.is_enriched !== undefined) base = base.where('alerts.is_enriched', '=', query.is_enriched);
  if (query.severity_unmapped !== undefined) {
    base = base.where('alerts.severity_unmapped', '=', query.severity_unmapped);
  }
  if (query.from_time) base = base.where('alerts.occurred_at', '>=', new Date(query.from_time));
  if (query.to_time) base = base.where('alerts.occurred_at', '<=', new Date(query.to_time));
  const tags = query.tags === undefined ? [] : Array.isArray(query.tags) ? query.tags : [query.tags];
  if (tags.length > 0) base = base.where('alerts.tags', '@>', sql<string[]>`${tags}::text[]`);
  if (query.detection_rule_uuid) {
    const ruleUuid = query.detection_rule_uuid;
    base = base.where('alerts.detection_rule_id', 'in', (eb: ExpressionBuilder<Database, 'alerts'>) =>
      eb.selectFrom('detection_rules').select('detection_rules.id').where('detection_rules.uuid', '=', ruleUuid),
    );
  }
  return base;
}

/**
 * The statements behind `listAlerts` (exported for the read benchmark's EXPLAIN):
 *
 * - `page`: the page's ids in order, then their rows. Every sort key ends in `occurred_at, id` in the
 *   same direction, which an index serves for each key but title (0010), so a page is an index walk
 *   that stops after offset + page_size entries rather than a sort of every match; the offset is
 *   skipped on ids alone, before any row is fetched;
 * - `count`: the matches, counted up to ALERT_TOTAL_EXACT_UP_TO + 1 (run only when the planner expects
 *   no more than that, at a cost below ALERT_EXACT_COUNT_MAX_COST);
 * - `matching`: the uncapped match set, only ever EXPLAINed (not run) for the planner's row estimate.
 */
export function alertListStatements(db: Db, query: AlertListInput) {
  const base = filteredAlerts(db, query);
  const direction = query.sort_order ?? 'desc';
  const sortBy = query.sort_by ?? 'occurred_at';
  const key =
    sortBy === 'severity'
      ? SEVERITY_RANK
      : sortBy === 'malice'
        ? sql.ref('alerts.malice_rank')
        : sortBy === 'occurred_at' || sortBy === 'created_at'
          ? null
          : sql.ref(`alerts.${sortBy}`);
  const time = sortBy === 'created_at' ? 'alerts.created_at' : 'alerts.occurred_at';
  const ids = (key === null ? base : base.orderBy(key, direction))
    .select('alerts.id')
    .orderBy(time, direction)
    .orderBy('alerts.id', direction)
    .limit(query.page_size)
    .offset((query.page - 1) * query.page_size);
  const rows = db.selectFrom('alerts').innerJoin(ids.as('page'), 'page.id', 'alerts.id').select(SUMMARY_COLUMNS);
  const page = (key === null ? rows : rows.orderBy(key, direction))
    .orderBy(time, direction)
    .orderBy('alerts.id', direction);
  const count = db
    .selectFrom(
      base
        .select(sql<number>`1`.as('one'))
        .limit(ALERT_TOTAL_EXACT_UP_TO + 1)
        .as('capped'),
    )
    .select((eb) => eb.fn.countAll<string>().as('n'));
  const matching = base.select(sql<number>`1`.as('one'));
  return { page, count, matching };
}

/**
 * Past this planner cost (units of one sequential page read; a random one is 4) counting even a few
 * matches exactly is not cheap — a filter no index serves scans the table — so the total stays an
 * estimate. 10,000 is a few ms of work at default settings.
 */
export const ALERT_EXACT_COUNT_MAX_COST = 10_000;

/** The planner's row and cost estimates for `query` (EXPLAIN, nothing executed). */
async function estimate(db: Db, query: { compile(): CompiledQuery }): Promise<{ rows: number; cost: number }> {
  const compiled = query.compile();
  const result = await db.executeQuery<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number; 'Total Cost': number } }] }>(
    CompiledQuery.raw(`EXPLAIN (FORMAT JSON) ${compiled.sql}`, [...compiled.parameters]),
  );
  const plan = result.rows[0]?.['QUERY PLAN'][0]?.Plan;
  return { rows: Math.round(plan?.['Plan Rows'] ?? 0), cost: plan?.['Total Cost'] ?? Number.POSITIVE_INFINITY };
}

export async function listAlerts(ctx: ServiceContext, query: AlertListInput): Promise<Page<AlertSummary>> {
  authorize(ctx, 'alerts:read');
  const { page, count, matching } = alertListStatements(ctx.db, query);
  const [rows, planned] = await Promise.all([page.execute(), estimate(ctx.db, matching)]);
  const data = rows.map(toSummary);
  const offset = (query.page - 1) * query.page_size;
  const exactPage = (total: number): Page<AlertSummary> => pageOf(data, total, query);
  // A short, non-empty page (or an empty first page) ends the list: its end is the exact total.
  if (rows.length < query.page_size && (rows.length > 0 || offset === 0)) return exactPage(offset + rows.length);
  let atLeast = rows.length > 0 ? offset + rows.length : 0; // a full page proves this many
  if (planned.rows <= ALERT_TOTAL_EXACT_UP_TO && planned.cost <= ALERT_EXACT_COUNT_MAX_COST) {
    const exact = Number((await count.executeTakeFirstOrThrow()).n);
    if (exact <= ALERT_TOTAL_EXACT_UP_TO) return exactPage(exact);
    atLeast = Math.max(atLeast, exact);
  }
  // An empty page past the first proves at most `offset`.
  const total = rows.length === 0 ? Math.min(Math.max(planned.rows, atLeast), offset) : Math.max(planned.rows, atLeast);
  return { ...pageOf(data, total, query), total_is_estimate: true };
}

export async function alertIdByUuid(db: Db, uuid: string): Promise<number> {
  const row = await db.selectFrom('alerts').select('id').where('uuid', '=', uuid).executeTakeFirst();
  if (!row) throw notFound('Alert');
  return row.id;
}

async function indicatorsOf(db: Db, alertId: number): Promise<AlertIndicator[]> {
  const rows = await db
    .selectFrom('alert_indicators')
    .innerJoin('indicators', 'indicators.id', 'alert_indicators.indicator_id')
    .select([...INDICATOR_COLUMNS, 'alert_indicators.source_field'])
    .where('alert_indicators.alert_id', '=', alertId)
    .orderBy('alert_indicators.id')
    .execute();
  return rows.map((row) => ({ ...toIndicator(row), source_field: row.source_field }));
}

export async function listAlertIndicators(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<AlertIndicator[]> {
  authorize(ctx, 'alerts:read');
  return indicatorsOf(ctx.db, await alertIdByUuid(ctx.db, uuid));
}

/** One alert and facts about it (source, indicator count, enrichment state); REST sends them as `{data, meta}`. */
export interface AlertDetail {
  alert: Alert;
  meta: Record<string, unknown>;
}

export async function getAlert(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<AlertDetail> {
  authorize(ctx, 'alerts:read');
  return loadAlert(ctx.db, uuid);
}

export async function loadAlert(db: Db, uuid: string): Promise<AlertDetail> {
  const row = await db
    .selectFrom('alerts')
    .leftJoin('detection_rules', 'detection_rules.id', 'alerts.detection_rule_id')
    .select([
      ...SUMMARY_COLUMNS,
      'alerts.enriched_at',
      'alerts.fingerprint',
      'alerts.last_seen_at',
      'alerts.escalation_count',
      'alerts.acknowledged_at',
      'alerts.triaged_at',
      'alerts.detection_rule_id',
      'alerts.normalized',
      'alerts.raw_payload',
      'alerts.malice_override',
      'alerts.malice_override_source',
      'alerts.malice_override_at',
      'alerts.agent_findings',
      'alerts.enrichment_summary',
      'detection_rules.uuid as rule_uuid',
      'detection_rules.name as rule_name',
      'detection_rules.source_rule_id as rule_source_rule_id',
      'detection_rules.source_name as rule_source_name',
      'detection_rules.severity as rule_severity',
      'detection_rules.mitre_tactics as rule_mitre_tactics',
      'detection_rules.mitre_techniques as rule_mitre_techniques',
      'detection_rules.documentation as rule_documentation',
    ])
    .where('alerts.uuid', '=', uuid)
    .executeTakeFirst();
  if (!row) throw notFound('Alert');
  const [indicators, contextDocuments] = await Promise.all([indicatorsOf(db, row.id), contextDocumentsFor(db, row.id)]);
  const summary = (row.enrichment_summary ?? null) as EnrichmentSummary | null;
  const alert: Alert = {
    ...toSummary(row),
    enriched_at: iso(row.enriched_at),
    fingerprint: row.fingerprint,
    last_seen_at: iso(row.last_seen_at),
    escalation_count: row.escalation_count,
    acknowledged_at: iso(row.acknowledged_at),
    triaged_at: iso(row.triaged_at),
    detection_rule_id: row.detection_rule_id,
    detection_rule: row.rule_uuid
      ? {
          uuid: row.rule_uuid,
          name: row.rule_name ?? '',
          source_rule_id: row.rule_source_rule_id ?? null,
          source_name: row.rule_source_name ?? null,
          severity: row.rule_severity ?? null,
          mitre_tactics: row.rule_mitre_tactics ?? [],
          mitre_techniques: row.rule_mitre_techniques ?? [],
          documentation: row.rule_documentation ?? null,
        }
      : null,
    normalized: (row.normalized ?? {}) as Record<string, unknown>,
    raw_payload: (row.raw_payload ?? {}) as Record<string, unknown>,
    malice: alertMalice(row.malice_override, indicators),
    malice_override: row.malice_override as MaliceLevel | null,
    malice_override_source: row.malice_override_source,
    malice_override_at: iso(row.malice_override_at),
    indicators,
    enrichment: summary,
    context_documents: contextDocuments,
    agent_findings: (row.agent_findings as Finding[] | null) ?? null,
  };
  const meta = {
    generated_at: new Date().toISOString(),
    alert_source: row.source_name,
    indicator_count: indicators.length,
    enrichment: {
      status: row.enrichment_status,
      succeeded: summary?.providers_succeeded ?? [],
      failed: summary?.providers_failed ?? [],
      skipped: summary?.providers_skipped ?? [],
      deferred: summary?.providers_deferred ?? [],
      retry_at: summary?.retry_at ?? null,
      enriched_at: iso(row.enriched_at),
    },
    detection_rule_matched: row.rule_uuid !== null,
  };
  return { alert, meta };
}

export async function listAlertActivity(
  ctx: ServiceContext,
  { uuid, query: page }: { uuid: string; query: PageQuery },
) {
  authorize(ctx, 'alerts:read');
  const alertId = await alertIdByUuid(ctx.db, uuid);
  const base = ctx.db.selectFrom('activity_events').where('alert_id', '=', alertId);
  const [rows, count] = await Promise.all([
    base
      .select([
        'uuid',
        'event_type',
        'actor_type',
        'actor_key_prefix',
        'actor_user_uuid',
        'actor_user_email',
        'references',
        'created_at',
      ])
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(page.page_size)
      .offset((page.page - 1) * page.page_size)
      .execute(),
    base.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ]);
  const data: ActivityEvent[] = rows.map((r) => ({
    uuid: r.uuid,
    event_type: r.event_type,
    actor_type: r.actor_type as ActivityEvent['actor_type'],
    actor_key_prefix: r.actor_key_prefix,
    actor_user: r.actor_user_uuid ? { uuid: r.actor_user_uuid, email: r.actor_user_email ?? '' } : null,
    references: (r.references ?? {}) as Record<string, unknown>,
    created_at: iso(r.created_at),
  }));
  return pageOf(data, Number(count.n), page);
}
