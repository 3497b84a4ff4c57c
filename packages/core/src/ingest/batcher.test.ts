/**
 * The group commit's requeue path against the real database: a duplicate whose owner alert is deleted
 * between the batch statement and the duplicate count (DELETE /v1/alerts/{uuid} racing a SIEM's
 * retry) is ingested again as new. That requeue used to wait for the next batch while its own batch
 * still held the one writer: the batcher stalled, and every later ingest in the process with it.
 */
import { firstParty } from '@calseta/integrations';
import type { KyselyPlugin } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { contextFor, ingestAlert, SYSTEM } from '../index.js';
import { createTestCore, type TestCore } from '../testing/index.js';
import { createIngestBatcher } from './batcher.js';

let core: TestCore;

beforeAll(async () => {
  core = await createTestCore({ integrations: firstParty });
});

afterAll(async () => {
  await core?.close();
});

it('a duplicate whose owner is deleted before its count is stored as new, and ingest goes on', async () => {
  const payload = { title: 'owner', severity: 'High', description: 'orphaned duplicate' };
  const owner = await ingestAlert(contextFor(core.deps, SYSTEM), { sourceName: 'generic', payload });

  // Right after the batch statement answers "duplicate of the owner", the owner is deleted (its
  // fingerprint claim goes with it, ON DELETE CASCADE): the count then finds no owner.
  let armed = true;
  const deleteOwnerAfterClaim: KyselyPlugin = {
    transformQuery: ({ node }) => node,
    async transformResult({ result }) {
      const rows = result.rows as Array<Record<string, unknown>>;
      if (armed && rows.some((row) => 'owner' in row && row.alert_id === null)) {
        armed = false;
        await core.deps.db.deleteFrom('alerts').where('uuid', '=', owner.alert_uuid).execute();
      }
      return result;
    },
  };
  const db = core.deps.db.withPlugin(deleteOwnerAfterClaim);
  const deps = { ...core.deps, db, ingest: createIngestBatcher({ ...core.deps, db }) };
  const ctx = contextFor(deps, SYSTEM);

  const stored = await ingestAlert(ctx, { sourceName: 'generic', payload });
  expect(armed).toBe(false);
  expect(stored).toMatchObject({ status: 'queued', is_duplicate: false });
  expect(stored.alert_uuid).not.toBe(owner.alert_uuid);
  // The batcher still takes alerts.
  const next = await ingestAlert(ctx, { sourceName: 'generic', payload: { ...payload, title: 'after' } });
  expect(next).toMatchObject({ status: 'queued', is_duplicate: false });
}, 15_000);
