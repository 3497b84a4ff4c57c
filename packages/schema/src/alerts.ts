import { z } from 'zod';
import { SortOrderSchema, TimestampSchema, UuidSchema } from './common.js';
import { ContextDocumentMatchSchema } from './context-api.js';
import {
  EnrichmentProviderResultSchema,
  EnrichmentSummarySchema,
  ProviderResultSummarySchema,
  VerdictExplanationSchema,
} from './enrichment.js';
import {
  ActorTypeSchema,
  AlertSeveritySchema,
  AlertStatusSchema,
  CloseClassificationSchema,
  EnrichmentStatusSchema,
  FindingConfidenceSchema,
  IndicatorTypeSchema,
  MaliceLevelSchema,
} from './enums.js';
import { ActorUserSchema } from './users.js';

/** Body of `POST /v1/alerts`: a payload in a registered source's format. */
export const AlertIngestRequestSchema = z
  .object({
    source_name: z.string().min(1).max(100),
    payload: z.record(z.string(), z.unknown()),
  })
  .strict()
  .meta({ id: 'AlertIngestRequest' });

export const IngestAcceptedSchema = z
  .object({
    alert_uuid: UuidSchema,
    /** `queued`: a new alert; `deduplicated`: counted on an earlier alert; `escalated`: a duplicate with higher severity. */
    status: z.enum(['queued', 'deduplicated', 'escalated']),
    is_duplicate: z.boolean(),
    duplicate_count: z.number().int().nullable(),
  })
  .meta({ id: 'IngestAccepted' });
export type IngestAccepted = z.infer<typeof IngestAcceptedSchema>;

export const FindingSchema = z
  .object({
    id: z.string(),
    agent_name: z.string(),
    summary: z.string(),
    confidence: FindingConfidenceSchema.nullable(),
    recommended_action: z.string().nullable(),
    evidence: z.record(z.string(), z.unknown()).nullable(),
    posted_at: TimestampSchema,
  })
  .meta({ id: 'Finding' });
export type Finding = z.infer<typeof FindingSchema>;

export const IndicatorSchema = z
  .object({
    uuid: UuidSchema,
    type: IndicatorTypeSchema,
    value: z.string(),
    first_seen: TimestampSchema,
    last_seen: TimestampSchema,
    is_enriched: z.boolean(),
    malice: MaliceLevelSchema,
    malice_source: z.enum(['enrichment', 'analyst']),
    malice_overridden_at: TimestampSchema.nullable(),
    /** Why the indicator has its verdict: provider, rule, field and value, or the analyst. */
    malice_explanation: VerdictExplanationSchema.nullable(),
    enriched_at: TimestampSchema.nullable(),
    /** Latest result per provider (raw responses only in the indicator detail). */
    enrichment_results: z.record(z.string(), ProviderResultSummarySchema).nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: 'Indicator' });
export type Indicator = z.infer<typeof IndicatorSchema>;

/** One indicator with each provider's full result, raw response included. */
export const IndicatorDetailSchema = IndicatorSchema.extend({
  enrichment_results: z.record(z.string(), EnrichmentProviderResultSchema).nullable(),
}).meta({ id: 'IndicatorDetail' });
export type IndicatorDetail = z.infer<typeof IndicatorDetailSchema>;

/** An analyst's verdict for an indicator; `null` hands the verdict back to the providers. */
export const IndicatorPatchSchema = z
  .object({ malice: MaliceLevelSchema.nullable() })
  .strict()
  .meta({ id: 'IndicatorPatch' });
export type IndicatorPatch = z.infer<typeof IndicatorPatchSchema>;

/** Indicators an analyst or agent adds to an alert by hand (`POST /v1/alerts/{uuid}/indicators`). */
export const IndicatorAddRequestSchema = z
  .object({
    indicators: z
      .array(z.object({ type: IndicatorTypeSchema, value: z.string().trim().min(1).max(2048) }).strict())
      .min(1)
      .max(100),
  })
  .strict()
  .meta({ id: 'IndicatorAddRequest' });
export type IndicatorAddRequest = z.input<typeof IndicatorAddRequestSchema>;

export const IndicatorAddResultSchema = z
  .object({
    /** Links that did not exist before (adding an indicator twice adds it once). */
    added_count: z.number().int(),
    indicators: z.array(IndicatorSchema),
    enrich_requested: z.boolean(),
  })
  .meta({ id: 'IndicatorAddResult' });
export type IndicatorAddResult = z.infer<typeof IndicatorAddResultSchema>;

/** An indicator as linked to one alert: where in the alert it was found. */
export const AlertIndicatorSchema = IndicatorSchema.extend({
  source_field: z.string().nullable(),
}).meta({ id: 'AlertIndicator' });
export type AlertIndicator = z.infer<typeof AlertIndicatorSchema>;

