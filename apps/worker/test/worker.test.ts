import { readFileSync } from 'node:fs';
import {
  type CoreDeps,
  contextFor,
  createCore,
  createLogger,
  ingestAlert,
  JOB_HANDLERS,
  type JobOutcome,
  JobQueue,
  SYSTEM,
  seedSystemRows,
} from '@calseta/core';
import { createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import { firstParty } from '@calseta/integrations';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorker } from '../src/worker.js';

const payload = JSON.parse(
  readFileSync(new URL('../../../packages/integrations/fixtures/elastic_alert.json', import.meta.url), 'utf8'),
);

let database: TestDatabase;
let queue: JobQueue;
let deps: CoreDeps;

beforeAll(async () => {
  database = await createTestDatabase();
  const logger = createLogger({ service: 'test', level: 'silent' });
  queue = new JobQueue({ url: database.url, logger, supervise: false });
  await queue.start();
  deps = createCore({
    integrations: firstParty,
    db: database.db,
    queue,
    logger,
    config: { dedupWindowHours: 0, webhookSecrets: {} },
  });
  await seedSystemRows(deps);
});
afterAll(async () => {
  await queue.stop();
  await database.drop();
});

function nextOutcome(): Promise<JobOutcome & { state: string }> {
  return new Promise((resolve) => {
    queue.events.once('completed', (o: JobOutcome) => resolve({ ...o, state: 'completed' }));
    queue.events.once('failed', (o: JobOutcome) => resolve({ ...o, state: 'failed' }));
  });
}

async function jobState(id: string): Promise<string> {
  const { rows } = await queue.boss.getDb().executeSql('SELECT state FROM pgboss.job WHERE id = $1', [id]);
  return (rows[0] as { state: string }).state;
}

async function linkCount(alertUuid: string): Promise<number> {
  const row = await deps.db
    .selectFrom('alert_indicators')
    .innerJoin('alerts', 'alerts.id', 'alert_indicators.alert_id')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('alerts.uuid', '=', alertUuid)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('worker', () => {
  it('finishes a job whose worker died mid-run, once the job expires', async () => {
    const accepted = await ingestAlert(contextFor(deps, SYSTEM), { sourceName: 'elastic', payload });
    // A worker takes the job and dies (kill -9): the job stays active, nobody completes it.
    const [taken] = await queue.boss.fetch('enrich-alert');
    expect(taken).toBeDefined();
    const jobId = (taken as { id: string }).id;
    expect(await jobState(jobId)).toBe('active');

    // Fast-forward past its expiry instead of waiting 5 minutes; pg-boss's supervisor then retries it.
    await queue.boss
      .getDb()
      .executeSql("UPDATE pgboss.job SET started_on = now() - interval '1 hour' WHERE id = $1", [jobId]);
    await queue.boss.maintain();
    expect(await jobState(jobId)).toBe('retry');
    await queue.boss.getDb().executeSql('UPDATE pgboss.job SET start_after = now() WHERE id = $1', [jobId]);

    const outcome = nextOutcome();
    await startWorker(deps, 2);
    expect(await outcome).toMatchObject({ id: jobId, state: 'completed' });
    expect(await jobState(jobId)).toBe('completed');
    expect(await linkCount(accepted.alert_uuid)).toBe(10);
  });

  it('is idempotent: running an alert twice links nothing twice', async () => {
    const done = nextOutcome();
    const accepted = await ingestAlert(contextFor(deps, SYSTEM), { sourceName: 'elastic', payload });
    await done;
    const alert = await deps.db
      .selectFrom('alerts')
      .select('id')
      .where('uuid', '=', accepted.alert_uuid)
      .executeTakeFirstOrThrow();
    await JOB_HANDLERS['enrich-alert'](deps, { alert_id: alert.id, reason: 'manual' });
    expect(await linkCount(accepted.alert_uuid)).toBe(10);
    const indicators = await deps.db
      .selectFrom('indicators')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('value', '=', '185.220.101.32')
      .executeTakeFirstOrThrow();
    expect(Number(indicators.n)).toBe(1);
  });

  it('records a failing job for retry instead of losing it', async () => {
    const alert = await deps.db
      .insertInto('alerts')
      .values({
        title: 'orphan',
        severity: 'Low',
        source_name: 'no-such-plugin',
        occurred_at: new Date(),
        fingerprint: 'x',
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const failed = nextOutcome();
    const jobId = await queue.send('enrich-alert', { alert_id: alert.id, reason: 'manual' });
    const outcome = await failed;
    expect(outcome).toMatchObject({ id: jobId, state: 'failed', error: expect.stringContaining('no-such-plugin') });
    expect(await jobState(jobId)).toBe('retry');
  });
});
