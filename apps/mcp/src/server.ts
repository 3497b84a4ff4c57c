import {
  addAlertFinding,
  auditWrite,
  authorize,
  enrichOnDemand,
  executeWorkflow,
  findIndicator,
  getAlert,
  getAlertContext,
  getContextDocument,
  getDetectionRule,
  getMetricsSummary,
  getWorkflow,
  listAlertActivity,
  listAlerts,
  listContextDocuments,
  listDetectionRules,
  listProviderStatus,
  listWorkflows,
  PERMISSIONS,
  type Permission,
  patchAlert,
  patchIndicator,
  type RateLimitClass,
  type ServiceContext,
  ServiceError,
} from '@calseta/core';
import {
  AgentPayloadSchema,
  AlertSeveritySchema,
  AlertStatusSchema,
  AlertSummarySchema,
  CloseClassificationSchema,
  DetectionRuleSchema,
  FindingConfidenceSchema,
  IndicatorSchema,
  IndicatorTypeSchema,
  MaliceLevelSchema,
  MetricsSummarySchema,
  OnDemandEnrichmentSchema,
  PendingApprovalSchema,
  WorkflowRunSchema,
  WorkflowSummarySchema,
} from '@calseta/schema';
import { McpServer, ResourceTemplate } from '@modelcontextprotocol/sdk/server/mcp.js';
import {
  type CallToolResult,
  ErrorCode,
  McpError,
  type ReadResourceResult,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { portableSchema } from './portable-schema.js';

export const SERVER_NAME = 'Calseta';

const INSTRUCTIONS = [
  'Calseta is the data layer for security AI agents: alerts normalized, enriched and packaged with their context.',
  'Start with the `calseta://alerts` resource or `search_alerts`, then `get_alert_context` (the agent payload,',
  'fitted to `token_budget` tokens). Record conclusions with `post_alert_finding` and triage with `update_alert_status`.',
  '`enrich_indicator` returns stored results unless `live: true` is passed (live calls spend provider quota).',
  'Subscribe to `calseta://alerts` to be told when an alert has been enriched.',
].join(' ');

/** Page sizes the MCP surface asks core for (core caps page_size at 500). */
const LIST_LIMIT = 50;
const CATALOGUE_LIMIT = 500;
/** Documentation in rule lists is cut to this many characters (the full text is one read away). */
const DOC_SUMMARY_CHARS = 200;

const UUID = z.string().min(1).max(100);

/**
 * The caller's context for one call. Stateful sessions and stdio re-authenticate per call, so a
 * revoked key or changed scopes take effect at once.
 */
export type ContextSource = () => Promise<ServiceContext>;

export interface McpServerOptions {
  /**
   * The resource URIs this session is subscribed to. Given for sessions that can receive
   * notifications (stateful HTTP, SSE, stdio); the server then offers `resources/subscribe`.
   */
  subscriptions?: Set<string>;
}

/** Resources a client may subscribe to: the alert list, one alert, one alert's payload. */
const SUBSCRIBABLE = /^calseta:\/\/alerts(\/[^/]+(\/context)?)?$/;

function json(uri: URL, value: unknown): ReadResourceResult {
  return { contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify(value, null, 2) }] };
}

type ToolRun = (...args: unknown[]) => unknown;

