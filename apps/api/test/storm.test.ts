/**
 * An alert storm at the door. Splunk's webhook alert action sends once and never retries
 * (docs/integrations/README.md), so an alert refused at ingest is lost: a burst that one node can
 * store must be accepted whole with the API's DEFAULT settings. 300 Splunk webhook alerts from one
 * key within a few seconds go to a real API process (no rate-limit setting in its environment) and
 * all must be answered 202 and stored. A 429 is for real overload only: when more alerts wait for a
 * commit than the ingest backlog allows, the API answers 429 with Retry-After and stores nothing of
 * the refused ones.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { contextFor, createApiKey, createCore, createLogger, JobQueue, SYSTEM } from '@calseta/core';
import { createDb } from '@calseta/db';
import { createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import { firstParty } from '@calseta/integrations';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const SPLUNK = JSON.parse(
  readFileSync(path.join(ROOT, 'packages/integrations/fixtures/03_splunk_anomalous_data_transfer.json'), 'utf8'),
) as { search_name?: string; result?: Record<string, unknown> };
const STORM = 300;

/** The Splunk fixture with a distinct search name and source IP per alert (distinct fingerprints). */
function splunkAlert(i: number): string {
  return JSON.stringify({
    ...SPLUNK,
    search_name: `Storm test ${i}`,
    result: { ...SPLUNK.result, src_ip: `34.9.${(i >> 8) & 255}.${i & 255}` },
  });
}

describe('a storm from one SIEM key, default settings, real API process', () => {
  let database: TestDatabase;
  let api: ChildProcess;
  let lines: string[] = [];
  let url: string;
  let key: string;

  beforeAll(async () => {
    database = await createTestDatabase();
    const { db } = createDb({ url: database.url, max: 2 });
    const logger = createLogger({ service: 'test', level: 'silent' });
    const queue = new JobQueue({ url: database.url, logger, supervise: false, maxConnections: 1 });
    const deps = createCore({
      integrations: firstParty,
      db,
      queue,
      logger,
      config: { dedupWindowHours: 24, webhookSecrets: {} },
    });
    key = (await createApiKey(contextFor(deps, SYSTEM), { name: 'splunk', scopes: ['alerts:write'] })).key;
    await db.destroy();
    // Only what a deployment must set: every limit at its default.
    api = spawn(process.execPath, ['--import', 'tsx', 'apps/api/src/main.ts'], {
      cwd: ROOT,
      env: {
        DATABASE_URL: database.url,
        ENCRYPTION_KEY: randomBytes(32).toString('base64'),
        // Any free port for the ops listener: several processes of a kind share this host.
        OPS_PORT: '0',
        API_HOST: '127.0.0.1',
        API_PORT: '0',
        LOG_REQUESTS: 'false',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    lines = [];
    url = await new Promise<string>((resolve, reject) => {
      for (const stream of [api.stdout, api.stderr]) {
        stream?.setEncoding('utf8');
        stream?.on('data', (chunk: string) => {
          lines.push(...chunk.split('\n').filter(Boolean));
          const port = /"port":(\d+)/.exec(chunk)?.[1];
          if (port && chunk.includes('listening')) resolve(`http://127.0.0.1:${port}`);
        });
      }
      api.once('exit', (code) => reject(new Error(`api exited ${code}:\n${lines.join('\n')}`)));
    });
  }, 120_000);

  afterAll(async () => {
    if (api && api.exitCode === null) {
      const exited = new Promise((resolve) => api.once('exit', resolve));
      api.kill('SIGKILL');
      await exited;
    }
    await database?.drop();
  });

  it(`${STORM} alerts in a burst are all answered 202 and stored`, async () => {
    const started = performance.now();
    const statuses = await Promise.all(
      Array.from({ length: STORM }, async (_, i) => {
        const response = await fetch(`${url}/v1/ingest/splunk`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: splunkAlert(i),
        });
        await response.body?.cancel();
        return response.status;
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const counts: Record<number, number> = {};
    for (const s of statuses) counts[s] = (counts[s] ?? 0) + 1;
    expect(counts, lines.slice(-5).join('\n')).toEqual({ 202: STORM });
    // "a few seconds": the burst really was one (not trickled in under a per-minute budget).
    expect(seconds).toBeLessThan(30);
    const stored = await database.db.selectFrom('alerts').select('uuid').where('source_name', '=', 'splunk').execute();
    expect(stored).toHaveLength(STORM);
  }, 120_000);
});

describe('real overload: the ingest backlog is full', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(() => h.close());

  it('answers 429 with Retry-After beyond the backlog, stores every 202 and none of the 429s', async () => {
    h.deps.ingest.maxWaiting = 3;
    // A real stall: another transaction holds the fingerprint claims' table, so the first batch cannot
    // commit and the next alerts wait behind it — the backlog fills however slowly requests arrive.
    const { pool } = createDb({ url: h.databaseUrl, max: 1 });
    const blocker = await pool.connect();
    await blocker.query('BEGIN');
    await blocker.query('LOCK TABLE alert_fingerprints IN EXCLUSIVE MODE');
    let firstRefusal: () => void = () => {};
    const refusedOnce = new Promise<void>((resolve) => {
      firstRefusal = resolve;
    });
    const requests = Array.from({ length: 60 }, async (_, i) => {
      const res = await fetch(`${h.baseUrl}/v1/ingest/splunk`, {
        method: 'POST',
        headers: { authorization: `Bearer ${h.adminKey}`, 'content-type': 'application/json' },
        body: splunkAlert(i),
      });
      const body = (await res.json()) as { data?: { alert_uuid: string }; error?: unknown };
      if (res.status === 429) firstRefusal();
      return { i, status: res.status, retryAfter: res.headers.get('retry-after'), body };
    });
    await refusedOnce;
    await blocker.query('COMMIT');
    blocker.release();
    await pool.end();
    const answers = await Promise.all(requests);
    const refused = answers.filter((a) => a.status === 429);
    const accepted = answers.filter((a) => a.status === 202);
    expect(refused.length).toBeGreaterThan(0);
    expect(accepted.length + refused.length).toBe(60);
    for (const r of refused) {
      expect(r.retryAfter).toBe('1');
      expect(r.body.error).toMatchObject({ code: 'RATE_LIMITED', details: { reason: 'ingest_backlog' } });
    }
    const stored = await h.deps.db.selectFrom('alerts').select('uuid').where('source_name', '=', 'splunk').execute();
    expect(stored.map((s) => s.uuid).sort()).toEqual(accepted.map((a) => a.body.data?.alert_uuid).sort());
  });
});
