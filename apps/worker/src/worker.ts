import {
  type CoreDeps,
  contextFor,
  JOB_HANDLERS,
  JOB_NAMES,
  type JobName,
  SYSTEM,
  sweepStalledDeliveries,
} from '@calseta/core';

/** How often a worker looks for deliveries whose worker died mid-attempt (their lease is over). */
const DELIVERY_SWEEP_MS = 5_000;

/** Run every job queue in this process with `concurrency` jobs at a time per queue. */
export async function startWorker(deps: CoreDeps, concurrency: number): Promise<void> {
  for (const name of JOB_NAMES) {
    await deps.queue.work(name, {
      concurrency,
      handler: (job) => (JOB_HANDLERS[name] as (d: CoreDeps, data: unknown) => Promise<void>)(deps, job.data),
    });
  }
  sweepDeliveries(deps);
}

/** Every DELIVERY_SWEEP_MS while this process consumes jobs (it stops with the queue). */
function sweepDeliveries(deps: CoreDeps): void {
  const ctx = contextFor(deps, SYSTEM);
  const sweep = () => {
    if (deps.queue.consuming().length === 0) return;
    sweepStalledDeliveries(ctx)
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'delivery sweep failed'))
      .finally(() => setTimeout(sweep, DELIVERY_SWEEP_MS).unref());
  };
  setTimeout(sweep, DELIVERY_SWEEP_MS).unref();
}

export type { JobName };
