import type { Db } from '@calseta/db';
import type {
  EnrichmentProviderResult,
  EnrichmentSummary,
  Finding,
  MaliceLevel,
  RelatedAlert,
  VerdictExplanation,
} from '@calseta/schema';
import { sql } from 'kysely';
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
/** Active workflows offered, at most. */
const WORKFLOW_LIMIT = 20;

export interface PayloadOptions {
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

/**
 * Earlier alerts sharing at least one indicator with this one, most shared first, then newest:
 * with their status, classification, verdict and findings, so an agent sees how the same
 * indicators were judged before.
 */
export async function relatedAlerts(db: Db, alertId: number, limit = RELATED_LIMIT): Promise<RelatedAlert[]> {
  const rows = await db
    .selectFrom('alert_indicators as mine')
    .innerJoin('alert_indicators as theirs', 'theirs.indicator_id', 'mine.indicator_id')
    .innerJoin('alerts', 'alerts.id', 'theirs.alert_id')
    .innerJoin('indicators', 'indicators.id', 'mine.indicator_id')
    .innerJoin('alerts as self', 'self.id', 'mine.alert_id')
    .where('mine.alert_id', '=', alertId)
    .where('theirs.alert_id', '!=', alertId)
    .whereRef('alerts.created_at', '<=', 'self.created_at')
    .groupBy('alerts.id')
    .select([
      'alerts.id',
      'alerts.uuid',
      'alerts.title',
      'alerts.severity',
      'alerts.status',
      'alerts.close_classification',
      'alerts.closed_at',
      'alerts.occurred_at',
      'alerts.malice_override',
      'alerts.agent_findings',
      sql<string[]>`array_agg(DISTINCT indicators.type || ':' || indicators.value)`.as('shared'),
      sql<string[]>`(SELECT coalesce(array_agg(i.malice), '{}') FROM alert_indicators ai
        JOIN indicators i ON i.id = ai.indicator_id WHERE ai.alert_id = alerts.id)`.as('verdicts'),
    ])
    .orderBy(sql`count(DISTINCT mine.indicator_id)`, 'desc')
    .orderBy('alerts.created_at', 'desc')
    .limit(limit)
    .execute();
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

/** The alert's indicators as the payload shows them, in link order, with our own history of each value. */
async function linkedIndicators(db: Db, alertId: number): Promise<PayloadSources['indicators']> {
  const indicators = await db
    .selectFrom('alert_indicators')
    .innerJoin('indicators', 'indicators.id', 'alert_indicators.indicator_id')
    .select([
      'indicators.uuid',
      'indicators.type',
      'indicators.value',
      'indicators.malice',
      'indicators.malice_source',
      'indicators.malice_explanation',
      'indicators.enrichment_results',
      'alert_indicators.source_field',
      // Our own history of the value: the alerts that carried it, and when they occurred
      // (ix_alert_indicators_indicator_id_alert_id). `indicators.last_seen` is not kept up to date.
      sql<{ n: number; first: string; last: string }>`(SELECT json_build_object('n', count(*),
          'first', min(a.occurred_at), 'last', max(a.occurred_at))
          FROM alert_indicators h JOIN alerts a ON a.id = h.alert_id
          WHERE h.indicator_id = indicators.id)`.as('history'),
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
    first_seen: new Date(i.history.first).toISOString(),
    last_seen: new Date(i.history.last).toISOString(),
    alert_count: Number(i.history.n),
  }));
}

/** Load everything the payload is made from, in parallel (the indicators unless `known`). */
export async function loadPayloadSources(
  ctx: ServiceContext,
  alertId: number,
  known: Pick<PayloadOptions, 'indicators' | 'subject'> = {},
): Promise<PayloadSources> {
  const alert = await ctx.db
    .selectFrom('alerts')
    .select([
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
    ])
    .where('id', '=', alertId)
    .executeTakeFirst();
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
