import type { Db } from '@calseta/db';
import type { MetricsSummary, MetricsWindowQuery, QueueMetrics, WorkflowMetrics } from '@calseta/schema';
import { sql } from 'kysely';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';
import { JOB_NAMES } from '../infra/jobs/catalogue.js';
import { QUEUE_SCHEMA } from '../infra/jobs/rows.js';
import { iso } from '../infra/serialize.js';
import { ACTIVE, alertScalars } from './alerts.js';
import {
  countMap,
  DEFAULT_WINDOW_MS,
  groupAlerts,
  inWindow,
  perDay,
  ratio,
  resolveWindow,
  type Window,
} from './window.js';

interface WorkflowCounts {
  /** Every workflow, whatever its state. */
  total: number;
  /** Runnable workflows: `state = 'active'` and `is_active`. */
  active: number;
}

/**
 * Workflow counts. The reference counted every workflow in `/metrics/workflows` but only
 * `state='active'` ones in the summary, under the same name (quirk 36): here both endpoints report
 * `total_configured` = every workflow and `active` = the runnable ones.
 */
async function workflowCounts(db: Db): Promise<WorkflowCounts> {
  const { rows } = await sql<WorkflowCounts>`
    SELECT count(*)::int AS total,
      (count(*) FILTER (WHERE state = 'active' AND is_active))::int AS active
    FROM workflows
  `.execute(db);
  // biome-ignore lint/style/noNonNullAssertion: an aggregate without GROUP BY returns exactly one row
  return rows[0]!;
}

interface RunScalars {
  runs: number;
  succeeded: number;
  /** Σ time_saved_minutes of the workflow of each successful run. */
  minutes_saved: number;
}

async function runScalars(db: Db, window: Window): Promise<RunScalars> {
  const { rows } = await sql<RunScalars>`
    SELECT count(*)::int AS runs,
      (count(*) FILTER (WHERE workflow_runs.status = 'succeeded'))::int AS succeeded,
      (coalesce(sum(w.time_saved_minutes) FILTER (WHERE workflow_runs.status = 'succeeded'), 0))::float8 AS minutes_saved
    FROM workflow_runs JOIN workflows w ON w.id = workflow_runs.workflow_id
    WHERE ${inWindow('workflow_runs', window)}
  `.execute(db);
  // biome-ignore lint/style/noNonNullAssertion: an aggregate without GROUP BY returns exactly one row
  return rows[0]!;
}

export async function workflowMetrics(db: Db, window: Window): Promise<WorkflowMetrics> {
  const [counts, byType, runs, overTime, top] = await Promise.all([
    workflowCounts(db),
    sql<{
      k: string | null;
      n: number;
    }>`SELECT workflow_type AS k, count(*)::int AS n FROM workflows GROUP BY 1`.execute(db),
    runScalars(db, window),
    perDay(db, 'workflow_runs', inWindow('workflow_runs', window)),
    sql<{ uuid: string; name: string; run_count: number }>`
      SELECT w.uuid, w.name, count(*)::int AS run_count
      FROM workflow_runs JOIN workflows w ON w.id = workflow_runs.workflow_id
      WHERE ${inWindow('workflow_runs', window)}
      GROUP BY w.id ORDER BY run_count DESC, w.name ASC, w.id ASC LIMIT 10
    `.execute(db),
  ]);
  return {
    period_from: iso(window.from),
    period_to: iso(window.to ?? new Date()),
    total_configured: counts.total,
    active: counts.active,
    workflows_by_type: countMap(byType.rows, 'unset'),
    workflow_run_count: runs.runs,
    workflow_success_rate: ratio(runs.succeeded, runs.runs),
    workflow_runs_over_time: overTime,
    time_saved_hours: runs.minutes_saved / 60,
    most_executed_workflows: top.rows,
  };
}

