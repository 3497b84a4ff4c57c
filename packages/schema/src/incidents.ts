import { z } from 'zod';
import { AlertSummarySchema } from './alerts.js';
import { SortOrderSchema, TimestampSchema, UuidSchema } from './common.js';
import {
  ActorTypeSchema,
  AlertSeveritySchema,
  AlertStatusSchema,
  CloseClassificationSchema,
  IndicatorTypeSchema,
  MaliceLevelSchema,
} from './enums.js';

/**
 * Incidents (issue 23): related alerts grouped by shared entities, rule + entity or the source's own
 * grouping. Status and classification are the alert's enums; a merged incident is Closed / Duplicate
 * with `merged_into_uuid` set.
 */

/** Entity types correlation may count: the indicator types, and `host` (a hostname an alert names). */
export const IncidentEntityTypeSchema = z.enum([
  'account',
  'host',
  'ip',
  'domain',
  'url',
  'hash_md5',
  'hash_sha1',
  'hash_sha256',
  'email',
]);
export type IncidentEntityType = z.infer<typeof IncidentEntityTypeSchema>;
export const INCIDENT_ENTITY_TYPES = IncidentEntityTypeSchema.options;

/**
 * Why an alert is a member: `shared_entity` (entities shared with an earlier alert), `rule_entity`
 * (the same detection rule on the same entity), `source_group` (the SIEM grouped them: a Sentinel
 * incident, an Elastic alert group, a Splunk ES notable), `analyst` (merged, split or moved by hand;
 * such memberships are pinned).
 */
export const CorrelationRuleSchema = z.enum(['shared_entity', 'rule_entity', 'source_group', 'analyst']);
export type CorrelationRule = z.infer<typeof CorrelationRuleSchema>;

export const IncidentEntitySchema = z
  .object({ type: IncidentEntityTypeSchema, value: z.string() })
  .meta({ id: 'IncidentEntity' });
export type IncidentEntity = z.infer<typeof IncidentEntitySchema>;

/** The explanation stored with a membership (like an indicator's verdict explanation). */
export const IncidentMembershipReasonSchema = z
  .object({
    rule: CorrelationRuleSchema,
    /** The shared values (at most 20), or the rule's entity. */
    entities: z.array(IncidentEntitySchema),
    /** The earlier (or, for the alert that opened the incident, the later) alert it matched. */
    matched_alert_uuid: UuidSchema.nullable(),
    /** `rule_entity`: the detection rule both alerts fired. */
    detection_rule_uuid: UuidSchema.nullable(),
    /** `source_group`: the source and its own group id (e.g. a Sentinel incident number). */
    source_group: z.object({ source_name: z.string(), field: z.string(), value: z.string() }).nullable(),
    /** `analyst`: merge, split or move. */
    action: z.enum(['merge', 'split', 'move']).nullable(),
    /** One sentence for people and agents. */
    summary: z.string(),
  })
  .meta({ id: 'IncidentMembershipReason' });
export type IncidentMembershipReason = z.infer<typeof IncidentMembershipReasonSchema>;

// ---------------------------------------------------------------- correlation rules (settings)

const boundedValue = z.string().trim().min(1).max(2048);

/** Correlation rules: stored in `settings` (key `incident_correlation`); every field has a safe default. */
export const CorrelationConfigSchema = z
  .object({
    /** Off: correlation does nothing (existing incidents stay). */
    enabled: z.boolean().default(true),
    /** Alerts correlate when their times are at most this far apart. */
    window_minutes: z
      .number()
      .int()
      .min(1)
      .max(30 * 24 * 60)
      .default(24 * 60),
    /** Entity types that count. */
    entity_types: z
      .array(IncidentEntityTypeSchema)
      .max(INCIDENT_ENTITY_TYPES.length)
      .default([...INCIDENT_ENTITY_TYPES]),
    /** Shared entities needed to join on entities alone (rule + entity and source groups need one). */
    min_shared_entities: z.number().int().min(1).max(10).default(1),
    /** A value on more alerts than this within the window is shared infrastructure: it never correlates by itself. */
    prevalence_cap: z.number().int().min(2).max(10_000).default(20),
    /** Never correlate these values (exact match, case-insensitive), e.g. the SIEM's own host names. */
    excluded_values: z.array(boundedValue).max(1000).default([]),
    /** Never correlate IPs in these ranges (CIDR), e.g. the SIEM's and scanners' own addresses. */
    excluded_cidrs: z.array(z.string().trim().min(1).max(64)).max(200).default([]),
    /** Private, loopback, link-local and other non-public addresses never correlate. */
    ignore_private_ips: z.boolean().default(true),
    /** The same detection rule on the same entity correlates (even when the entity is prevalent). */
    rule_entity: z.boolean().default(true),
    /** The source's own grouping correlates (Sentinel incident, Elastic group, Splunk ES notable). */
    source_grouping: z.boolean().default(true),
  })
  .strict()
  .meta({ id: 'CorrelationConfig' });
