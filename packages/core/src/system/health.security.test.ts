/**
 * `/health` answers anyone, and each check takes a pooled connection and counts the queue's waiting
 * jobs (slow under a backlog, exactly when dashboards poll it): a flood of concurrent requests must
 * cost one check, not one per request, or it takes the pool from real requests.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NO_INTEGRATIONS } from '../infra/integrations.js';
import { createTestCore, type TestCore } from '../testing/index.js';
import { probeHealth } from './health.js';

let core: TestCore;
beforeAll(async () => {
  core = await createTestCore({ integrations: NO_INTEGRATIONS, startQueue: true });
});
afterAll(() => core?.close());

describe('/health under a flood', () => {
  it('concurrent requests share the check in flight; a request after it runs a fresh one', async () => {
    const depth = vi.spyOn(core.deps.queue, 'depth');
    const answers = await Promise.all(Array.from({ length: 200 }, () => probeHealth(core.deps, 'test')));
    expect(depth).toHaveBeenCalledTimes(1);
    expect(new Set(answers).size).toBe(1);
    expect(answers[0]).toMatchObject({ status: 'ok', database: 'ok', queue: 'ok' });
    // Not reused once answered: a later request sees what changed since.
    expect(await probeHealth(core.deps, 'test')).not.toBe(answers[0]);
    expect(depth).toHaveBeenCalledTimes(2);
  });
});
