import type { CoreDeps } from '../context.js';
import { SYSTEM } from '../context.js';
import { contextFor } from '../context-for.js';
import type { JobName, JobPayload } from '../jobs/catalogue.js';
import { extractAlertIndicators } from './extract-alert-indicators.js';

type Handlers = { [N in JobName]: (deps: CoreDeps, data: JobPayload<N>) => Promise<void> };

/** What the worker does for each job. Enrichment, context and dispatch join `enrich-alert` later. */
export const JOB_HANDLERS: Handlers = {
  'enrich-alert': async (deps, data) => {
    const ctx = contextFor(deps, SYSTEM);
    const result = await extractAlertIndicators(ctx, data.alert_id);
    deps.logger.debug({ alert_id: data.alert_id, reason: data.reason, ...result }, 'alert indicators extracted');
  },
};
