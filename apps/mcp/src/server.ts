import {
  addAlertFinding,
  enrichOnDemand,
  executeWorkflow,
  getAlert,
  getAlertContext,
  getContextDocument,
  getDetectionRule,
  getIndicator,
  getMetricsSummary,
  getWorkflow,
  listAlertActivity,
  listAlerts,
  listContextDocuments,
  listDetectionRules,
  listProviderStatus,
  listWorkflows,
  patchAlert,
  patchIndicator,
  type ServiceContext,
  ServiceError,
} from '@calseta/core';
import {
  AlertSeveritySchema,
  AlertStatusSchema,
  CloseClassificationSchema,
  FindingConfidenceSchema,
  IndicatorTypeSchema,
  MaliceLevelSchema,
} from '@calseta/schema';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ReadResourceResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

export const SERVER_NAME = 'Calseta';

const INSTRUCTIONS = [
  'Calseta is the data layer for security AI agents: alerts normalized, enriched and packaged with their context.',
  'Start with the `calseta://alerts` resource or `search_alerts`, then `get_alert_context` (the agent payload,',
  'fitted to `token_budget` tokens). Record conclusions with `post_alert_finding` and triage with `update_alert_status`.',
  '`enrich_indicator` returns stored results unless `live: true` is passed.',
].join(' ');

/** Page sizes the MCP surface asks core for (core caps page_size at 500). */
const LIST_LIMIT = 50;
const CATALOGUE_LIMIT = 500;

const UUID = z.string().min(1).max(100);

function json(uri: URL, value: unknown): ReadResourceResult {
  return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }] };
}