const alertCore = {
  uuid: UuidSchema,
  title: z.string(),
  description: z.string().nullable(),
  severity: AlertSeveritySchema,
  /** Ours: the severity as the source sent it (≤ 64 chars), null when it sent none. */
  severity_raw: z.string().nullable(),
  /** Ours: the source sent a severity no table could read; `severity` is then the visible default (Medium). */
  severity_unmapped: z.boolean(),
  status: AlertStatusSchema,
  enrichment_status: EnrichmentStatusSchema,
  source_name: z.string(),
  occurred_at: TimestampSchema,
  /** True when the source sent no usable time and `occurred_at` is the ingest time. */
  occurred_at_inferred: z.boolean(),
  ingested_at: TimestampSchema,
  is_enriched: z.boolean(),
  duplicate_count: z.number().int(),
  tags: z.array(z.string()),
  close_classification: CloseClassificationSchema.nullable(),
  closed_at: TimestampSchema.nullable(),
  created_at: TimestampSchema,
  updated_at: TimestampSchema,
};

export const AlertSummarySchema = z
  .object({
    ...alertCore,
    /** Ours: the alert's verdict (the analyst's override, else its worst indicator's), as on the alert. */
    malice: MaliceLevelSchema,
    /** Ours: how many indicators the alert has. */
    indicator_count: z.number().int(),
  })
  .meta({ id: 'AlertSummary' });
export type AlertSummary = z.infer<typeof AlertSummarySchema>;

export const DetectionRuleSummarySchema = z
  .object({
    uuid: UuidSchema,
    name: z.string(),
    source_rule_id: z.string().nullable(),
    source_name: z.string().nullable(),
    severity: z.string().nullable(),
    mitre_tactics: z.array(z.string()),
    mitre_techniques: z.array(z.string()),
    documentation: z.string().nullable(),
  })
  .meta({ id: 'DetectionRuleSummary' });

export const AlertSchema = z
  .object({
    ...alertCore,
    enriched_at: TimestampSchema.nullable(),
    fingerprint: z.string().nullable(),
    last_seen_at: TimestampSchema.nullable(),
    escalation_count: z.number().int(),
    acknowledged_at: TimestampSchema.nullable(),
    triaged_at: TimestampSchema.nullable(),
    detection_rule_id: z.number().int().nullable(),
    detection_rule: DetectionRuleSummarySchema.nullable(),
    /** The plugin's normalized view, including `extra` facts. */
    normalized: z.record(z.string(), z.unknown()),
    raw_payload: z.record(z.string(), z.unknown()),
    malice: MaliceLevelSchema,
    malice_override: MaliceLevelSchema.nullable(),
    malice_override_source: z.string().nullable(),
    malice_override_at: TimestampSchema.nullable(),
    indicators: z.array(AlertIndicatorSchema),
    /** What enrichment did, per provider; null until the alert was enriched. */
    enrichment: EnrichmentSummarySchema.nullable(),
    /** Runbooks, IR plans and other documents that apply (global first, then targeted), with their markdown. */
    context_documents: z.array(ContextDocumentMatchSchema),
    agent_findings: z.array(FindingSchema).nullable(),
  })
  .meta({ id: 'Alert' });
export type Alert = z.infer<typeof AlertSchema>;

export const AlertPatchSchema = z
  .object({
    status: AlertStatusSchema.optional(),
    severity: AlertSeveritySchema.exclude(['Pending']).optional(),
    close_classification: CloseClassificationSchema.optional(),
    tags: z.array(z.string().trim().min(1).max(100)).max(100).optional(),
    malice_override: MaliceLevelSchema.optional(),
    reset_malice_override: z.boolean().default(false),
  })
  .strict()
  .refine((p) => p.status !== 'Closed' || p.close_classification !== undefined, {
    message: 'Closing an alert requires close_classification.',
    path: ['close_classification'],
  })
  .meta({ id: 'AlertPatch' });
export type AlertPatch = z.infer<typeof AlertPatchSchema>;

const csv = z.string().max(1000).optional();

export const AlertListQuerySchema = z.object({
  status: csv,
  severity: csv,
  source_name: csv,
  enrichment_status: csv,
  is_enriched: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  /** Ours: only alerts whose source severity could (false) or could not (true) be read. */
  severity_unmapped: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  detection_rule_uuid: UuidSchema.optional(),
  from_time: z.iso.datetime({ offset: true }).optional(),
  to_time: z.iso.datetime({ offset: true }).optional(),
  tags: z.union([z.string(), z.array(z.string())]).optional(),
  /** Ours: alerts whose verdict is one of these (comma-separated MaliceLevel values). */
  malice: csv,
  /** `malice` (ours) sorts by the verdict's weight (Malicious worst), like `severity`. */
  sort_by: z.enum(['title', 'status', 'severity', 'malice', 'source_name', 'occurred_at', 'created_at']).optional(),
  sort_order: SortOrderSchema.optional(),
});
export type AlertListQuery = z.infer<typeof AlertListQuerySchema>;

export const ActivityEventSchema = z
  .object({
    uuid: UuidSchema,
    event_type: z.string(),
    actor_type: ActorTypeSchema,
    actor_key_prefix: z.string().nullable(),
    /** Ours (issue 21): the person who acted (signed in, or a personal key's owner), else null. */
    actor_user: ActorUserSchema.nullable(),
    references: z.record(z.string(), z.unknown()),
    created_at: TimestampSchema,
  })
  .meta({ id: 'ActivityEvent' });
export type ActivityEvent = z.infer<typeof ActivityEventSchema>;
