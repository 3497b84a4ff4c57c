import { runAgentDelivery } from '../agents/dispatch.js';
import { sendApprovalNotification } from '../approvals/notify.js';
import { recordApprovedRunResult, sweepApprovals } from '../approvals/verbs.js';
import { contextFor } from '../context-for.js';
import { runIncidentDelivery } from '../incidents/delivery.js';
import type { CoreDeps } from '../infra/context.js';
import { SYSTEM } from '../infra/context.js';
import type { JobName, JobPayload } from '../infra/jobs/catalogue.js';
import { runWorkflowJob } from '../workflows/runs.js';
import { processAlert } from './process-alert.js';

type Handlers = { [N in JobName]: (deps: CoreDeps, data: JobPayload<N>) => Promise<void> };

/** What the worker does for each job (enrich-alert: the whole pipeline of one alert, pipeline/process-alert.ts). */
export const JOB_HANDLERS: Handlers = {
  'enrich-alert': async (deps, data) => {
    await processAlert(contextFor(deps, SYSTEM), data);
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