/** `GET /v1/metrics/workflows`: configured workflows and the runs created in the window. */
export async function getWorkflowMetrics(ctx: ServiceContext, query: MetricsWindowQuery): Promise<WorkflowMetrics> {
  authorize(ctx, 'workflow_metrics:read');
  const window = resolveWindow(query.from_time, query.to_time, { from: 'from_time', to: 'to_time' });
  return workflowMetrics(ctx.db, window);
}

type ApprovalMetrics = MetricsSummary['approvals'];

/**
 * Approval metrics. `pending` leaves out requests already past `expires_at`: expiry is applied when
 * a request is read, so such rows may still say `pending` but can no longer be decided (quirk 36).
 */
async function approvalMetrics(db: Db, window: Window): Promise<ApprovalMetrics> {
  const { rows } = await sql<{
    pending: number;
    approved: number;
    responded_approved: number;
    responded_rejected: number;
    median: number | null;
  }>`
    SELECT
      (SELECT count(*)::int FROM workflow_approval_requests WHERE status = 'pending' AND expires_at > now()) AS pending,
      (count(*) FILTER (WHERE status = 'approved'))::int AS approved,
      (count(*) FILTER (WHERE status = 'approved' AND responded_at IS NOT NULL))::int AS responded_approved,
      (count(*) FILTER (WHERE status = 'rejected' AND responded_at IS NOT NULL))::int AS responded_rejected,
      (percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM responded_at - created_at) / 60)
        FILTER (WHERE responded_at IS NOT NULL))::float8 AS median
    FROM workflow_approval_requests
    WHERE ${inWindow('workflow_approval_requests', window)}
  `.execute(db);
  // biome-ignore lint/style/noNonNullAssertion: an aggregate without GROUP BY returns exactly one row
  const r = rows[0]!;
  return {
    pending: r.pending,
    approved_last_30_days: r.approved,
    approval_rate: ratio(r.responded_approved, r.responded_approved + r.responded_rejected),
    median_response_time_minutes: r.median,
  };
}

async function platformCounts(db: Db): Promise<MetricsSummary['platform']> {
  const [{ rows }, byType] = await Promise.all([
    sql<Omit<MetricsSummary['platform'], 'enrichment_providers_by_indicator_type'>>`
      SELECT
        (SELECT count(*)::int FROM context_documents) AS context_documents,
        (SELECT count(*)::int FROM detection_rules) AS detection_rules,
        (SELECT count(*)::int FROM enrichment_providers WHERE is_active) AS enrichment_providers,
        (SELECT count(*)::int FROM agent_registrations WHERE is_active) AS agents,
        (SELECT count(*)::int FROM workflows) AS workflows,
        (SELECT count(*)::int FROM indicator_field_mappings) AS indicator_mappings
    `.execute(db),
    sql<{ k: string; n: number }>`
      SELECT t AS k, count(*)::int AS n
      FROM enrichment_providers, unnest(supported_indicator_types) AS t
      WHERE is_active GROUP BY t
    `.execute(db),
  ]);
  // biome-ignore lint/style/noNonNullAssertion: a SELECT without FROM returns exactly one row
  return { ...rows[0]!, enrichment_providers_by_indicator_type: countMap(byType.rows) };
}

interface QueueRow {
  queue: string;
  pending: number;
  in_progress: number;
  succeeded_30d: number;
  failed_30d: number;
  avg_duration_seconds: number | null;
  oldest_pending_age_seconds: number | null;
}

/**
 * Job counts per queue from pg-boss (live jobs and the archive). The oldest pending age is that of
 * the oldest job that is due (`start_after ≤ now`) but not started: how far behind the workers are.
 */
