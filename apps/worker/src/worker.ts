import { type CoreDeps, JOB_HANDLERS, JOB_NAMES, type JobName } from '@calseta/core';

/** Run every job queue in this process with `concurrency` jobs at a time per queue. */
export async function startWorker(deps: CoreDeps, concurrency: number): Promise<void> {
  for (const name of JOB_NAMES) {
    await deps.queue.work(name, {
      concurrency,
      handler: (job) => (JOB_HANDLERS[name] as (d: CoreDeps, data: unknown) => Promise<void>)(deps, job.data),
    });
  }
}

export type { JobName };
