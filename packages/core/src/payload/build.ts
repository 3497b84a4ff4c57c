import type { Database, Db } from '@calseta/db';
import type {
  EnrichmentProviderResult,
  EnrichmentSummary,
  Finding,
  MaliceLevel,
  RelatedAlert,
  VerdictExplanation,
} from '@calseta/schema';
import { type Selectable, sql } from 'kysely';
import { applicableDocuments } from '../context/documents.js';
import type { TargetingSubject } from '../context/targeting.js';
import { alertMalice } from '../indicators/malice.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound } from '../infra/errors.js';
import { iso } from '../infra/serialize.js';
import { tableCacheOf } from '../infra/table-cache.js';
import { withSpan } from '../infra/telemetry/tracing.js';
import {
  type AgentPayload,
  composePayload,
  FULL_TEXT_MAX,
  MAX_DOCUMENTS,
  type PayloadDetail,
  type PayloadSources,
} from './compose.js';
import { SCAN_MAX } from './text.js';

/** Default token budget (o200k) of an agent payload. */
export const DEFAULT_TOKEN_BUDGET = 2_000;
/** Earlier alerts sharing indicators, at most. */
const RELATED_LIMIT = 10;
/** Earlier links read per indicator of the alert when looking for related alerts (newest first). */
const RELATED_SCAN = 100;
/** Active workflows offered, at most. */
const WORKFLOW_LIMIT = 20;

/** The alert's columns a payload shows or is built from. */
export const PAYLOAD_ALERT_COLUMNS = [
  'uuid',
  'title',
  'description',
  'severity',
  'status',
  'source_name',
  'occurred_at',
  'ingested_at',
  'enriched_at',
  'enrichment_status',
  'tags',
  'close_classification',
  'duplicate_count',
  'normalized',
  'agent_findings',
  'malice_override',
  'enrichment_summary',
  'detection_rule_id',
] as const;

export type PayloadAlertRow = Pick<Selectable<Database['alerts']>, (typeof PAYLOAD_ALERT_COLUMNS)[number]>;

export interface PayloadOptions {
  /** The alert's row as the caller holds it (the pipeline, from the statement that stored it): not read back. */
  alert?: PayloadAlertRow;
  /** o200k tokens the payload must fit in (default DEFAULT_TOKEN_BUDGET). */
  tokenBudget?: number;
  /** `standard` (default): documents as brief summaries with links; `full`: inlined. */
  detail?: PayloadDetail;
  /**
   * The alert's indicators as the caller already holds them (the pipeline, right after storing
   * them): not read back. In link order, with their history — exactly what would be read.
   */
  indicators?: PayloadSources['indicators'];
  /** The alert's targeting facts as the caller holds them (documents are chosen by them). */
  subject?: TargetingSubject;
}

interface RelatedRow {
  uuid: string;
  title: string;
  severity: string;
  status: string;
  close_classification: string | null;
  closed_at: Date | null;
  occurred_at: Date;
  malice_override: string | null;
  agent_findings: unknown;
  shared: string[];
  verdicts: string[];
}

/**
 * Earlier alerts (stored before this one) sharing at least one indicator with it, most shared first,
 * then newest: with their status, classification, verdict and findings, so an agent sees how the same
 * indicators were judged before.
 *
 * Bounded whatever a value's history: the candidates are, per indicator of the alert, its newest
 * `max(RELATED_SCAN, limit)` earlier links (an index range of alert_indicators (indicator_id,
 * alert_id DESC)); each candidate's shared indicators are then counted exactly (its own links, by
 * key). A value on 100,000 alerts costs the same as one on 100; an old alert sharing only such a
 * value with this one, behind its newest links, is not found.
 */