export type CorrelationConfig = z.infer<typeof CorrelationConfigSchema>;
export type CorrelationConfigInput = z.input<typeof CorrelationConfigSchema>;

// ---------------------------------------------------------------- incidents

export const IncidentMetricsSchema = z
  .object({
    /** First member's ingest − its occurrence (time to detect). */
    time_to_detect_seconds: z.number().nullable(),
    /** Incident opened → first moved out of Open (time to acknowledge). */
    time_to_acknowledge_seconds: z.number().nullable(),
    /** Incident opened → Closed (time to contain / conclude). */
    time_to_close_seconds: z.number().nullable(),
  })
  .meta({ id: 'IncidentMetrics' });
export type IncidentMetrics = z.infer<typeof IncidentMetricsSchema>;

export const IncidentSummarySchema = z
  .object({
    uuid: UuidSchema,
    title: z.string(),
    /** The override when set, else the worst member's severity. */
    severity: AlertSeveritySchema,
    severity_override: AlertSeveritySchema.nullable(),
    status: AlertStatusSchema,
    close_classification: CloseClassificationSchema.nullable(),
    alert_count: z.number().int(),
    first_alert_at: TimestampSchema.nullable(),
    last_alert_at: TimestampSchema.nullable(),
    merged_into_uuid: UuidSchema.nullable(),
    acknowledged_at: TimestampSchema.nullable(),
    triaged_at: TimestampSchema.nullable(),
    closed_at: TimestampSchema.nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: 'IncidentSummary' });
export type IncidentSummary = z.infer<typeof IncidentSummarySchema>;

export const IncidentMemberSchema = AlertSummarySchema.extend({
  membership: z.object({
    reason: IncidentMembershipReasonSchema,
    pinned: z.boolean(),
    added_by: z.enum(['correlation', 'analyst']),
    added_at: TimestampSchema,
  }),
}).meta({ id: 'IncidentMember' });
export type IncidentMember = z.infer<typeof IncidentMemberSchema>;

/** An entity on two or more member alerts, with its verdict. */
export const IncidentSharedEntitySchema = z
  .object({
    type: IndicatorTypeSchema,
    value: z.string(),
    indicator_uuid: UuidSchema,
    malice: MaliceLevelSchema,
    alert_count: z.number().int(),
    /** The member alerts carrying it (at most 50, oldest first): the edges of the shared-entity graph. */
    alert_uuids: z.array(UuidSchema),
  })
  .meta({ id: 'IncidentSharedEntity' });
export type IncidentSharedEntity = z.infer<typeof IncidentSharedEntitySchema>;

/** Most members an incident detail lists (the newest); `alert_count` is the whole. */
export const INCIDENT_DETAIL_MAX_ALERTS = 500;

export const IncidentSchema = IncidentSummarySchema.extend({
  /** Newest first, at most INCIDENT_DETAIL_MAX_ALERTS. */
  alerts: z.array(IncidentMemberSchema),
  /** Entities on two or more members (at most 200), most shared first. */
  shared_entities: z.array(IncidentSharedEntitySchema),
  metrics: IncidentMetricsSchema,
  finding_count: z.number().int(),
}).meta({ id: 'Incident' });
export type Incident = z.infer<typeof IncidentSchema>;

const csv = z.string().max(1000).optional();

export const IncidentListQuerySchema = z.object({
  status: csv,
  severity: csv,
  /** Incidents opened at or after / at or before. */
  from_time: z.iso.datetime({ offset: true }).optional(),
  to_time: z.iso.datetime({ offset: true }).optional(),
  /** The incident holding this alert. */
  alert_uuid: UuidSchema.optional(),
  /** Title contains (case-insensitive, literal). */
  q: z.string().trim().min(1).max(200).optional(),
  sort_by: z.enum(['created_at', 'last_alert_at', 'severity', 'alert_count', 'status']).optional(),
  sort_order: SortOrderSchema.optional(),
});
export type IncidentListQuery = z.infer<typeof IncidentListQuerySchema>;

