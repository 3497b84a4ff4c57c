import { createDb, type Db } from '@calseta/db';
import { createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import { defineProvider, enrichIndicator } from '@calseta/enrichment-engine';
import { fakeHttp, jsonResponse, memoryPorts } from '@calseta/enrichment-engine/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../logger.js';
import { Notifications } from '../notifications.js';
import { PgEnrichmentCache } from './pg-cache.js';
import { PgCoalescer } from './pg-coalesce.js';

/**
 * Review of b071550 (the engine does not wait for its cache write; the claim is released once the
 * write has ended): the owner's own process asking again in that window.
 */
const logger = createLogger({ service: 'test', level: 'silent' });
let t: TestDatabase;
let db: Db;
let notifications: Notifications;

beforeAll(async () => {
  t = await createTestDatabase();
  db = createDb({ url: t.url, max: 5, applicationName: 'calseta-test-review' }).db;
  notifications = new Notifications(t.url, logger);
});
afterAll(async () => {
  await notifications?.stop();
  await db?.destroy();
  await t?.drop();
});

it('the same process asking again before its cache write commits: no second call, answered once stored', {
  timeout: 15_000,
}, async () => {
  const cache = new PgEnrichmentCache(db);
  let waits = 0;
  const waited: Array<() => void> = [];
  const coalescer = new PgCoalescer({
    db,
    notifications,
    cache,
    logger,
    staleAfterMs: 120_000, // only the release's notification ends a wait within the test
    onWait: () => {
      waits++;
      for (const resolve of waited.splice(0)) resolve();
    },
  });
  const value = '9.9.9.12';
  const provider = defineProvider({
    provider_name: 'virustotal',
    display_name: 'VirusTotal',
    supported_indicator_types: ['ip'],
    http_config: { steps: [{ url: 'https://vt.test/ip/{{value}}' }] },
  });
  const http = fakeHttp(() => jsonResponse({ data: { malicious: 0 } }));
  const enrich = () =>
    enrichIndicator({
      indicator: { type: 'ip', value },
      providers: [provider],
      ports: { ...memoryPorts(http.port), cache, coalesce: coalescer },
      auth: () => ({}),
      options: { slim: true },
    });
  const claims = async () =>
    (await sql`SELECT owner FROM enrichment_inflight WHERE indicator_value = ${value}`.execute(t.db)).rows;
  const { first, second } = await t.db.connection().execute(async (conn) => {
    // Another session holds the key's cache row uncommitted: the owner's write waits for it.
    await sql`BEGIN`.execute(conn);
    await sql`INSERT INTO enrichment_cache (provider_name, indicator_type, indicator_value, status, result, expires_at)
      VALUES ('virustotal', 'ip', ${value}, 'success', '{}', now())`.execute(conn);
    const first = await enrich();
    expect(await claims()).toHaveLength(1);
    // Asked again in this process: the in-process flight has ended, the claim is still ours.
    const waiting = new Promise<void>((resolve) => waited.push(resolve));
    const second = enrich();
    await waiting;
    await sql`ROLLBACK`.execute(conn);
    return { first, second: await second };
  });
  expect(first.results[0]).toMatchObject({ status: 'success', cache_hit: false });
  expect(second.results[0]).toMatchObject({ status: 'success', extracted: first.results[0]?.extracted });
  expect(http.calls).toHaveLength(1);
  expect(waits).toBe(1);
  expect(coalescer.executions).toBe(1);
  await coalescer.released();
  expect(await claims()).toHaveLength(0);
});
