/** Metrics, findings and the relationship graph: request and response schemas. */
import { z } from 'zod';
import { FindingSchema } from './alerts.js';
import { TimestampSchema, UuidSchema } from './common.js';
import {
  ActorTypeSchema,
  AlertSeveritySchema,
  AlertStatusSchema,
  ApiKeyTypeSchema,
  FindingConfidenceSchema,
  IndicatorTypeSchema,
  MaliceLevelSchema,
} from './enums.js';
import { ActorUserSchema } from './users.js';

// ---------------------------------------------------------------- windows

const instant = z.iso.datetime({ offset: true });

/**
 * Window of `/v1/metrics/alerts` and `/v1/metrics/workflows`: `from_time ≤ created_at < to_time`.
 * `to_time` defaults to now and `from_time` to 30 days before `to_time`, each independently.
 */
export const MetricsWindowQuerySchema = z.object({
  from_time: instant.optional(),
  to_time: instant.optional(),
});
export type MetricsWindowQuery = z.infer<typeof MetricsWindowQuerySchema>;

/** Window of the per-rule metrics (`from` / `to`, same defaults). */
export const RuleMetricsQuerySchema = z.object({
  from: instant.optional(),
  to: instant.optional(),
});
export type RuleMetricsQuery = z.infer<typeof RuleMetricsQuerySchema>;

// ---------------------------------------------------------------- shared pieces

/** Seconds (float), or null when no alert qualifies. */
const seconds = z.number().nullable();
const counts = z.record(z.string(), z.number().int());
/** Alerts per UTC day of `created_at`, ascending; days without alerts are omitted. */
export const DayCountSchema = z.object({ date: z.string().meta({ example: '2026-03-01' }), count: z.number().int() });
export type DayCount = z.infer<typeof DayCountSchema>;

// ---------------------------------------------------------------- /v1/metrics/alerts

export const AlertMetricsSchema = z
  .object({
    period_from: TimestampSchema,
    period_to: TimestampSchema,
    total_alerts: z.number().int(),
    alerts_by_status: counts,
    alerts_by_severity: counts,
    alerts_by_source: counts,
    alerts_over_time: z.array(DayCountSchema),
    /** Closed as `False Positive …` ÷ all Closed; 0 when none is closed. */
    false_positive_rate: z.number(),
    /** AVG(enriched_at − ingested_at) over enriched alerts. */
    mean_time_to_enrich: seconds,
    /** AVG(created_at − occurred_at), over alerts whose source gave an occurred_at (not inferred). */
    mean_time_to_detect: seconds,
    /** AVG(acknowledged_at − created_at) over acknowledged alerts. */
    mean_time_to_acknowledge: seconds,
    /** AVG(triaged_at − created_at) over triaged alerts. */
    mean_time_to_triage: seconds,
    /** AVG(closed_at − created_at) over closed alerts. */
    mean_time_to_conclusion: seconds,
    /** Open, Triaging or Escalated alerts per severity. */
    active_alerts_by_severity: counts,
    top_detection_rules: z.array(z.object({ uuid: UuidSchema, name: z.string(), count: z.number().int() })),
    /** Enriched alerts ÷ all alerts; 0 when there are none. */
    enrichment_coverage: z.number(),
    /** Ours: alerts whose source sent a severity no table could read (`severity_unmapped`). */
    severity_unmapped_alerts: z.number().int(),
  })
  .meta({ id: 'AlertMetrics' });
export type AlertMetrics = z.infer<typeof AlertMetricsSchema>;

// ---------------------------------------------------------------- /v1/metrics/workflows

export const WorkflowMetricsSchema = z
  .object({
    period_from: TimestampSchema,
    period_to: TimestampSchema,
    /** Every workflow, whatever its state (the summary reports the same number). */
    total_configured: z.number().int(),
    /** Workflows that can run: `state = 'active'` and `is_active`. */
    active: z.number().int(),
    /** Workflows per `workflow_type`; no type → `unset`. */
    workflows_by_type: counts,
    workflow_run_count: z.number().int(),
    /** Successful runs ÷ all runs in the window; 0 when there are none. */
    workflow_success_rate: z.number(),
    workflow_runs_over_time: z.array(DayCountSchema),
    /** Σ `time_saved_minutes` of each successful run's workflow ÷ 60. */
    time_saved_hours: z.number(),
    most_executed_workflows: z.array(z.object({ uuid: UuidSchema, name: z.string(), run_count: z.number().int() })),
  })
  .meta({ id: 'WorkflowMetrics' });
