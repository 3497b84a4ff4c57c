import { addAlertFinding, getAlertContext, listAlerts, patchAlert, patchAlertFrom } from '@calseta/core';
import {
  AgentPayloadSchema,
  AlertListQuerySchema,
  AlertSeveritySchema,
  AlertStatusSchema,
  AlertSummarySchema,
  CloseClassificationSchema,
  FindingConfidenceSchema,
  MaliceLevelSchema,
} from '@calseta/schema';
import { z } from 'zod';
import { defineTool, listInput, page, paged, UUID } from '../define.js';

export const searchAlerts = defineTool({
  name: 'search_alerts',
  description:
    'Search alerts. status/severity/source_name/enrichment_status/malice are comma lists; tags must ALL match. Each alert carries its verdict (malice) and indicator_count.',
  // REST's GET /v1/alerts query; tags is one comma list here (REST repeats the parameter).
  inputSchema: listInput(AlertListQuerySchema, {
    malice: AlertListQuerySchema.shape.malice.describe(
      'comma list of verdicts: Malicious, Suspicious, Benign, Context, Unknown, Pending',
    ),
    is_enriched: z.boolean().optional(),
    severity_unmapped: z.boolean().optional(),
    tags: z.string().max(1000).optional().describe('comma list'),
  }),
  outputSchema: { alerts: z.array(AlertSummarySchema), ...paged },
  annotations: { readOnlyHint: true },
  permissions: ['alerts:read'],
  run: async (ctx, { tags, ...query }) =>
    page(
      'alerts',
      await listAlerts(ctx, {
        ...query,
        ...(tags !== undefined && {
          tags: tags
            .split(',')
            .map((t) => t.trim())
            .filter(Boolean),
        }),
      }),
    ),
});

export const getAlertContextTool = defineTool({
  name: 'get_alert_context',
  description: 'The agent payload of an alert: alert, indicators, enrichment, rule, documents, related alerts.',
  inputSchema: {
    alert_uuid: UUID,
    token_budget: z.number().int().min(1).optional().describe('o200k tokens the payload must fit in'),
    detail: z.enum(['standard', 'full']).optional().describe('full inlines context documents'),
  },
  outputSchema: AgentPayloadSchema.shape,
  annotations: { readOnlyHint: true },
  permissions: ['alerts:read'],
  run: (ctx, { alert_uuid, token_budget, detail }) =>
    getAlertContext(ctx, {
      uuid: alert_uuid,
      ...(token_budget !== undefined && { tokenBudget: token_budget }),
      ...(detail !== undefined && { detail }),
    }),
});

export const postAlertFinding = defineTool({
  name: 'post_alert_finding',
  description: 'Append a finding (summary, confidence, recommended action) to an alert.',
  inputSchema: {
    alert_uuid: UUID,
    summary: z.string(),
    confidence: FindingConfidenceSchema,
    agent_name: z.string().default('mcp-agent'),
    recommended_action: z.string().optional(),
    evidence: z.record(z.string(), z.unknown()).optional(),
  },
  outputSchema: { finding_id: z.string(), alert_uuid: z.string(), posted_at: z.string() },
  permissions: ['findings:write'],
  writes: ({ alert_uuid }) => alert_uuid,
  run: async (ctx, { alert_uuid, ...input }) => {
    const finding = await addAlertFinding(ctx, { uuid: alert_uuid, input });
    return { finding_id: finding.id, alert_uuid, posted_at: finding.posted_at };
  },
});

export const updateAlertStatus = defineTool({
  name: 'update_alert_status',
  description: 'Move an alert through its lifecycle; Closed requires close_classification.',
  inputSchema: {
    alert_uuid: UUID,
    status: AlertStatusSchema,
    close_classification: CloseClassificationSchema.optional(),
    severity: AlertSeveritySchema.exclude(['Pending']).optional(),
  },
  outputSchema: {
    alert_uuid: z.string(),
    status: AlertStatusSchema,
    previous_status: AlertStatusSchema,
    updated_at: z.string(),
  },
  permissions: ['alerts:read', 'alerts:write'],
  writes: ({ alert_uuid }) => alert_uuid,
  run: async (ctx, { alert_uuid, ...patch }) => {
    // The previous status is read under the change's row lock, not by a read before it; `status` is
    // the one this call set (the alert, read after the commit, may already carry a later change).
    const { alert, previousStatus } = await patchAlertFrom(ctx, {
      uuid: alert_uuid,
      patch: { ...patch, reset_malice_override: false },
    });
    return {
      alert_uuid,
      status: patch.status,
      previous_status: previousStatus,
      updated_at: alert.updated_at,
    };
  },
});

export const updateAlertMalice = defineTool({
  name: 'update_alert_malice',
  description: 'Set an analyst malice override on an alert, or reset it (malice: null).',
  inputSchema: { alert_uuid: UUID, malice: MaliceLevelSchema.nullable() },
  outputSchema: {
    alert_uuid: z.string(),
    malice_override: MaliceLevelSchema.nullable(),
    /** The verdict agents should act on: the override when set, else the indicators' worst. */
    effective_malice: MaliceLevelSchema,
    updated_at: z.string(),
  },
  permissions: ['alerts:write'],
  writes: ({ alert_uuid }) => alert_uuid,
  run: async (ctx, { alert_uuid, malice }) => {
    const { alert } = await patchAlert(ctx, {
      uuid: alert_uuid,
      patch:
        malice === null ? { reset_malice_override: true } : { malice_override: malice, reset_malice_override: false },
    });
    return {
      alert_uuid,
      malice_override: alert.malice_override ?? null,
      effective_malice: alert.malice,
      updated_at: alert.updated_at,
    };
  },
});
