import { type CoreDeps, type JobName, type JobQueue, type ServiceContext, SYSTEM } from '@calseta/core';
import { createDb } from '@calseta/db';
import type { Harness } from './harness.js';

/**
 * A system context on the test database in which the worker always wins the race a verb opens when
 * it commits a job: once the verb announces `job`, the next connection the context takes (a read
 * after the commit) is handed out only after `workerDone` settles. A verb that answers from its
 * transaction's own rows never waits; one that reads back after the commit sees the worker's state.
 */
export function workerWinsRace(h: Harness, job: JobName, workerDone: Promise<unknown>) {
  const { db, pool } = createDb({ url: h.databaseUrl, max: 2 });
  let held: Promise<unknown> | undefined;
  const connect = pool.connect.bind(pool);
  pool.connect = (async () => {
    const wait = held;
    held = undefined;
    if (wait) await wait;
    return connect();
  }) as typeof pool.connect;
  const real = h.deps.queue;
  const queue = Object.create(real) as CoreDeps['queue'];
  queue.announce = (name: JobName) => {
    if (name === job) held ??= workerDone;
    real.announce(name);
  };
  const ctx: ServiceContext = { ...h.deps, db, queue, actor: SYSTEM };
  return { ctx, close: () => db.destroy() };
}

/**
 * For `createHarness({ wrapQueue })`: the worker starts no job whose data `matches` until `released`
 * settles. A job due a moment later (the retry after a 429) then cannot overtake the test's reads of
 * the state before it, however slow the machine.
 */
export function holdJobs(matches: (data: Record<string, unknown>) => boolean, released: Promise<unknown>) {
  return (queue: JobQueue): JobQueue => {
    const work = queue.work.bind(queue);
    queue.work = (name, options) =>
      work(name, {
        ...options,
        handler: async (job) => {
          if (matches(job.data as Record<string, unknown>)) await released;
          return options.handler(job);
        },
      });
    return queue;
  };
}
