import { dispatchAfterEnrichment, runAgentDelivery } from '../agents/dispatch.js';
import { sendApprovalNotification } from '../approvals/notify.js';
import { recordApprovedRunResult, sweepApprovals } from '../approvals/verbs.js';
import { contextFor } from '../context-for.js';
import type { CoreDeps } from '../infra/context.js';
import { SYSTEM } from '../infra/context.js';
import type { JobName, JobPayload } from '../infra/jobs/catalogue.js';
import { runIncidentDelivery } from '../incidents/delivery.js';
import { extractAlertIndicators } from '../ingest/extract-alert-indicators.js';
import { runWorkflowJob } from '../workflows/runs.js';
import { enrichAlert } from './enrich-alert.js';

type Handlers = { [N in JobName]: (deps: CoreDeps, data: JobPayload<N>) => Promise<void> };

/** What the worker does for each job (enrich-alert extracts, enriches, then queues a dispatch-agent job per matching agent). */
export const JOB_HANDLERS: Handlers = {
  'enrich-alert': async (deps, data) => {
    const ctx = contextFor(deps, SYSTEM);
    // A rate-limit retry only re-runs the providers: the indicators are already linked.
    if (data.reason !== 'rate_limited') {
      const extracted = await extractAlertIndicators(ctx, data.alert_id);
      if (extracted === null) return;
    }
    const summary = await enrichAlert(ctx, data.alert_id, data.attempt ?? 0);
    deps.logger.debug(
      { alert_id: data.alert_id, reason: data.reason, status: summary?.status, retry_at: summary?.retry_at },
      'alert enriched',
    );
    // Agents (issue 4): once per (alert, agent) unless `redispatch`; held back while rate-limited
    // providers are still pending (`retry_at`), sent when the follow-up enrichment finishes.
    if (summary !== null) {
      await dispatchAfterEnrichment(ctx, data.alert_id, {
        redispatch: data.redispatch ?? false,
        final: summary.retry_at === null,
      });
    }
  },
  'dispatch-agent': (deps, data) => runAgentDelivery(contextFor(deps, SYSTEM), data),
  'deliver-incident': (deps, data) => runIncidentDelivery(contextFor(deps, SYSTEM), data),
  'execute-workflow': async (deps, data) => {
    const ctx = contextFor(deps, SYSTEM);
    await runWorkflowJob(ctx, data);
    // A run created by an approval: its result goes into the request and is notified.
    await recordApprovedRunResult(ctx, data.run_id);
  },
  'notify-approval': (deps, data) => sendApprovalNotification(contextFor(deps, SYSTEM), data),
  'sweep-approvals': async (deps) => {
    await sweepApprovals(contextFor(deps, SYSTEM));
  },
};
