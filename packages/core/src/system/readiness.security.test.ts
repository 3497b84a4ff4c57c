/**
 * The readiness probes answer anyone: `/health/ready` is unauthenticated on the API's and MCP's public
 * ports. Two attacks on that: reading the deployment's internals from a failing check's error text
 * (database host, user, driver messages), and flooding the probe so its checks take every pooled
 * connection from real requests.
 */
import { createDb } from '@calseta/db';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { NO_INTEGRATIONS } from '../infra/integrations.js';
import { createTestCore, type TestCore } from '../testing/index.js';
import { checkReadiness, probeReadiness } from './readiness.js';

let core: TestCore;
beforeAll(async () => {
  core = await createTestCore({ integrations: NO_INTEGRATIONS, startQueue: true });
});
afterAll(() => core?.close());

describe('readiness probes', () => {
  it('a failing check says fixed words: no host, user, password or driver message', async () => {
    const { db } = createDb({ url: 'postgres://calseta_admin:hunter2@127.0.0.1:1/calseta_prod', max: 1 });
    try {
      const readiness = await checkReadiness({ db, queue: core.deps.queue });
      expect(readiness.failing).toContain('database');
      expect(readiness.checks.database).toEqual({ status: 'fail', reason: 'unreachable' });
      expect(JSON.stringify(readiness)).not.toMatch(
        /127\.0\.0\.1|calseta_admin|hunter2|calseta_prod|ECONNREFUSED|connect/,
      );
    } finally {
      await db.destroy();
    }
  });

  it('a flood of probes costs one check: concurrent probes share it, and it serves for a second', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    try {
      const deps = { db: core.deps.db, queue: core.deps.queue };
      const answers = await Promise.all(Array.from({ length: 200 }, () => probeReadiness(deps)));
      expect(new Set(answers).size).toBe(1);
      expect(answers[0]?.status).toBe('ready');
      vi.setSystemTime(Date.now() + 999);
      expect(await probeReadiness(deps)).toBe(answers[0]);
      // The worker's probe (its loops too) is a check of its own.
      expect(await probeReadiness(deps, { consumes: ['enrich-alert'] })).not.toBe(answers[0]);
      vi.setSystemTime(Date.now() + 2);
      const fresh = await probeReadiness(deps);
      expect(fresh).not.toBe(answers[0]);
      expect(fresh).toEqual(answers[0]);
    } finally {
      vi.useRealTimers();
    }
  });
});
