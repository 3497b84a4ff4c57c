import type { Db, WorkflowRow } from '@calseta/db';
import {
  type EnrichmentProviderResult,
  type PageQuery,
  type WorkflowRun,
  type WorkflowRunListQuery,
  type WorkflowRunStatus,
  type WorkflowTestInput,
  type WorkflowTestResult,
  WorkflowTestSchema,
} from '@calseta/schema';
import {
  createThreadedSandbox,
  type HostHttp,
  type JsonValue,
  type LogEntry,
  type RunOutcome,
  type Sandbox,
} from '@calseta/workflow-sandbox';
import { authorize } from '../auth/permissions.js';
import { withCachedRaw } from '../indicators/raw.js';
import type { CoreConfig, ServiceContext } from '../infra/context.js';
import { notFound } from '../infra/errors.js';
import { newUuid } from '../infra/ids.js';
import type { JobPayload } from '../infra/jobs/catalogue.js';
import { csv, iso, paginate } from '../infra/serialize.js';
import { countWorkflowRun } from '../infra/telemetry/metrics.js';
import { runEndpointWorkflow } from './endpoint.js';
import { hostHttpOf, mockHostHttp, type RecordedCall } from './http.js';
import { mockWorkflowIntegrations, workflowIntegrations } from './integrations.js';
import { redactSecrets } from './redact.js';
import { findWorkflow, openWorkflowSecrets, workflowActivity } from './verbs.js';

const JOB = 'execute-workflow';

let sandbox: Sandbox | undefined;
/**
 * This process's sandbox, created on first use: a pool of worker threads (`threads`, default
 * min(2, cores); `WORKFLOW_SANDBOX_THREADS`), so workflow code never runs on the event loop that
 * serves requests or jobs.
 */
export function workflowSandbox(config: Pick<CoreConfig, 'workflowThreads'> = {}): Sandbox {
  sandbox ??= createThreadedSandbox(config.workflowThreads === undefined ? {} : { threads: config.workflowThreads });
  return sandbox;
}

interface StoredResult {
  success: boolean;
  message: string;
  data: unknown;
  /** The sandbox's reason when it ended the run (no result from the workflow). */
  error?: string | null;
}

type RunJoin = {
  id: number;
  uuid: string;
  workflow_uuid: string;
  workflow_name: string;
  trigger_type: string;
  trigger_context: unknown;
  code_version_executed: number;
  status: string;
  attempt_count: number;
  log_output: string | null;
  result: unknown;
  duration_ms: number | null;
  started_at: Date | null;
  completed_at: Date | null;
  created_at: Date;
  updated_at: Date;
};

function parseLogs(text: string | null): LogEntry[] {
  if (!text) return [];
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      try {
        return JSON.parse(line) as LogEntry;
      } catch {
        return { level: 'info', message: line, at: '' } as LogEntry;
      }
    });
}