export const IncidentPatchSchema = z
  .object({
    title: z.string().trim().min(1).max(500).optional(),
    status: AlertStatusSchema.optional(),
    /** null hands severity back to the members (the worst of them). */
    severity: AlertSeveritySchema.exclude(['Pending']).nullable().optional(),
    close_classification: CloseClassificationSchema.optional(),
  })
  .strict()
  .refine((p) => p.status !== 'Closed' || p.close_classification !== undefined, {
    message: 'Closing an incident requires close_classification.',
    path: ['close_classification'],
  })
  .meta({ id: 'IncidentPatch' });
export type IncidentPatch = z.infer<typeof IncidentPatchSchema>;

/** `POST /v1/incidents/{uuid}/merge`: these incidents' alerts move into `{uuid}`; they close as Duplicate. */
export const IncidentMergeRequestSchema = z
  .object({ incident_uuids: z.array(UuidSchema).min(1).max(50) })
  .strict()
  .meta({ id: 'IncidentMergeRequest' });
export type IncidentMergeRequest = z.infer<typeof IncidentMergeRequestSchema>;

/** `POST /v1/incidents/{uuid}/split`: these member alerts leave for a new incident. */
export const IncidentSplitRequestSchema = z
  .object({
    alert_uuids: z.array(UuidSchema).min(1).max(500),
    title: z.string().trim().min(1).max(500).optional(),
  })
  .strict()
  .meta({ id: 'IncidentSplitRequest' });
export type IncidentSplitRequest = z.infer<typeof IncidentSplitRequestSchema>;

/** `POST /v1/incidents/{uuid}/alerts`: move these alerts (from any incident, or none) into `{uuid}`. */
export const IncidentAddAlertsRequestSchema = z
  .object({ alert_uuids: z.array(UuidSchema).min(1).max(500) })
  .strict()
  .meta({ id: 'IncidentAddAlertsRequest' });
export type IncidentAddAlertsRequest = z.infer<typeof IncidentAddAlertsRequestSchema>;

export const IncidentEventTypeSchema = z.enum([
  'incident_opened',
  'incident_alert_added',
  'incident_alert_removed',
  'incident_merged',
  'incident_split',
  'incident_status_updated',
  'incident_closed',
  'incident_severity_updated',
  'incident_classification_updated',
  'incident_title_updated',
  'incident_finding_added',
]);
export type IncidentEventType = z.infer<typeof IncidentEventTypeSchema>;

/** One entry of an incident's timeline. */
export const IncidentEventSchema = z
  .object({
    uuid: UuidSchema,
    event_type: IncidentEventTypeSchema,
    actor_type: ActorTypeSchema,
    actor_key_prefix: z.string().nullable(),
    alert_uuid: UuidSchema.nullable(),
    references: z.record(z.string(), z.unknown()),
    created_at: TimestampSchema,
  })
  .meta({ id: 'IncidentEvent' });
export type IncidentEvent = z.infer<typeof IncidentEventSchema>;

// ---------------------------------------------------------------- dry run

export const CorrelationDryRunRequestSchema = z
  .object({
    from_time: z.iso.datetime({ offset: true }),
    to_time: z.iso.datetime({ offset: true }),
    /** Rules to try instead of the stored ones (fields left out keep the stored value). */
    config: CorrelationConfigSchema.partial().optional(),
    /** Alerts replayed at most (oldest first); `truncated` says when the range held more. */
    max_alerts: z.number().int().min(1).max(10_000).default(2000),
  })
  .strict()
  .refine((r) => Date.parse(r.from_time) <= Date.parse(r.to_time), {
    message: 'from_time must not be after to_time.',
    path: ['from_time'],
  })
  .meta({ id: 'CorrelationDryRunRequest' });
export type CorrelationDryRunRequest = z.input<typeof CorrelationDryRunRequestSchema>;

export const CorrelationDryRunGroupSchema = z
  .object({
    title: z.string(),
    severity: AlertSeveritySchema,
    alert_count: z.number().int(),
    /** Members in join order (at most 100), each with why it would join. */
    alerts: z.array(
      z.object({
        uuid: UuidSchema,
        title: z.string(),
        occurred_at: TimestampSchema,
        reason: IncidentMembershipReasonSchema,
      }),
    ),
  })
  .meta({ id: 'CorrelationDryRunGroup' });

export const CorrelationDryRunResultSchema = z
  .object({
    config: CorrelationConfigSchema,
    alerts_considered: z.number().int(),
    truncated: z.boolean(),
    /** Groups of two or more alerts that would form incidents, largest first. */
    groups: z.array(CorrelationDryRunGroupSchema),
    /** Alerts that would stay on their own. */
    ungrouped_count: z.number().int(),
  })
  .meta({ id: 'CorrelationDryRunResult' });
export type CorrelationDryRunResult = z.infer<typeof CorrelationDryRunResultSchema>;