/** A readable message for anything a verb or its validation threw. */
export function errorMessage(error: unknown): string {
  if (error instanceof ServiceError) return `${error.code}: ${error.message}`;
  if (error instanceof z.ZodError) {
    return `VALIDATION_ERROR: ${error.issues.map((i) => `${i.path.join('.') || '(input)'}: ${i.message}`).join('; ')}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/** A refused resource read or subscription as a protocol error whose message says why. */
function protocolError(error: unknown): unknown {
  if (error instanceof ServiceError || error instanceof z.ZodError) {
    return new McpError(ErrorCode.InvalidParams, errorMessage(error));
  }
  return error;
}

function variable(value: string | string[] | undefined): string {
  return Array.isArray(value) ? (value[0] ?? '') : (value ?? '');
}

function summarizeDocumentation(documentation: string | null): string | null {
  if (documentation === null || documentation.length <= DOC_SUMMARY_CHARS) return documentation;
  return `${documentation.slice(0, DOC_SUMMARY_CHARS)}…`;
}

const page = { page: z.number().int().min(1).default(1), page_size: z.number().int().min(1).max(100).default(20) };
const paged = { total: z.number().int(), page: z.number().int(), page_size: z.number().int() };
const RuleListItemSchema = DetectionRuleSchema.omit({ documentation: true }).extend({
  /** The first 200 characters; read `calseta://detection-rules/{uuid}` for all of it. */
  documentation_summary: z.string().nullable(),
});
// Tool output schemas are passed as shapes: a schema with a registered id would become a `$ref`,
// and MCP wants `type: "object"` at the root.
const ExecuteOutputSchema = z.object({
  /** `run`: the workflow ran (see `run`); `pending_approval`: a human must approve first (see `approval`). */
  outcome: z.enum(['run', 'pending_approval']),
  run: WorkflowRunSchema.nullable(),
  approval: PendingApprovalSchema.nullable(),
});
const EnrichOutputSchema = z.object({
  /** `stored`: what the pipeline recorded (no provider called); `live`: the providers were asked. */
  source: z.enum(['stored', 'live']),
  indicator: IndicatorSchema.nullable(),
  live: OnDemandEnrichmentSchema.nullable(),
});

/**
 * What each tool and resource needs: every permission listed (core's scope table, PERMISSIONS, says
 * which scopes grant each). Checked before the tool or read runs — the verbs check again — and
 * published in `_meta` of tools/list and resources/list (`calseta/permissions`, and the scopes that
 * grant them as `calseta/required_scopes`), as REST publishes `x-required-scopes`.
 */
export const TOOL_PERMISSIONS = {
  search_alerts: ['alerts:read'],
  get_alert_context: ['alerts:read'],
  post_alert_finding: ['findings:write'],
  update_alert_status: ['alerts:read', 'alerts:write'],
  update_alert_malice: ['alerts:write'],
  update_indicator_malice: ['alerts:write'],
  search_detection_rules: ['detection_rules:read'],
  list_workflows: ['workflows:read'],
  execute_workflow: ['workflows:execute'],
  // Stored results; `live: true` also needs enrichments:read (checked by the verb).
  enrich_indicator: ['indicators:read'],
  get_metrics: ['metrics:read'],
} as const satisfies Record<string, readonly Permission[]>;

export const RESOURCE_PERMISSIONS = {
  alerts: ['alerts:read'],
  alert: ['alerts:read'],
  'alert-context': ['alerts:read'],
  'alert-activity': ['alerts:read'],
  'detection-rules': ['detection_rules:read'],
  'detection-rule': ['detection_rules:read'],
  'context-documents': ['context_documents:read'],
  'context-document': ['context_documents:read'],
  workflows: ['workflows:read'],
  workflow: ['workflows:read'],
  'metrics-summary': ['metrics:read'],
  enrichment: ['indicators:read'],
  'enrichment-providers': ['enrichments:read'],
} as const satisfies Record<string, readonly Permission[]>;

/** The `_meta` entries naming what a tool or resource needs. */
function requirementMeta(permissions: readonly Permission[] | undefined, what: string) {
  if (!permissions) throw new Error(`${what} has no entry in the MCP permission tables`);
  return {
    'calseta/permissions': [...permissions],
    'calseta/required_scopes': permissions.map((p) => [...PERMISSIONS[p]]),
  };
}

/**
 * The rate-limit class of a JSON-RPC message (or batch), as REST classes the same operations:
 * running a workflow and live enrichment have their own budgets; everything else is `authenticated`.
 */
export function rateLimitClassOfMessage(body: unknown): RateLimitClass {
  let cls: RateLimitClass = 'authenticated';
  for (const message of Array.isArray(body) ? body : [body]) {
    const { method, params } = (message ?? {}) as {
      method?: unknown;
      params?: { name?: unknown; arguments?: unknown };
    };
    if (method !== 'tools/call') continue;
    if (params?.name === 'execute_workflow') return 'workflow_execute';
    if (params?.name === 'enrich_indicator' && (params.arguments as { live?: unknown } | undefined)?.live === true) {
      cls = 'enrichment';
    }
  }
  return cls;
}

