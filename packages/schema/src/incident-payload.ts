/**
 * The agent payload of an incident (issue 23): what a per-incident agent receives with
 * `X-Calseta-Event: incident.opened | incident.updated`. Alert text is wrapped in
 * `<untrusted>…</untrusted>` as in the alert payload; shapes below are what core builds
 * (packages/core/src/incidents/payload.ts), checked by its tests.
 */
import { z } from 'zod';
import { UuidSchema } from './common.js';
import { MaliceLevelSchema } from './enums.js';
import { PayloadIndicatorSchema, PayloadRelatedAlertSchema, TrimNoteSchema } from './payload.js';

const d = (description: string) => ({ description });

/** An indicator on two or more members, said once. */
export const IncidentPayloadEntitySchema = PayloadIndicatorSchema.partial({ seen_in: true })
  .extend({ in_alerts: z.number().int().meta(d('Members that carry it.')) })
  .meta({ id: 'IncidentPayloadEntity' });

/** A member alert shown in detail: its own fields, and only those of the compared ones that differ from `common`. */
export const IncidentPayloadAlertSchema = z
  .object({
    uuid: UuidSchema,
    occurred_at: z.string(),
    new: z.literal(true).optional().meta(d('Joined since the previous revision.')),
    title: z.string().optional(),
    severity: z.string().optional(),
    status: z.string().optional(),
    source: z.string().optional(),
    verdict: MaliceLevelSchema.optional(),
    enrichment_status: z.string().optional(),
    tags: z.array(z.string()).optional(),
    classification: z.string().optional(),
    rule: z.number().int().optional().meta(d('Index into `detection_rules`.')),
    source_fields: z.record(z.string(), z.unknown()).optional(),
    description: z.string().optional(),
    findings: z.array(z.string()).optional(),
    enrichment: z.record(z.string(), z.unknown()).optional(),
    shared_entities: z.array(z.number().int()).optional().meta(d('Indices into `shared_entities`.')),
    indicators: z
      .array(PayloadIndicatorSchema.partial({ seen_in: true }))
      .optional()
      .meta(d('Its own indicators.')),
    joined: z
      .object({
        rule: z.string(),
        entities: z.array(z.union([z.number().int(), z.string()])).optional(),
        matched_alert: UuidSchema.optional(),
        source_group: z.string().optional(),
        action: z.string().optional(),
        pinned: z.literal(true).optional(),
      })
      .optional()
      .meta(
        d(
          'Why it is a member: the rule, the entities (indices into `shared_entities` or `type:value`), the alert matched.',
        ),
      ),
  })
  .meta({ id: 'IncidentPayloadAlert' });

export const IncidentPayloadSchema = z
  .object({
    schema: z.literal('calseta.incident.v1'),
    notice: z.string(),
    incident: z.object({
      uuid: UuidSchema,
      title: z.string(),
      severity: z.string(),
      status: z.string(),
      classification: z.string().optional(),
      alert_count: z.number().int(),
      first_alert_at: z.string().optional(),
      last_alert_at: z.string().optional(),
      opened_at: z.string(),
    }),
    changes: z
      .object({
        revision: z.number().int(),
        previous_revision: z.number().int().optional(),
        added_count: z.number().int(),
        added_alerts: z.array(UuidSchema),
        removed_alerts: z.array(UuidSchema).optional(),
      })
      .meta(d('What changed since the previous delivery of this incident to this agent.')),
    common: z
      .record(z.string(), z.unknown())
      .optional()
      .meta(d('Fields every member shown in detail shares (said once; `rule` indexes `detection_rules`).')),
    shared_entities: z.array(IncidentPayloadEntitySchema),
    alerts: z.array(IncidentPayloadAlertSchema),
    other_alerts: z
      .array(
        z.object({
          uuid: UuidSchema,
          title: z.string().optional(),
          severity: z.string(),
          occurred_at: z.string(),
          new: z.literal(true).optional(),
        }),
      )
      .optional()
      .meta(d('Members not shown in detail, latest first, one line each.')),
    other_alert_count: z.number().int().optional().meta(d('Members neither detailed nor listed.')),
    detection_rules: z.array(z.record(z.string(), z.unknown())),
    context_documents: z.array(z.record(z.string(), z.unknown())),
    workflows: z.array(z.record(z.string(), z.unknown())),
    related_alerts: z
      .array(PayloadRelatedAlertSchema)
      .meta(d('Earlier alerts outside the incident sharing indicators.')),
    mock_data: z.string().optional(),
    links: z.record(z.string(), z.string()),
    trimmed: z.array(TrimNoteSchema),
    token_count: z.number().int(),
  })
  .strict()
  .meta({ id: 'IncidentPayload' });
export type IncidentPayload = z.infer<typeof IncidentPayloadSchema>;