export async function relatedAlerts(db: Db, alertId: number, limit = RELATED_LIMIT): Promise<RelatedAlert[]> {
  const { rows } = await sql<RelatedRow>`
    WITH mine AS MATERIALIZED (
      SELECT indicator_id FROM alert_indicators WHERE alert_id = ${alertId}
    ), candidates AS MATERIALIZED (
      SELECT DISTINCT c.alert_id
      FROM mine
      CROSS JOIN LATERAL (
        SELECT theirs.alert_id FROM alert_indicators theirs
        WHERE theirs.indicator_id = mine.indicator_id AND theirs.alert_id < ${alertId}
        ORDER BY theirs.alert_id DESC LIMIT ${Math.max(RELATED_SCAN, limit)}
      ) c
    ), ranked AS (
      SELECT a.id, a.created_at, shared.n
      FROM (
        -- Each candidate's links by key, matched against the alert's indicators by hash: an index
        -- condition \`= ANY(<its indicators>)\` re-sorted that whole list for every candidate (176 s
        -- for 5,000 indicators shared with 100,000 earlier alerts; OFFSET 0 keeps the key lookup).
        SELECT c.alert_id, count(*) AS n
        FROM candidates c
        CROSS JOIN LATERAL (SELECT x.indicator_id FROM alert_indicators x WHERE x.alert_id = c.alert_id OFFSET 0) l
        JOIN mine m ON m.indicator_id = l.indicator_id
        GROUP BY c.alert_id
      ) shared
      JOIN alerts a ON a.id = shared.alert_id
      ORDER BY shared.n DESC, a.created_at DESC, a.id DESC
      LIMIT ${limit}
    )
    SELECT a.uuid, a.title, a.severity, a.status, a.close_classification, a.closed_at, a.occurred_at,
      a.malice_override, a.agent_findings,
      ARRAY(SELECT i.type || ':' || i.value FROM alert_indicators x JOIN alert_indicators mine
              ON mine.indicator_id = x.indicator_id AND mine.alert_id = ${alertId}
            JOIN indicators i ON i.id = x.indicator_id
            WHERE x.alert_id = a.id) AS shared,
      ARRAY(SELECT i.malice FROM alert_indicators ai JOIN indicators i ON i.id = ai.indicator_id
            WHERE ai.alert_id = a.id) AS verdicts
    FROM ranked r JOIN alerts a ON a.id = r.id
    ORDER BY r.n DESC, r.created_at DESC, r.id DESC`.execute(db);
  return rows.map((r) => ({
    uuid: r.uuid,
    title: r.title,
    severity: r.severity,
    status: r.status,
    close_classification: r.close_classification,
    closed_at: r.closed_at === null ? null : iso(r.closed_at),
    occurred_at: iso(r.occurred_at),
    malice: alertMalice(
      r.malice_override,
      r.verdicts.map((malice) => ({ malice })),
    ),
    shared_indicators: r.shared.sort(),
    findings: (r.agent_findings as Finding[] | null) ?? [],
  }));
}

/**
 * The alert's indicators as the payload shows them, in link order, with our own history of each
 * value: read from indicator_history (migration 0024), kept by the database, one row per value
 * whatever the number of alerts carrying it. `indicators.last_seen` is not kept up to date.
 */
async function linkedIndicators(db: Db, alertId: number): Promise<PayloadSources['indicators']> {
  const indicators = await db
    .selectFrom('alert_indicators')
    .innerJoin('indicators', 'indicators.id', 'alert_indicators.indicator_id')
    .innerJoin('alerts', 'alerts.id', 'alert_indicators.alert_id')
    .leftJoin(
      sql<{ indicator_id: number; alert_count: number; first_seen: Date; last_seen: Date }>`calseta_indicator_history(
        ARRAY(SELECT indicator_id FROM alert_indicators WHERE alert_id = ${alertId}))`.as('h'),
      'h.indicator_id',
      'indicators.id',
    )
    .select([
      'indicators.uuid',
      'indicators.type',
      'indicators.value',
      'indicators.malice',
      'indicators.malice_source',
      'indicators.malice_explanation',
      'indicators.enrichment_results',
      'alert_indicators.source_field',
      // The alert itself, should the history not count it yet.
      sql<number>`coalesce(h.alert_count, 1)`.as('alert_count'),
      sql<Date>`coalesce(h.first_seen, alerts.occurred_at)`.as('first_seen'),
      sql<Date>`coalesce(h.last_seen, alerts.occurred_at)`.as('last_seen'),
    ])
    .where('alert_indicators.alert_id', '=', alertId)
    .orderBy('alert_indicators.id')
    .execute();
  return indicators.map((i) => ({
    uuid: i.uuid,
    type: i.type,
    value: i.value,
    malice: i.malice as MaliceLevel,
    malice_source: i.malice_source,
    source_field: i.source_field,
    explanation: (i.malice_explanation ?? null) as VerdictExplanation | null,
    results: (i.enrichment_results ?? {}) as Record<string, EnrichmentProviderResult>,
    first_seen: iso(i.first_seen),
    last_seen: iso(i.last_seen),
    alert_count: Number(i.alert_count),
  }));
}