export async function queueMetrics(db: Db): Promise<QueueMetrics | null> {
  const schema = sql.raw(QUEUE_SCHEMA);
  const columns = sql.raw('name, state, start_after, started_on, completed_on');
  let rows: QueueRow[];
  try {
    ({ rows } = await sql<QueueRow>`
      SELECT name AS queue,
        (count(*) FILTER (WHERE state IN ('created', 'retry')))::int AS pending,
        (count(*) FILTER (WHERE state = 'active'))::int AS in_progress,
        (count(*) FILTER (WHERE state = 'completed' AND completed_on >= now() - interval '30 days'))::int AS succeeded_30d,
        (count(*) FILTER (WHERE state = 'failed' AND completed_on >= now() - interval '30 days'))::int AS failed_30d,
        (avg(extract(epoch FROM completed_on - started_on))
          FILTER (WHERE state = 'completed' AND completed_on >= now() - interval '30 days'))::float8 AS avg_duration_seconds,
        (max(extract(epoch FROM now() - start_after))
          FILTER (WHERE state IN ('created', 'retry') AND start_after <= now()))::float8 AS oldest_pending_age_seconds
      FROM (
        SELECT ${columns} FROM ${schema}.job
        UNION ALL
        SELECT ${columns} FROM ${schema}.archive
      ) jobs
      GROUP BY name
    `.execute(db));
  } catch {
    return null;
  }
  const byName = new Map(rows.map((r) => [r.queue, r]));
  const queues = [...new Set([...JOB_NAMES, ...byName.keys()])].sort().map(
    (name) =>
      byName.get(name) ?? {
        queue: name,
        pending: 0,
        in_progress: 0,
        succeeded_30d: 0,
        failed_30d: 0,
        avg_duration_seconds: null,
        oldest_pending_age_seconds: null,
      },
  );
  const sum = (key: 'pending' | 'in_progress' | 'succeeded_30d' | 'failed_30d') =>
    queues.reduce((total, q) => total + q[key], 0);
  const ages = queues.map((q) => q.oldest_pending_age_seconds).filter((a): a is number => a !== null);
  return {
    queues,
    total_pending: sum('pending'),
    total_in_progress: sum('in_progress'),
    total_failed_30d: sum('failed_30d'),
    total_succeeded_30d: sum('succeeded_30d'),
    oldest_pending_age_seconds: ages.length > 0 ? Math.max(...ages) : null,
  };
}

/** `GET /v1/metrics/summary`: the dashboard's numbers over the last 30 days (`created_at ≥ now − 30 d`). */
export async function getMetricsSummary(ctx: ServiceContext): Promise<MetricsSummary> {
  authorize(ctx, 'metrics:read');
  const db = ctx.db;
  const window: Window = { from: new Date(Date.now() - DEFAULT_WINDOW_MS), to: null };
  const where = inWindow('alerts', window);
  const [s, activeBySeverity, byStatus, bySource, counts, runs, approvals, platform, queue] = await Promise.all([
    alertScalars(db, where),
    groupAlerts(db, sql`alerts.severity`, sql<boolean>`${where} AND ${ACTIVE}`),
    groupAlerts(db, sql`alerts.status`, where),
    groupAlerts(db, sql`alerts.source_name`, where),
    workflowCounts(db),
    runScalars(db, window),
    approvalMetrics(db, window),
    platformCounts(db),
    queueMetrics(db),
  ]);
  return {
    period: 'last_30_days',
    alerts: {
      total: s.total,
      active: s.active,
      by_severity: activeBySeverity,
      by_status: byStatus,
      by_source: bySource,
      enrichment_coverage: ratio(s.enriched, s.total),
      mean_time_to_enrich_seconds: s.mtte,
      false_positive_rate: ratio(s.closed_fp, s.closed),
      mttd_seconds: s.mttd,
      mtta_seconds: s.mtta,
      mttt_seconds: s.mttt,
      mttc_seconds: s.mttc,
    },
    workflows: {
      total_configured: counts.total,
      active: counts.active,
      executions: runs.runs,
      success_rate: ratio(runs.succeeded, runs.runs),
      estimated_time_saved_hours: runs.minutes_saved / 60,
    },
    approvals,
    platform,
    queue,
  };
}
