import { addIncidentFinding, getIncident, listIncidents, patchIncident } from '@calseta/core';
import {
  AlertSeveritySchema,
  AlertStatusSchema,
  CloseClassificationSchema,
  FindingConfidenceSchema,
  IncidentListQuerySchema,
  IncidentSchema,
  IncidentSummarySchema,
} from '@calseta/schema';
import { z } from 'zod';
import { defineTool, listInput, page, paged, UUID } from '../define.js';

export const searchIncidents = defineTool({
  name: 'search_incidents',
  description:
    'Search incidents (related alerts grouped by correlation). status/severity are comma lists; alert_uuid finds the ' +
    'incident holding an alert; q matches the title literally.',
  // REST's GET /v1/incidents query.
  inputSchema: listInput(IncidentListQuerySchema, {}),
  outputSchema: { incidents: z.array(IncidentSummarySchema), ...paged },
  annotations: { readOnlyHint: true },
  permissions: ['incidents:read'],
  run: async (ctx, query) => page('incidents', await listIncidents(ctx, query)),
});

export const getIncidentTool = defineTool({
  name: 'get_incident',
  description:
    'One incident: member alerts (newest first, each with why it joined: rule, shared values, the alert it matched), ' +
    'the entities they share with their verdicts, and metrics.',
  inputSchema: { incident_uuid: UUID },
  outputSchema: IncidentSchema.shape,
  annotations: { readOnlyHint: true },
  permissions: ['incidents:read'],
  run: (ctx, { incident_uuid }) => getIncident(ctx, { uuid: incident_uuid }),
});

export const postIncidentFinding = defineTool({
  name: 'post_incident_finding',
  description: 'Append a finding (summary, confidence, recommended action) to an incident as a whole.',
  inputSchema: {
    incident_uuid: UUID,
    summary: z.string(),
    confidence: FindingConfidenceSchema,
    agent_name: z.string().default('mcp-agent'),
    recommended_action: z.string().optional(),
    evidence: z.record(z.string(), z.unknown()).optional(),
  },
  outputSchema: { finding_id: z.string(), incident_uuid: z.string(), posted_at: z.string() },
  permissions: ['incidents:write'],
  writes: ({ incident_uuid }) => incident_uuid,
  run: async (ctx, { incident_uuid, ...input }) => {
    const finding = await addIncidentFinding(ctx, { uuid: incident_uuid, input });
    return { finding_id: finding.id, incident_uuid, posted_at: finding.posted_at };
  },
});

export const updateIncidentStatus = defineTool({
  name: 'update_incident_status',
  description: 'Move an incident through its lifecycle; Closed requires close_classification.',
  inputSchema: {
    incident_uuid: UUID,
    status: AlertStatusSchema,
    close_classification: CloseClassificationSchema.optional(),
    severity: AlertSeveritySchema.exclude(['Pending']).optional(),
  },
  outputSchema: { incident_uuid: z.string(), status: AlertStatusSchema, updated_at: z.string() },
  permissions: ['incidents:read', 'incidents:write'],
  writes: ({ incident_uuid }) => incident_uuid,
  run: async (ctx, { incident_uuid, ...patch }) => {
    const incident = await patchIncident(ctx, { uuid: incident_uuid, patch });
    return { incident_uuid, status: patch.status, updated_at: incident.updated_at };
  },
});