/** Load everything the payload is made from, in parallel (the indicators unless `known`). */
export async function loadPayloadSources(
  ctx: ServiceContext,
  alertId: number,
  known: Pick<PayloadOptions, 'alert' | 'indicators' | 'subject'> = {},
): Promise<PayloadSources> {
  const alert =
    known.alert ??
    (await ctx.db.selectFrom('alerts').select(PAYLOAD_ALERT_COLUMNS).where('id', '=', alertId).executeTakeFirst());
  if (!alert) throw notFound('Alert');

  const cache = tableCacheOf(ctx.notifications);
  const [indicators, rule, documents, related, workflows] = await Promise.all([
    known.indicators ?? linkedIndicators(ctx.db, alertId),
    alert.detection_rule_id === null
      ? undefined
      : ctx.db
          .selectFrom('detection_rules')
          .select([
            'uuid',
            'name',
            'source_rule_id',
            'severity',
            'mitre_tactics',
            'mitre_techniques',
            'mitre_subtechniques',
            'documentation',
            'created_by',
            'is_system',
          ])
          .where('id', '=', alert.detection_rule_id)
          .executeTakeFirst(),
    // Only what the payload can show: the first documents, and the start of each.
    applicableDocuments(ctx.db, alertId, {
      limit: MAX_DOCUMENTS,
      contentChars: Math.max(SCAN_MAX, FULL_TEXT_MAX) + 1,
      ...(known.subject === undefined ? {} : { subject: known.subject }),
      cache,
    }),
    // No indicator of the alert was seen on any other alert: nothing can be related.
    known.indicators?.every((i) => (i.alert_count ?? 2) <= 1) ? [] : relatedAlerts(ctx.db, alertId),
    cache.get('workflows', 'payload', () =>
      ctx.db
        .selectFrom('workflows')
        .select(['uuid', 'name', 'documentation', 'risk_level', 'approval_mode', 'indicator_types', 'is_system'])
        .where('state', '=', 'active')
        .orderBy('created_at')
        .orderBy('id') // seeded workflows share one timestamp: a stable order, a stable payload
        .limit(WORKFLOW_LIMIT)
        .execute(),
    ),
  ]);

  return {
    apiBaseUrl: ctx.config.apiBaseUrl ?? 'http://localhost:8000',
    alert: {
      uuid: alert.uuid,
      title: alert.title,
      description: alert.description,
      severity: alert.severity,
      status: alert.status,
      source_name: alert.source_name,
      occurred_at: iso(alert.occurred_at),
      ingested_at: iso(alert.ingested_at),
      enriched_at: iso(alert.enriched_at),
      enrichment_status: alert.enrichment_status,
      malice: alertMalice(alert.malice_override, indicators),
      tags: alert.tags,
      close_classification: alert.close_classification,
      duplicate_count: alert.duplicate_count,
      normalized: (alert.normalized ?? {}) as Record<string, unknown>,
      findings: (alert.agent_findings as Finding[] | null) ?? [],
    },
    enrichment: (alert.enrichment_summary ?? null) as EnrichmentSummary | null,
    indicators,
    rule: rule
      ? {
          uuid: rule.uuid,
          name: rule.name,
          source_rule_id: rule.source_rule_id,
          severity: rule.severity,
          mitre_tactics: rule.mitre_tactics,
          mitre_techniques: rule.mitre_techniques,
          mitre_subtechniques: rule.mitre_subtechniques,
          documentation: rule.documentation,
          // A stub ingest created holds what the alert said; a seed or an admin's rule does not.
          from_alert_source: !rule.is_system && rule.created_by === 'system',
        }
      : null,
    documents: documents.documents.map((d) => ({
      uuid: d.uuid,
      title: d.title,
      document_type: d.document_type,
      is_global: d.is_global,
      // Global documents need admin to write; shipped ones are Calseta's.
      trusted: d.is_global || d.is_system,
      content: d.content,
      length: d.length,
    })),
    documentsTotal: documents.total,
    related,
    workflows,
  };
}

/**
 * The agent payload of an alert: what webhooks deliver, `GET /v1/alerts/{uuid}/context` returns
 * and MCP serves — one builder, fitted into the token budget (see compose.ts).
 */
export async function buildAlertPayload(
  ctx: ServiceContext,
  alertId: number,
  options: PayloadOptions = {},
): Promise<AgentPayload> {
  const detail = options.detail ?? 'standard';
  return withSpan('payload build', { 'calseta.payload.detail': detail }, async () => {
    const sources = await loadPayloadSources(ctx, alertId, options);
    return composePayload(sources, options.tokenBudget ?? DEFAULT_TOKEN_BUDGET, detail);
  });
}