export function toRun(row: RunJoin): WorkflowRun {
  const stored = row.result as StoredResult | null;
  return {
    uuid: row.uuid,
    workflow_uuid: row.workflow_uuid,
    workflow_name: row.workflow_name,
    trigger_type: row.trigger_type,
    trigger_context: row.trigger_context,
    code_version_executed: row.code_version_executed,
    status: row.status as WorkflowRunStatus,
    attempt_count: row.attempt_count,
    logs: parseLogs(row.log_output),
    result:
      stored && stored.error == null ? { success: stored.success, message: stored.message, data: stored.data } : null,
    error: stored?.error ?? null,
    duration_ms: row.duration_ms,
    started_at: iso(row.started_at),
    completed_at: iso(row.completed_at),
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

/** The columns of a run with its workflow. */
const RUN_COLUMNS = [
  'r.id',
  'r.uuid',
  'w.uuid as workflow_uuid',
  'w.name as workflow_name',
  'r.trigger_type',
  'r.trigger_context',
  'r.code_version_executed',
  'r.status',
  'r.attempt_count',
  'r.log_output',
  'r.result',
  'r.duration_ms',
  'r.started_at',
  'r.completed_at',
  'r.created_at',
  'r.updated_at',
] as const;

/** Runs joined with their workflow. */
function runRows(db: Db) {
  return db.selectFrom('workflow_runs as r').innerJoin('workflows as w', 'w.id', 'r.workflow_id');
}

export function runsQuery(db: Db) {
  return runRows(db).select(RUN_COLUMNS);
}

/**
 * Insert a queued run and its `execute-workflow` job in `trx` (the caller announces the job after
 * commit); returns the run id. Used by execute and by approval decisions.
 */
export async function insertQueuedRun(
  ctx: Pick<ServiceContext, 'queue'>,
  trx: Db,
  workflow: Pick<WorkflowRow, 'id' | 'code_version'>,
  input: { trigger: string; context: Record<string, unknown>; codeVersion?: number },
): Promise<number> {
  const run = await trx
    .insertInto('workflow_runs')
    .values({
      uuid: newUuid(),
      workflow_id: workflow.id,
      trigger_type: input.trigger,
      trigger_context: JSON.stringify(input.context),
      code_version_executed: input.codeVersion ?? workflow.code_version,
      status: 'queued',
    })
    .returning('id')
    .executeTakeFirstOrThrow();
  await ctx.queue.send(JOB, { run_id: run.id }, { db: trx });
  return run.id;
}

/** The code a run executes: the version recorded at enqueue time. */
async function codeOf(db: Db, workflow: WorkflowRow, version: number): Promise<string> {
  if (version === workflow.code_version) return workflow.code;
  const saved = await db
    .selectFrom('workflow_code_versions')
    .select('code')
    .where('workflow_id', '=', workflow.id)
    .where('version', '=', version)
    .orderBy('id', 'desc')
    .executeTakeFirst();
  return saved?.code ?? workflow.code;
}

/** `ctx.indicator`: the stored indicator when known, else just its type and value. */
async function indicatorContext(db: Db, type: string, value: string): Promise<JsonValue> {
  const row = await db
    .selectFrom('indicators')
    .select(['uuid', 'type', 'value', 'malice', 'is_enriched', 'enrichment_results', 'first_seen', 'last_seen'])
    .where('type', '=', type)
    .where('value', '=', value)
    .executeTakeFirst();
  if (!row) return { uuid: null, type, value, malice: 'Pending', is_enriched: false, enrichment_results: {} };
  return {
    uuid: row.uuid,
    type: row.type,
    value: row.value,
    malice: row.malice,
    is_enriched: row.is_enriched,
    // Raw responses while the provider cache holds them (indicators/raw.ts).
    enrichment_results: ((await withCachedRaw(
      db,
      row,
      (row.enrichment_results ?? null) as Record<string, EnrichmentProviderResult> | null,
    )) ?? {}) as JsonValue,
    first_seen: iso(row.first_seen),
    last_seen: iso(row.last_seen),
  };
}

async function alertContext(db: Db, alertId: number | null): Promise<JsonValue> {
  if (alertId === null) return null;
  const row = await db
    .selectFrom('alerts')
    .select(['uuid', 'title', 'severity', 'source_name', 'status', 'occurred_at', 'tags'])
    .where('id', '=', alertId)
    .executeTakeFirst();
  if (!row) return null;
  return { ...row, occurred_at: iso(row.occurred_at) } as JsonValue;
}

function storedResult(outcome: RunOutcome): StoredResult {
  if (outcome.result) return { ...outcome.result, error: null };
  return { success: false, message: outcome.error ?? 'Workflow failed', data: {}, error: outcome.error };
}

/** Worker: run a queued workflow run in the sandbox and record its outcome (one attempt). */
export async function runWorkflowJob(ctx: ServiceContext, data: JobPayload<'execute-workflow'>): Promise<void> {
  const claimed = await ctx.db
    .updateTable('workflow_runs')
    .set((eb) => ({
      status: 'running',
      started_at: new Date(),
      attempt_count: eb('attempt_count', '+', 1),
      updated_at: new Date(),
    }))
    .where('id', '=', data.run_id)
    .where('status', '=', 'queued')
    .returningAll()
    .executeTakeFirst();
  if (!claimed) return; // gone, or already run (a redelivered job)
  const workflow = await ctx.db
    .selectFrom('workflows')
    .selectAll()
    .where('id', '=', claimed.workflow_id)
    .executeTakeFirstOrThrow();
  const trigger = (claimed.trigger_context ?? {}) as {
    indicator_type: string;
    indicator_value: string;
    alert_id: number | null;
  };
  const [code, indicator, alert, secrets, integrations] = await Promise.all([
    codeOf(ctx.db, workflow, claimed.code_version_executed),
    indicatorContext(ctx.db, trigger.indicator_type, trigger.indicator_value),
    alertContext(ctx.db, trigger.alert_id ?? null),
    openWorkflowSecrets(ctx, workflow),
    workflowIntegrations(ctx),
  ]);
  const http = hostHttpOf(ctx.workflowFetch);
  const endpoint = workflow.workflow_kind === 'http' ? workflow.http_endpoint_url : null;
  const ran = endpoint
    ? await runEndpointWorkflow(http, endpoint, workflow.timeout_seconds * 1000, {
        workflow: { uuid: workflow.uuid, name: workflow.name },
        run_uuid: claimed.uuid,
        indicator,
        alert,
      })
    : await workflowSandbox(ctx.config).run({
        code,
        context: { indicator, alert },
        secrets,
        http,
        integrations,
        limits: { timeoutMs: workflow.timeout_seconds * 1000 },
        filename: `workflow-${workflow.uuid}.js`,
      });
  // Secret values the workflow read never reach the stored logs or result.
  const outcome = redactSecrets(ran, secrets);
  await ctx.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('workflow_runs')
      .set({
        status: outcome.status,
        result: JSON.stringify(storedResult(outcome)),
        log_output: outcome.logs.map((l) => JSON.stringify(l)).join('\n'),
        duration_ms: Math.round(outcome.durationMs),
        completed_at: new Date(),
        updated_at: new Date(),
      })
      .where('id', '=', claimed.id)
      .execute();
    await trx
      .insertInto('activity_events')
      .values(
        workflowActivity(ctx, 'workflow_executed', workflow, {
          run_uuid: claimed.uuid,
          status: outcome.status,
          trigger_type: claimed.trigger_type,
          indicator_type: trigger.indicator_type,
          indicator_value: trigger.indicator_value,
          ...(outcome.limit ? { limit: outcome.limit } : {}),
        }),
      )
      .execute();
  });
  countWorkflowRun(endpoint ? 'http' : 'code', outcome.status, outcome.durationMs / 1000);
}