/**
 * The MCP server for one caller. Every resource and tool is one core verb, which authorizes
 * itself: this layer only maps arguments and shapes results.
 */
export function buildMcpServer(context: ContextSource, options: McpServerOptions = {}): McpServer {
  const server = new McpServer({ name: SERVER_NAME, version: '0.1.0' }, { instructions: INSTRUCTIONS });

  /** Throw FORBIDDEN unless the caller holds every permission. */
  const requireAll = async (permissions: readonly Permission[]) => {
    const ctx = await context();
    for (const permission of permissions) authorize(ctx, permission);
  };

  // Registration with the permission tables applied: published in `_meta`, checked before running.
  const registerTool = ((name: string, config: { _meta?: Record<string, unknown> }, run: ToolRun) => {
    const permissions = (TOOL_PERMISSIONS as Record<string, readonly Permission[]>)[name];
    const meta = requirementMeta(permissions, `tool ${name}`);
    return server.registerTool(
      name,
      { ...config, _meta: { ...config._meta, ...meta } } as never,
      (async (...args: unknown[]) => {
        try {
          await requireAll(permissions ?? []);
        } catch (error) {
          return { isError: true, content: [{ type: 'text', text: errorMessage(error) }] };
        }
        return run(...args);
      }) as never,
    );
  }) as unknown as McpServer['registerTool'];
  const registerResource = ((
    name: string,
    target: unknown,
    metadata: { _meta?: Record<string, unknown> },
    readResource: ToolRun,
  ) => {
    const permissions = (RESOURCE_PERMISSIONS as Record<string, readonly Permission[]>)[name];
    const meta = requirementMeta(permissions, `resource ${name}`);
    return server.registerResource(
      name,
      target as never,
      { ...metadata, _meta: { ...metadata._meta, ...meta } },
      (async (...args: unknown[]) => {
        try {
          await requireAll(permissions ?? []);
        } catch (error) {
          throw protocolError(error);
        }
        return readResource(...args);
      }) as never,
    );
  }) as unknown as McpServer['registerResource'];

  /** A resource read: the verb's answer as JSON, or a protocol error naming the refusal. */
  const read =
    <A extends unknown[]>(run: (ctx: ServiceContext, uri: URL, ...rest: A) => Promise<unknown>) =>
    async (uri: URL, ...rest: A): Promise<ReadResourceResult> => {
      try {
        return json(uri, await run(await context(), uri, ...rest));
      } catch (error) {
        throw protocolError(error);
      }
    };

  /** A template's list callback: nothing (not an error) when the key may not read the collection. */
  const listed = (run: (ctx: ServiceContext) => Promise<{ uri: string; name: string }[]>) => async () => {
    try {
      return { resources: (await run(await context())).map((r) => ({ ...r, mimeType: 'application/json' })) };
    } catch (error) {
      if (error instanceof ServiceError) return { resources: [] };
      throw error;
    }
  };

  /**
   * A tool call: structured content, or an `isError` result the agent can read — never a crash. A
   * write (`write`: the tool and the resource it changed) is audited like a REST write (`api_write`).
   */
  const tool = async <T extends object>(
    run: (ctx: ServiceContext) => Promise<T>,
    write?: { tool: string; resourceId: string },
  ): Promise<CallToolResult> => {
    try {
      const ctx = await context();
      const result = (await run(ctx)) as Record<string, unknown>;
      if (write) {
        await auditWrite(ctx, {
          method: 'POST',
          route: `mcp tools/call ${write.tool}`,
          path: '/mcp',
          status: 200,
          resourceId: write.resourceId,
        });
      }
      return { content: [{ type: 'text', text: JSON.stringify(result) }], structuredContent: result };
    } catch (error) {
      return { isError: true, content: [{ type: 'text', text: errorMessage(error) }] };
    }
  };

  // ------------------------------------------------------------------ resources
  registerResource(
    'alerts',
    'calseta://alerts',
    { description: 'The 50 most recent alerts (by occurred_at). Subscribable.', mimeType: 'application/json' },
    read(async (ctx) => {
      const { data, meta } = await listAlerts(ctx, { page: 1, page_size: LIST_LIMIT });
      return { alerts: data, count: data.length, total: meta.total };
    }),
  );
  registerResource(
    'alert',
    new ResourceTemplate('calseta://alerts/{uuid}', {
      list: listed(async (ctx) =>
        (await listAlerts(ctx, { page: 1, page_size: LIST_LIMIT })).data.map((a) => ({
          uri: `calseta://alerts/${a.uuid}`,
          name: a.title,
        })),
      ),
    }),
    {
      description: 'One alert with its indicators, detection rule and findings. Subscribable.',
      mimeType: 'application/json',
    },
    read((ctx, _uri, { uuid }) => getAlert(ctx, variable(uuid))),
  );
  registerResource(
    'alert-context',
    new ResourceTemplate('calseta://alerts/{uuid}/context', { list: undefined }),
    {
      description:
        'The agent payload of an alert (default token budget; use get_alert_context to choose one). Subscribable.',
      mimeType: 'application/json',
    },
    read((ctx, _uri, { uuid }) => getAlertContext(ctx, variable(uuid))),
  );
  registerResource(
    'alert-activity',
    new ResourceTemplate('calseta://alerts/{uuid}/activity', { list: undefined }),
    { description: 'An alert’s activity log, newest first (max 100).', mimeType: 'application/json' },
    read(async (ctx, _uri, { uuid }) => {
      const { data } = await listAlertActivity(ctx, variable(uuid), { page: 1, page_size: 100 });
      return { activity: data, count: data.length };
    }),
  );
  registerResource(
    'detection-rules',
    'calseta://detection-rules',
    { description: 'Detection rules with a documentation summary (max 500).', mimeType: 'application/json' },
    read(async (ctx) => {
      const { data } = await listDetectionRules(ctx, { page: 1, page_size: CATALOGUE_LIMIT });
      const rules = data.map(({ documentation, ...rule }) => ({
        ...rule,
        documentation_summary: summarizeDocumentation(documentation),
      }));
      return { detection_rules: rules, count: rules.length };
    }),
  );
  registerResource(
    'detection-rule',
    new ResourceTemplate('calseta://detection-rules/{uuid}', {
      list: listed(async (ctx) =>
        (await listDetectionRules(ctx, { page: 1, page_size: LIST_LIMIT })).data.map((r) => ({
          uri: `calseta://detection-rules/${r.uuid}`,
          name: r.name,
        })),
      ),
    }),
    { description: 'One detection rule with its documentation.', mimeType: 'application/json' },
    read((ctx, _uri, { uuid }) => getDetectionRule(ctx, variable(uuid))),
  );
  registerResource(
    'context-documents',
    'calseta://context-documents',
    { description: 'Context documents, without content (max 500).', mimeType: 'application/json' },
    read(async (ctx) => {
      const { data } = await listContextDocuments(ctx, { page: 1, page_size: CATALOGUE_LIMIT });
      return { context_documents: data, count: data.length };
    }),
  );
  registerResource(
    'context-document',
    new ResourceTemplate('calseta://context-documents/{uuid}', {
      list: listed(async (ctx) =>
        (await listContextDocuments(ctx, { page: 1, page_size: LIST_LIMIT })).data.map((d) => ({
          uri: `calseta://context-documents/${d.uuid}`,
          name: d.title,
        })),
      ),
    }),
    { description: 'One context document with its content and targeting rules.', mimeType: 'application/json' },
    read((ctx, _uri, { uuid }) => getContextDocument(ctx, variable(uuid))),
  );
  registerResource(
    'workflows',
    'calseta://workflows',
    { description: 'Workflows, without code (max 500).', mimeType: 'application/json' },
    read(async (ctx) => {
      const { data } = await listWorkflows(ctx, { page: 1, page_size: CATALOGUE_LIMIT });
      return { workflows: data, count: data.length };
    }),
  );
  registerResource(
    'workflow',
    new ResourceTemplate('calseta://workflows/{uuid}', {
      list: listed(async (ctx) =>
        (await listWorkflows(ctx, { page: 1, page_size: LIST_LIMIT })).data.map((w) => ({
          uri: `calseta://workflows/${w.uuid}`,
          name: w.name,
        })),
      ),
    }),
    { description: 'One workflow with its code and approval settings.', mimeType: 'application/json' },
    read((ctx, _uri, { uuid }) => getWorkflow(ctx, variable(uuid))),
  );
  registerResource(
    'metrics-summary',
    'calseta://metrics/summary',
    { description: 'The dashboard numbers over the last 30 days.', mimeType: 'application/json' },
    read((ctx) => getMetricsSummary(ctx)),
  );
  registerResource(
    'enrichment',
    new ResourceTemplate('calseta://enrichments/{type}/{value}', { list: undefined }),
    {
      description:
        'What is stored about an indicator (verdict, explanation, per-provider results). Reading it calls no ' +
        'provider; use enrich_indicator with live: true to ask them.',
      mimeType: 'application/json',
    },
    read((ctx, _uri, { type, value }) =>
      findIndicator(ctx, { type: IndicatorTypeSchema.parse(variable(type)), value: variable(value) }),
    ),
  );
  registerResource(
    'enrichment-providers',
    'calseta://enrichments/providers',
    { description: 'Active enrichment providers, what they support and their quota.', mimeType: 'application/json' },
    read(async (ctx) => {
      const providers = await listProviderStatus(ctx);
      return { providers, count: providers.length };
    }),
  );

  // ------------------------------------------------------------------ subscriptions
  const subscriptions = options.subscriptions;
  if (subscriptions) {
    server.server.registerCapabilities({ resources: { subscribe: true } });
    server.server.setRequestHandler(SubscribeRequestSchema, async ({ params }) => {
      if (!SUBSCRIBABLE.test(params.uri)) {
        throw new McpError(
          ErrorCode.InvalidParams,
          `Only calseta://alerts, calseta://alerts/{uuid} and calseta://alerts/{uuid}/context can be subscribed to.`,
        );
      }
      try {
        authorize(await context(), 'alerts:read');
      } catch (error) {
        throw protocolError(error);
      }
      subscriptions.add(params.uri);
      return {};
    });
    server.server.setRequestHandler(UnsubscribeRequestSchema, async ({ params }) => {
      subscriptions.delete(params.uri);
      return {};
    });
  }

  // ------------------------------------------------------------------ tools
  registerTool(
    'search_alerts',
    {
      description:
        'Search alerts. status/severity/source_name/enrichment_status/malice are comma lists; tags must ALL match. Each alert carries its verdict (malice) and indicator_count.',
      inputSchema: {
        status: z.string().optional(),
        malice: z
          .string()
          .optional()
          .describe('comma list of verdicts: Malicious, Suspicious, Benign, Context, Unknown, Pending'),
        severity: z.string().optional(),
        source_name: z.string().optional(),
        enrichment_status: z.string().optional(),
        is_enriched: z.boolean().optional(),
        from_time: z.string().optional().describe('ISO 8601 with offset'),
        to_time: z.string().optional().describe('ISO 8601 with offset'),
        tags: z.string().optional().describe('comma list'),
        detection_rule_uuid: z.string().optional(),
        sort_by: z
          .enum(['title', 'status', 'severity', 'malice', 'source_name', 'occurred_at', 'created_at'])
          .optional(),
        sort_order: z.enum(['asc', 'desc']).optional(),
        ...page,
      },
      outputSchema: { alerts: z.array(AlertSummarySchema), ...paged },
      annotations: { readOnlyHint: true },
    },
    ({ is_enriched, tags, ...rest }) =>
      tool(async (ctx) => {
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

  registerTool(
    'get_alert_context',
    {
      description: 'The agent payload of an alert: alert, indicators, enrichment, rule, documents, related alerts.',
      inputSchema: {
        alert_uuid: UUID,
        token_budget: z.number().int().min(1).optional().describe('o200k tokens the payload must fit in'),
        detail: z.enum(['standard', 'full']).optional().describe('full inlines context documents'),
      },
      outputSchema: AgentPayloadSchema.shape,
      annotations: { readOnlyHint: true },
    },
    ({ alert_uuid, token_budget, detail }) =>
      tool((ctx) =>
        getAlertContext(ctx, alert_uuid, {
          ...(token_budget !== undefined && { tokenBudget: token_budget }),
          ...(detail !== undefined && { detail }),
        }),
      ),
  );

  registerTool(
    'post_alert_finding',
    {
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
    },
    ({ alert_uuid, ...input }) =>
      tool(
        async (ctx) => {
          const finding = await addAlertFinding(ctx, alert_uuid, input);
          return { finding_id: finding.id, alert_uuid, posted_at: finding.posted_at };
        },
        { tool: 'post_alert_finding', resourceId: alert_uuid },
      ),
  );

  registerTool(
    'update_alert_status',
    {
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
    },
    ({ alert_uuid, ...patch }) =>
      tool(
        async (ctx) => {
          const before = await getAlert(ctx, alert_uuid);
          const after = await patchAlert(ctx, alert_uuid, { ...patch, reset_malice_override: false });
          return {
            alert_uuid,
            status: after.data.status,
            previous_status: before.data.status,
            updated_at: after.data.updated_at,
          };
        },
        { tool: 'update_alert_status', resourceId: alert_uuid },
      ),
  );

  registerTool(
    'update_alert_malice',
    {
      description: 'Set an analyst malice override on an alert, or reset it (malice: null).',
      inputSchema: { alert_uuid: UUID, malice: MaliceLevelSchema.nullable() },
      outputSchema: {
        alert_uuid: z.string(),
        malice_override: MaliceLevelSchema.nullable(),
        /** The verdict agents should act on: the override when set, else the indicators' worst. */
        effective_malice: MaliceLevelSchema,
        updated_at: z.string(),
      },
    },
    ({ alert_uuid, malice }) =>
      tool(
        async (ctx) => {
          const after = await patchAlert(
            ctx,
            alert_uuid,
            malice === null
              ? { reset_malice_override: true }
              : { malice_override: malice, reset_malice_override: false },
          );
          return {
            alert_uuid,
            malice_override: after.data.malice_override ?? null,
            effective_malice: after.data.malice,
            updated_at: after.data.updated_at,
          };
        },
        { tool: 'update_alert_malice', resourceId: alert_uuid },
      ),
  );

  registerTool(
    'update_indicator_malice',
    {
      description: 'Set an analyst verdict on an indicator, or back to the providers’ verdict (malice: null).',
      inputSchema: { indicator_uuid: UUID, malice: MaliceLevelSchema.nullable() },
      outputSchema: {
        indicator_uuid: z.string(),
        malice: MaliceLevelSchema,
        malice_source: z.string(),
        updated_at: z.string(),
      },
    },
    ({ indicator_uuid, malice }) =>
      tool(
        async (ctx) => {
          const indicator = await patchIndicator(ctx, indicator_uuid, { malice });
          return {
            indicator_uuid,
            malice: indicator.malice,
            malice_source: indicator.malice_source,
            updated_at: indicator.updated_at,
          };
        },
        { tool: 'update_indicator_malice', resourceId: indicator_uuid },
      ),
  );

  registerTool(
    'search_detection_rules',
    {
      description:
        'Search detection rules by name (substring), MITRE tactic or technique (exact; techniques match ' +
        'sub-techniques too), source_name and severity (comma lists). Documentation is summarized.',
      inputSchema: {
        name: z.string().optional(),
        mitre_tactic: z.string().optional(),
        mitre_technique: z.string().optional(),
        source_name: z.string().optional(),
        severity: z.string().optional(),
        is_active: z.boolean().optional(),
        sort_by: z.enum(['name', 'source_name', 'severity', 'created_at']).optional(),
        sort_order: z.enum(['asc', 'desc']).optional(),
        ...page,
      },
      outputSchema: { detection_rules: z.array(RuleListItemSchema), ...paged },
      annotations: { readOnlyHint: true },
    },
    (args) =>
      tool(async (ctx) => {
        const { data, meta } = await listDetectionRules(ctx, args);
        const rules = data.map(({ documentation, ...rule }) => ({
          ...rule,
          documentation_summary: summarizeDocumentation(documentation),
        }));
        return { detection_rules: rules, total: meta.total, page: meta.page, page_size: meta.page_size };
      }),
  );

  registerTool(
    'list_workflows',
    {
      description: 'List workflows (no code). state and risk_level are comma lists.',
      inputSchema: {
        state: z.string().optional(),
        risk_level: z.string().optional(),
        workflow_type: z.string().optional(),
        ...page,
      },
      outputSchema: { workflows: z.array(WorkflowSummarySchema), ...paged },
      annotations: { readOnlyHint: true },
    },
    (args) =>
      tool(async (ctx) => {
        const { data, meta } = await listWorkflows(ctx, args);
        return { workflows: data, total: meta.total, page: meta.page, page_size: meta.page_size };
      }),
  );

  registerTool(
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
      outputSchema: ExecuteOutputSchema.shape,
      annotations: { destructiveHint: true },
    },
    ({ workflow_uuid, ...input }) =>
      tool(
        async (ctx) => {
          const result = await executeWorkflow(ctx, workflow_uuid, input);
          return 'approval_request_uuid' in result
            ? { outcome: 'pending_approval' as const, run: null, approval: result }
            : { outcome: 'run' as const, run: result, approval: null };
        },
        { tool: 'execute_workflow', resourceId: workflow_uuid },
      ),
  );

  registerTool(
    'enrich_indicator',
    {
      description:
        'Enrichment of an indicator. Default: what is stored for indicator_uuid, or for type + value (no ' +
        'provider is called, no quota spent). live: true asks the providers for type + value (cache first; ' +
        'bypass_cache forces fresh answers).',
      inputSchema: {
        indicator_uuid: z.string().optional(),
        type: IndicatorTypeSchema.optional(),
        value: z.string().optional(),
        live: z.boolean().default(false),
        bypass_cache: z.boolean().default(false),
      },
      outputSchema: EnrichOutputSchema.shape,
    },
    ({ indicator_uuid, type, value, live, bypass_cache }) =>
      tool(async (ctx) => {
        if (live) {
          if (type === undefined || value === undefined) {
            throw new ServiceError('VALIDATION_ERROR', 'A live enrichment needs type and value.');
          }
          const answer = await enrichOnDemand(ctx, { type, value, bypass_cache });
          return { source: 'live' as const, indicator: null, live: answer };
        }
        if (indicator_uuid !== undefined) {
          return {
            source: 'stored' as const,
            indicator: await findIndicator(ctx, { uuid: indicator_uuid }),
            live: null,
          };
        }
        if (type !== undefined && value !== undefined) {
          return { source: 'stored' as const, indicator: await findIndicator(ctx, { type, value }), live: null };
        }
        throw new ServiceError(
          'VALIDATION_ERROR',
          'Pass indicator_uuid, or type and value, for the stored results; add live: true to ask the providers.',
        );
      }),
  );

  registerTool(
    'get_metrics',
    {
      description: 'The dashboard numbers over the last 30 days (alerts, workflows, approvals, platform).',
      inputSchema: {},
      outputSchema: MetricsSummarySchema.shape,
      annotations: { readOnlyHint: true },
    },
    () => tool((ctx) => getMetricsSummary(ctx)),
  );

  listPortableSchemas(server);
  return server;
}

type RequestHandler = (request: unknown, extra: unknown) => Promise<unknown>;

/**
 * Serve tools/list with portable schemas (`portableSchema`): the SDK's own listing, post-processed.
 * The SDK has no hook for its JSON Schema output, so its registered handler is wrapped.
 */
function listPortableSchemas(server: McpServer): void {
  const handlers = (server.server as unknown as { _requestHandlers: Map<string, RequestHandler> })._requestHandlers;
  const list = handlers.get('tools/list');
  if (!list) throw new Error('tools/list is not registered');
  handlers.set('tools/list', async (request, extra) => {
    const result = (await list(request, extra)) as { tools: Array<Record<string, unknown>> };
    return {
      ...result,
      tools: result.tools.map((tool) => ({
        ...tool,
        inputSchema: portableSchema(tool.inputSchema),
        ...(tool.outputSchema !== undefined && { outputSchema: portableSchema(tool.outputSchema) }),
      })),
    };
  });
}