/** A readable message for anything a verb or its validation threw. */
export function errorMessage(error: unknown): string {
  if (error instanceof ServiceError) return `${error.code}: ${error.message}`;
  if (error instanceof z.ZodError) {
    return `VALIDATION_ERROR: ${error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Run a verb for a tool: its result as structured content, or an `isError` result — never a crash. */
async function tool(run: () => Promise<Record<string, unknown>>): Promise<CallToolResult> {
  try {
    const result = await run();
    return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result };
  } catch (error) {
    return { isError: true, content: [{ type: 'text', text: errorMessage(error) }] };
  }
}

/** A template's list callback: nothing (not an error) when the key may not read the collection. */
async function listed(run: () => Promise<{ uri: string; name: string; description?: string }[]>) {
  try {
    return { resources: (await run()).map((r) => ({ ...r, mimeType: 'application/json' })) };
  } catch (error) {
    if (error instanceof ServiceError) return { resources: [] };
    throw error;
  }
}

function variable(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

const page = { page: z.number().int().min(1).default(1), page_size: z.number().int().min(1).max(100).default(20) };
const paged = z.object({ total: z.number(), page: z.number(), page_size: z.number() });
const anyObject = z.record(z.string(), z.unknown());

/**
 * The MCP server for one authenticated caller. Every resource and tool is one core verb, which
 * authorizes itself: this layer only maps arguments and shapes results.
 */
export function buildMcpServer(ctx: ServiceContext): McpServer {
  const server = new McpServer({ name: SERVER_NAME, version: '0.1.0' }, { instructions: INSTRUCTIONS });

  // ------------------------------------------------------------------ resources
  server.registerResource(
    'alerts',
    'calseta://alerts',
    { description: 'The 50 most recent alerts (by occurred_at).', mimeType: 'application/json' },
    async (uri) => {
      const { data, meta } = await listAlerts(ctx, { page: 1, page_size: LIST_LIMIT });
      return json(uri, { alerts: data, count: data.length, total: meta.total });
    },
  );
  server.registerResource(
    'alert',
    new ResourceTemplate('calseta://alerts/{uuid}', {
      list: () =>
        listed(async () =>
          (await listAlerts(ctx, { page: 1, page_size: LIST_LIMIT })).data.map((a) => ({
            uri: `calseta://alerts/${a.uuid}`,
            name: a.title,
          })),
        ),
    }),
    { description: 'One alert with its indicators, detection rule and findings.', mimeType: 'application/json' },
    async (uri, { uuid }) => json(uri, await getAlert(ctx, variable(uuid))),
  );
  server.registerResource(
    'alert-context',
    new ResourceTemplate('calseta://alerts/{uuid}/context', { list: undefined }),
    {
      description: 'The agent payload of an alert (default token budget; use get_alert_context to choose one).',
      mimeType: 'application/json',
    },
    async (uri, { uuid }) => json(uri, await getAlertContext(ctx, variable(uuid))),
  );
  server.registerResource(
    'alert-activity',
    new ResourceTemplate('calseta://alerts/{uuid}/activity', { list: undefined }),
    { description: 'An alert’s activity log, newest first (max 100).', mimeType: 'application/json' },
    async (uri, { uuid }) => {
      const { data } = await listAlertActivity(ctx, variable(uuid), { page: 1, page_size: 100 });
      return json(uri, { activity: data, count: data.length });
    },
  );
  server.registerResource(
    'detection-rules',
    'calseta://detection-rules',
    { description: 'Detection rules (max 500).', mimeType: 'application/json' },
    async (uri) => {
      const { data } = await listDetectionRules(ctx, { page: 1, page_size: CATALOGUE_LIMIT });
      return json(uri, { detection_rules: data, count: data.length });
    },
  );
  server.registerResource(
    'detection-rule',
    new ResourceTemplate('calseta://detection-rules/{uuid}', {
      list: () =>
        listed(async () =>
          (await listDetectionRules(ctx, { page: 1, page_size: LIST_LIMIT })).data.map((r) => ({
            uri: `calseta://detection-rules/${r.uuid}`,
            name: r.name,
          })),
        ),
    }),
    { description: 'One detection rule with its documentation.', mimeType: 'application/json' },
    async (uri, { uuid }) => json(uri, await getDetectionRule(ctx, variable(uuid))),
  );
  server.registerResource(
    'context-documents',
    'calseta://context-documents',
    { description: 'Context documents, without content (max 500).', mimeType: 'application/json' },
    async (uri) => {
      const { data } = await listContextDocuments(ctx, { page: 1, page_size: CATALOGUE_LIMIT });
      return json(uri, { context_documents: data, count: data.length });
    },
  );
  server.registerResource(
    'context-document',
    new ResourceTemplate('calseta://context-documents/{uuid}', {
      list: () =>
        listed(async () =>
          (await listContextDocuments(ctx, { page: 1, page_size: LIST_LIMIT })).data.map((d) => ({
            uri: `calseta://context-documents/${d.uuid}`,
            name: d.title,
          })),
        ),
    }),
    { description: 'One context document with its content and targeting rules.', mimeType: 'application/json' },
    async (uri, { uuid }) => json(uri, await getContextDocument(ctx, variable(uuid))),
  );
  server.registerResource(
    'workflows',
    'calseta://workflows',
    { description: 'Workflows, without code (max 500).', mimeType: 'application/json' },
    async (uri) => {
      const { data } = await listWorkflows(ctx, { page: 1, page_size: CATALOGUE_LIMIT });
      return json(uri, { workflows: data, count: data.length });
    },
  );
  server.registerResource(
    'workflow',
    new ResourceTemplate('calseta://workflows/{uuid}', {
      list: () =>
        listed(async () =>
          (await listWorkflows(ctx, { page: 1, page_size: LIST_LIMIT })).data.map((w) => ({
            uri: `calseta://workflows/${w.uuid}`,
            name: w.name,
          })),
        ),
    }),
    { description: 'One workflow with its code and approval settings.', mimeType: 'application/json' },
    async (uri, { uuid }) => json(uri, await getWorkflow(ctx, variable(uuid))),
  );
  server.registerResource(
    'metrics-summary',
    'calseta://metrics/summary',
    { description: 'The dashboard numbers over the last 30 days.', mimeType: 'application/json' },
    async (uri) => json(uri, await getMetricsSummary(ctx)),
  );
  server.registerResource(
    'enrichment-providers',
    'calseta://enrichments/providers',
    { description: 'Active enrichment providers, what they support and their quota.', mimeType: 'application/json' },
    async (uri) => {
      const providers = await listProviderStatus(ctx);
      return json(uri, { providers, count: providers.length });
    },
  );

  // ------------------------------------------------------------------ tools
  server.registerTool(
    'search_alerts',
    {
      description: 'Search alerts. status/severity/source_name/enrichment_status are comma lists; tags must ALL match.',
      inputSchema: {
        status: z.string().optional(),
        severity: z.string().optional(),
        source_name: z.string().optional(),
        enrichment_status: z.string().optional(),
        is_enriched: z.boolean().optional(),
        from_time: z.string().optional().describe('ISO 8601 with offset'),
        to_time: z.string().optional().describe('ISO 8601 with offset'),
        tags: z.string().optional().describe('comma list'),
        detection_rule_uuid: z.string().optional(),
        sort_by: z.enum(['title', 'status', 'severity', 'source_name', 'occurred_at', 'created_at']).optional(),
        sort_order: z.enum(['asc', 'desc']).optional(),
        ...page,
      },
      outputSchema: { alerts: z.array(anyObject), ...paged.shape },
    },
    (args) =>
      tool(async () => {
        const { is_enriched, tags, ...rest } = args;
        const { data, meta } = await listAlerts(ctx, {
          ...rest,
          ...(is_enriched !== undefined && { is_enriched }),
          ...(tags !== undefined && {
            tags: tags
              .split(',')
              .map((t) => t.trim())
              .filter(Boolean),
          }),
        });
        return { alerts: data, total: meta.total, page: meta.page, page_size: meta.page_size };
      }),
  );

  server.registerTool(
    'get_alert_context',
    {
      description: 'The agent payload of an alert: alert, indicators, enrichment, rule, documents, related alerts.',
      inputSchema: {
        alert_uuid: UUID,
        token_budget: z.number().int().min(1).optional().describe('o200k tokens the payload must fit in'),
        detail: z.enum(['standard', 'full']).optional().describe('full inlines context documents'),
      },
      outputSchema: {},
    },
    ({ alert_uuid, token_budget, detail }) =>
      tool(
        async () =>
          (await getAlertContext(ctx, alert_uuid, {
            ...(token_budget !== undefined && { tokenBudget: token_budget }),
            ...(detail !== undefined && { detail }),
          })) as unknown as Record<string, unknown>,
      ),
  );

  server.registerTool(
    'post_alert_finding',
    {
      description: 'Append a finding (summary, confidence, recommended action) to an alert.',
      inputSchema: {
        alert_uuid: UUID,
        summary: z.string(),
        confidence: FindingConfidenceSchema,
        agent_name: z.string().default('mcp-agent'),
        recommended_action: z.string().optional(),
        evidence: anyObject.optional(),
      },
      outputSchema: { finding_id: z.string(), alert_uuid: z.string(), posted_at: z.string() },
    },
    ({ alert_uuid, ...input }) =>
      tool(async () => {
        const finding = await addAlertFinding(ctx, alert_uuid, input);
        return { finding_id: finding.id, alert_uuid, posted_at: finding.posted_at };
      }),
  );

  server.registerTool(
    'update_alert_status',
    {
      description: 'Move an alert through its lifecycle; Closed requires close_classification.',
      inputSchema: {
        alert_uuid: UUID,
        status: AlertStatusSchema,
        close_classification: CloseClassificationSchema.optional(),
        severity: AlertSeveritySchema.exclude(['Pending']).optional(),
      },
      outputSchema: { alert_uuid: z.string(), status: z.string(), previous_status: z.string(), updated_at: z.string() },
    },
    ({ alert_uuid, ...patch }) =>
      tool(async () => {
        const before = await getAlert(ctx, alert_uuid);
        const after = await patchAlert(ctx, alert_uuid, { ...patch, reset_malice_override: false });
        return {
          alert_uuid,
          status: after.data.status,
          previous_status: before.data.status,
          updated_at: after.data.updated_at,
        };
      }),
  );

  server.registerTool(
    'update_alert_malice',
    {
      description: 'Set an analyst malice override on an alert, or reset it (malice: null).',
      inputSchema: { alert_uuid: UUID, malice: MaliceLevelSchema.nullable() },
      outputSchema: { alert_uuid: z.string(), malice_override: z.string().nullable(), updated_at: z.string() },
    },
    ({ alert_uuid, malice }) =>
      tool(async () => {
        const after = await patchAlert(
          ctx,
          alert_uuid,
          malice === null ? { reset_malice_override: true } : { malice_override: malice, reset_malice_override: false },
        );
        return {
          alert_uuid,
          malice_override: after.data.malice_override ?? null,
          updated_at: after.data.updated_at,
        };
      }),
  );

  server.registerTool(
    'update_indicator_malice',
    {
      description: 'Set an analyst verdict on an indicator, or back to the providers’ verdict (malice: null).',
      inputSchema: { indicator_uuid: UUID, malice: MaliceLevelSchema.nullable() },
      outputSchema: {
        indicator_uuid: z.string(),
        malice: z.string(),
        malice_source: z.string(),
        updated_at: z.string(),
      },
    },
    ({ indicator_uuid, malice }) =>
      tool(async () => {
        const indicator = await patchIndicator(ctx, indicator_uuid, { malice });
        return {
          indicator_uuid,
          malice: indicator.malice,
          malice_source: indicator.malice_source,
          updated_at: indicator.updated_at,
        };
      }),
  );

  server.registerTool(
    'search_detection_rules',
    {
      description: 'List detection rules. source_name and severity are comma lists.',
      inputSchema: {
        source_name: z.string().optional(),
        severity: z.string().optional(),
        is_active: z.boolean().optional(),
        sort_by: z.enum(['name', 'source_name', 'severity', 'created_at']).optional(),
        sort_order: z.enum(['asc', 'desc']).optional(),
        ...page,
      },
      outputSchema: { detection_rules: z.array(anyObject), ...paged.shape },
    },
    (args) =>
      tool(async () => {
        const { data, meta } = await listDetectionRules(ctx, args);
        return { detection_rules: data, total: meta.total, page: meta.page, page_size: meta.page_size };
      }),
  );

  server.registerTool(
    'list_workflows',
    {
      description: 'List workflows (no code). state and risk_level are comma lists.',
      inputSchema: {
        state: z.string().optional(),
        risk_level: z.string().optional(),
        workflow_type: z.string().optional(),
        ...page,
      },
      outputSchema: { workflows: z.array(anyObject), ...paged.shape },
    },
    (args) =>
      tool(async () => {
        const { data, meta } = await listWorkflows(ctx, args);
        return { workflows: data, total: meta.total, page: meta.page, page_size: meta.page_size };
      }),
  );

  server.registerTool(
    'execute_workflow',
    {
      description:
        'Run an active workflow against an indicator (may create an approval request instead). Agent keys must give reason and confidence (0..1).',
      inputSchema: {
        workflow_uuid: UUID,
        indicator_type: IndicatorTypeSchema,
        indicator_value: z.string(),
        alert_uuid: z.string().optional(),
        reason: z.string().optional(),
        confidence: z.number().min(0).max(1).optional(),
      },
      outputSchema: {},
    },
    ({ workflow_uuid, ...input }) =>
      tool(async () => (await executeWorkflow(ctx, workflow_uuid, input)) as unknown as Record<string, unknown>),
  );

  server.registerTool(
    'enrich_indicator',
    {
      description:
        'Enrichment of an indicator. Default: the stored results of indicator_uuid (no provider is called). ' +
        'live: true asks the providers for type/value (cache first; bypass_cache to force fresh answers).',
      inputSchema: {
        indicator_uuid: z.string().optional(),
        type: IndicatorTypeSchema.optional(),
        value: z.string().optional(),
        live: z.boolean().default(false),
        bypass_cache: z.boolean().default(false),
      },
      outputSchema: {},
    },
    ({ indicator_uuid, type, value, live, bypass_cache }) =>
      tool(async () => {
        if (live) {
          if (type === undefined || value === undefined) {
            throw new ServiceError('VALIDATION_ERROR', 'live enrichment needs type and value.');
          }
          return (await enrichOnDemand(ctx, { type, value, bypass_cache })) as unknown as Record<string, unknown>;
        }
        if (indicator_uuid === undefined) {
          throw new ServiceError(
            'VALIDATION_ERROR',
            'Pass indicator_uuid for the stored results (see get_alert_context), or live: true with type and value to call the providers.',
          );
        }
        return (await getIndicator(ctx, indicator_uuid)) as unknown as Record<string, unknown>;
      }),
  );

  server.registerTool(
    'get_metrics',
    {
      description: 'The dashboard numbers over the last 30 days (alerts, workflows, approvals, platform).',
      inputSchema: {},
      outputSchema: {},
    },
    () => tool(async () => (await getMetricsSummary(ctx)) as unknown as Record<string, unknown>),
  );

  return server;
}