export async function listWorkflowRuns(ctx: ServiceContext, query: WorkflowRunListQuery & PageQuery) {
  authorize(ctx, 'workflows:read');
  let base = runRows(ctx.db);
  if (query.workflow_uuid !== undefined) {
    const workflow = await findWorkflow(ctx.db, query.workflow_uuid);
    base = base.where('r.workflow_id', '=', workflow.id);
  }
  const statuses = csv(query.status);
  if (statuses) base = base.where('r.status', 'in', statuses);
  return paginate(
    base,
    query,
    (q) => q.select(RUN_COLUMNS).orderBy('r.created_at', 'desc').orderBy('r.id', 'desc'),
    toRun,
  );
}

export async function getWorkflowRun(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<WorkflowRun> {
  authorize(ctx, 'workflows:read');
  const row = await runsQuery(ctx.db).where('r.uuid', '=', uuid).executeTakeFirst();
  if (!row) throw notFound('Workflow run');
  return toRun(row);
}

/**
 * Run a workflow now, in any state, against the caller's `mock_http` answers instead of the network;
 * each declared secret that is set reads as the placeholder `[secret NAME]`, never its value: the
 * caller may have written the code (`workflows:write`), and code can return a value in any disguise
 * (reversed, split) that no redaction recognises. `ctx.integrations` are no-op mocks whose calls
 * appear in `http_calls` as `INTEGRATION integration://<name>/<method>`. Nothing is recorded.
 */
export async function testWorkflow(
  ctx: ServiceContext,
  { uuid, input, ...options }: { uuid: string; input: WorkflowTestInput; http?: HostHttp },
): Promise<WorkflowTestResult> {
  authorize(ctx, 'workflows:execute');
  const data = WorkflowTestSchema.parse(input);
  const workflow = await findWorkflow(ctx.db, uuid);
  const calls: RecordedCall[] = [];
  const secrets = Object.fromEntries(
    Object.keys(await openWorkflowSecrets(ctx, workflow)).map((name) => [name, `[secret ${name}]`]),
  );
  const indicator = await indicatorContext(ctx.db, data.indicator_type, data.indicator_value);
  const http = options.http ?? mockHostHttp(data.mock_http, calls);
  const outcome =
    workflow.workflow_kind === 'http' && workflow.http_endpoint_url
      ? await runEndpointWorkflow(http, workflow.http_endpoint_url, Math.min(workflow.timeout_seconds, 30) * 1000, {
          workflow: { uuid: workflow.uuid, name: workflow.name },
          run_uuid: null,
          indicator,
          alert: null,
        })
      : await workflowSandbox(ctx.config).run({
          code: workflow.code,
          context: {
            indicator,
            alert: null,
          },
          secrets,
          http,
          // Okta / Entra: no-op clients, reported in http_calls (never the real services).
          integrations: mockWorkflowIntegrations(ctx, calls),
          limits: { timeoutMs: Math.min(workflow.timeout_seconds, 30) * 1000 },
          filename: `workflow-${workflow.uuid}.js`,
        });
  const stored = storedResult(outcome);
  // The code only ever saw placeholders: there is no secret value to redact.
  return {
    status: outcome.status,
    success: stored.success,
    message: stored.message,
    result: outcome.result,
    error: outcome.error,
    logs: outcome.logs,
    duration_ms: Math.round(outcome.durationMs),
    http_calls: calls,
  };
}
