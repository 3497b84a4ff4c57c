import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

describe('indicator mapping changes', () => {
  it('reach another process as soon as they commit', async () => {
    const second = h.otherProcess();
    const other = second.core;
    const { db } = other;
    try {
      const before = await other.mappingRules.forSource(db, 'generic');
      expect(before.some((r) => r.field_path === 'attacker.address')).toBe(false);
      // Registered after the cache's own handler, so it runs once the cache has been invalidated.
      const notified = new Promise<void>((resolve) => {
        void other.notifications.listen('calseta_mappings', () => resolve());
      });
      await other.notifications.listen('calseta_mappings', () => {});
      const created = await h.request('POST', '/v1/indicator-mappings', {
        json: { source_name: 'generic', field_path: 'attacker.address', indicator_type: 'ip' },
      });
      expect(created.status).toBe(201);
      await notified;
      const after = await other.mappingRules.forSource(db, 'generic');
      expect(after.some((r) => r.field_path === 'attacker.address')).toBe(true);
    } finally {
      await second.close();
    }
  });

  it('refuses an exact duplicate of an existing mapping with 409', async () => {
    const body = { source_name: 'generic', field_path: 'victim.address', indicator_type: 'ip' };
    expect((await h.request('POST', '/v1/indicator-mappings', { json: body })).status).toBe(201);
    const again = await h.request('POST', '/v1/indicator-mappings', { json: body });
    expect(again.status).toBe(409);
    expect(again.body.error).toMatchObject({ code: 'CONFLICT', details: { existing_uuid: expect.any(String) } });
    expect(
      (await h.request('POST', '/v1/indicator-mappings', { json: { ...body, indicator_type: 'domain' } })).status,
    ).toBe(201);
  });
});