export type WorkflowMetrics = z.infer<typeof WorkflowMetricsSchema>;

// ---------------------------------------------------------------- /v1/metrics/summary

export const QueueMetricsSchema = z
  .object({
    queues: z.array(
      z.object({
        queue: z.string(),
        pending: z.number().int(),
        in_progress: z.number().int(),
        succeeded_30d: z.number().int(),
        failed_30d: z.number().int(),
        avg_duration_seconds: z.number().nullable(),
        oldest_pending_age_seconds: z.number().nullable(),
      }),
    ),
    total_pending: z.number().int(),
    total_in_progress: z.number().int(),
    total_failed_30d: z.number().int(),
    total_succeeded_30d: z.number().int(),
    oldest_pending_age_seconds: z.number().nullable(),
  })
  .meta({ id: 'QueueMetrics' });
export type QueueMetrics = z.infer<typeof QueueMetricsSchema>;

export const MetricsSummarySchema = z
  .object({
    period: z.literal('last_30_days'),
    alerts: z.object({
      total: z.number().int(),
      active: z.number().int(),
      /** Active alerts only. */
      by_severity: counts,
      by_status: counts,
      by_source: counts,
      enrichment_coverage: z.number(),
      mean_time_to_enrich_seconds: seconds,
      false_positive_rate: z.number(),
      mttd_seconds: seconds,
      mtta_seconds: seconds,
      mttt_seconds: seconds,
      mttc_seconds: seconds,
    }),
    workflows: z.object({
      /** Every workflow (as in `/v1/metrics/workflows`). */
      total_configured: z.number().int(),
      /** `state = 'active'` and `is_active`. */
      active: z.number().int(),
      executions: z.number().int(),
      success_rate: z.number(),
      estimated_time_saved_hours: z.number(),
    }),
    approvals: z.object({
      /** Pending and not yet past `expires_at`. */
      pending: z.number().int(),
      approved_last_30_days: z.number().int(),
      /** approved ÷ (approved + rejected) among responded requests; 0 when none. */
      approval_rate: z.number(),
      median_response_time_minutes: z.number().nullable(),
    }),
    platform: z.object({
      context_documents: z.number().int(),
      detection_rules: z.number().int(),
      enrichment_providers: z.number().int(),
      enrichment_providers_by_indicator_type: counts,
      agents: z.number().int(),
      workflows: z.number().int(),
      indicator_mappings: z.number().int(),
    }),
    /** Job queue counts; null when the queue cannot be read. */
    queue: QueueMetricsSchema.nullable(),
  })
  .meta({ id: 'MetricsSummary' });
export type MetricsSummary = z.infer<typeof MetricsSummarySchema>;

// ---------------------------------------------------------------- per detection rule

export const DetectionRuleMetricsSchema = z
  .object({
    detection_rule_uuid: UuidSchema,
    detection_rule_name: z.string(),
    period_from: TimestampSchema,
    period_to: TimestampSchema,
    total_alerts: z.number().int(),
    active_alerts: z.number().int(),
    alerts_by_status: counts,
    alerts_by_severity: counts,
    false_positive_rate: z.number(),
    /** Closed as `True Positive …` ÷ all Closed; 0 when none is closed. */
    true_positive_rate: z.number(),
    /** Closed alerts per classification. */
    close_classifications: counts,
    alerts_over_time: z.array(DayCountSchema),
    /** Closed false positives per creation day. */
    fp_over_time: z.array(DayCountSchema),
    mtta_seconds: seconds,
    mttc_seconds: seconds,
    /** Active alerts per severity. */
    severity_distribution: counts,
    top_indicators: z.array(
      z.object({ type: IndicatorTypeSchema, value: z.string(), count: z.number().int(), malice: MaliceLevelSchema }),
    ),
    alert_sources: counts,
  })
  .meta({ id: 'DetectionRuleMetrics' });
