import { type CoreDeps, type JobName, type ServiceContext, SYSTEM } from '@calseta/core';
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
