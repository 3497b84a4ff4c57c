/**
 * Indicator values and counts come from whoever can post an alert. Before the per-type caps, a 3 KB URL
 * broke the `indicators (type, value)` unique index (a btree entry holds ~2.7 KB): the extraction job
 * failed on every retry and the alert never got its indicators; and an alert listing thousands of
 * indicators stored every one of them. Now: values over the type's byte cap are refused (and reported),
 * at most 500 indicators per alert are stored, the rest counted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
  await h.startWorker();
});
afterAll(() => h.close());

async function ingestAndProcess(payload: Record<string, unknown>) {
  const ingested = await h.request('POST', '/v1/ingest/generic', { json: payload });
  expect(ingested.status).toBe(202);
  const uuid: string = ingested.body.data.alert_uuid;
  const [row] = await h.query<{ id: number }>('SELECT id FROM alerts WHERE uuid = $1', [uuid]);
  const id = Number(row?.id);
  // The job may already be done: wait on the event, or read the stored outcome.
  const outcome = h.nextJob((o) => (o.data as { alert_id?: number }).alert_id === id);
  const extracted = await h.query('SELECT 1 FROM activity_events WHERE alert_id = $1 AND event_type = $2', [
    id,
    'alert_indicators_extracted',
  ]);
  const state = extracted.length > 0 ? 'completed' : (await outcome).state;
  return { uuid, id, state };
}

describe('indicator limits', () => {
  it('an index-breaking 3 KB URL is refused with a reason, and the alert keeps its other indicators', async () => {
    const url = `https://evil.example.com/${'a'.repeat(3_000)}`;
    const { uuid, state } = await ingestAndProcess({ title: 'Long URL', url, src_ip: '203.0.113.9' });
    expect(state).toBe('completed');
    const res = await h.request('GET', `/v1/alerts/${uuid}/indicators`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((i: { type: string; value: string }) => `${i.type} ${i.value}`)).toEqual([
      'ip 203.0.113.9',
    ]);

    const dry = await h.request('POST', '/v1/indicator-mappings/test-extraction', {
      json: { source_name: 'generic', raw_payload: { title: 'Long URL', url } },
    });
    expect(dry.status).toBe(200);
    expect(dry.body.data.refused).toContainEqual(
      expect.objectContaining({ type: 'url', field: 'url', reason: 'too_long' }),
    );
    // Multi-byte characters count as bytes: 1,100 × 'é' is 2,200 bytes.
    const wide = await h.request('POST', '/v1/indicator-mappings/test-extraction', {
      json: {
        source_name: 'generic',
        raw_payload: { title: 'Wide URL', url: `https://x.example/${'é'.repeat(1_100)}` },
      },
    });
    expect(wide.body.data.deduplicated).toEqual([]);
  });

  it('stores at most 500 indicators per alert and counts the rest', async () => {
    const indicators = Array.from({ length: 1_200 }, (_, i) => ({
      type: 'ip',
      value: `10.${Math.floor(i / 250)}.${i % 250}.1`,
    }));
    const { uuid, id, state } = await ingestAndProcess({ title: 'Indicator flood', indicators });
    expect(state).toBe('completed');
    const [links] = await h.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM alert_indicators WHERE alert_id = $1',
      [id],
    );
    expect(links?.n).toBe(500);
    const [event] = await h.query<{ references: { indicators_over_cap: number } }>(
      'SELECT "references" FROM activity_events WHERE alert_id = $1 AND event_type = $2',
      [id, 'alert_indicators_extracted'],
    );
    expect(event?.references.indicators_over_cap).toBe(700);
    expect((await h.request('GET', `/v1/alerts/${uuid}`)).status).toBe(200);
  });

  it('a value no type accepts never reaches the index: test-extraction answers, never 500', async () => {
    const res = await h.request('POST', '/v1/indicator-mappings/test-extraction', {
      json: {
        source_name: 'generic',
        raw_payload: {
          title: 'Junk',
          indicators: [
            { type: 'hash_md5', value: 'f'.repeat(100_000) },
            { type: 'domain', value: `${'a.'.repeat(5_000)}com` },
            { type: 'account', value: 'x'.repeat(10_000) },
          ],
        },
      },
    });
    expect(res.status).toBe(200);
    expect(res.body.data.deduplicated).toEqual([]);
    expect(res.body.data.refused.map((r: { reason: string }) => r.reason).sort()).toEqual([
      'hash_not_hex',
      'too_long',
      'too_long',
    ]);
    for (const r of res.body.data.refused) expect(r.value.length).toBeLessThanOrEqual(257);
  });
});