export type DetectionRuleMetrics = z.infer<typeof DetectionRuleMetricsSchema>;

// ---------------------------------------------------------------- findings

/** Maximum serialized size of a finding's evidence. */
export const FINDING_EVIDENCE_MAX_BYTES = 64 * 1024;

export const FindingCreateSchema = z
  .object({
    agent_name: z.string().trim().min(1).max(255),
    summary: z.string().trim().min(1).max(50_000),
    confidence: FindingConfidenceSchema.nullable().optional(),
    recommended_action: z.string().max(50_000).nullable().optional(),
    evidence: z
      .record(z.string(), z.unknown())
      .nullable()
      .optional()
      .superRefine((value, ctx) => {
        if (value == null) return;
        const bytes = new TextEncoder().encode(JSON.stringify(value)).byteLength;
        if (bytes > FINDING_EVIDENCE_MAX_BYTES) {
          ctx.addIssue({
            code: 'custom',
            message: `evidence exceeds maximum size of 64 KB (${bytes} bytes serialized)`,
          });
        }
      }),
  })
  .strict()
  .meta({ id: 'FindingCreate' });
export type FindingCreate = z.input<typeof FindingCreateSchema>;

/** Who posted a finding: the acting key (never its secret). */
export const FindingAuthorSchema = z
  .object({
    actor_type: ActorTypeSchema,
    key_prefix: z.string().nullable(),
    key_name: z.string().nullable(),
    key_type: ApiKeyTypeSchema.nullable(),
    /** The person who posted it (issue 21); absent on findings posted by agents' keys or before. */
    user: ActorUserSchema.optional(),
  })
  .meta({ id: 'FindingAuthor' });
export type FindingAuthor = z.infer<typeof FindingAuthorSchema>;

/** A stored finding: the reference shape plus who posted it (null on findings stored without it). */
export const AlertFindingSchema = FindingSchema.extend({
  posted_by: FindingAuthorSchema.nullable(),
}).meta({ id: 'AlertFinding' });
export type AlertFinding = z.infer<typeof AlertFindingSchema>;

// ---------------------------------------------------------------- relationship graph

export const GraphQuerySchema = z.object({
  sibling_limit: z.coerce.number().int().min(1).max(50).default(10),
});
export type GraphQuery = z.infer<typeof GraphQuerySchema>;

export const GraphAlertNodeSchema = z
  .object({
    uuid: UuidSchema,
    title: z.string(),
    severity: AlertSeveritySchema,
    status: AlertStatusSchema,
    source_name: z.string(),
    occurred_at: TimestampSchema,
    tags: z.array(z.string()),
  })
  .meta({ id: 'GraphAlertNode' });
export type GraphAlertNode = z.infer<typeof GraphAlertNodeSchema>;

export const GraphIndicatorNodeSchema = z
  .object({
    uuid: UuidSchema,
    type: IndicatorTypeSchema,
    value: z.string(),
    malice: MaliceLevelSchema,
    first_seen: TimestampSchema,
    last_seen: TimestampSchema,
    is_enriched: z.boolean(),
    /**
     * Per provider: its extracted `verdict`, `malice` or `risk_score` (as a string), else `enriched`
     * (success), `not_found`, `failed` or `skipped`.
     */
    enrichment_summary: z.record(z.string(), z.string()),
    /** Other alerts linked to this indicator. */
    total_alert_count: z.number().int(),
    /** Up to `sibling_limit` of those alerts, newest `occurred_at` first. */
    sibling_alerts: z.array(GraphAlertNodeSchema),
  })
  .meta({ id: 'GraphIndicatorNode' });
export type GraphIndicatorNode = z.infer<typeof GraphIndicatorNodeSchema>;

export const RelationshipGraphSchema = z
  .object({ alert: GraphAlertNodeSchema, indicators: z.array(GraphIndicatorNodeSchema) })
  .meta({ id: 'RelationshipGraph' });
export type RelationshipGraph = z.infer<typeof RelationshipGraphSchema>;
