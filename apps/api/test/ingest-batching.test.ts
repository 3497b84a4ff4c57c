import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

const payload = (n: number, extra: Record<string, unknown> = {}) => ({
  title: `Batch alert ${n}`,
  severity: 'medium',
  src_ip: `203.0.113.${n % 250}`,
  ...extra,
});

async function transactionsOf(h: Harness, prefix: string): Promise<number> {
  const [row] = await h.query<{ n: number }>(
    'SELECT count(DISTINCT xmin::text)::int AS n FROM alerts WHERE title LIKE $1',
    [`${prefix}%`],
  );
  return row?.n ?? 0;
}

describe('ingest group commit', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await createHarness();
  });
  afterAll(() => h.close());

  it('commits alerts that arrive together in shared transactions, each answered after its commit', async () => {
    const results = await Promise.all(
      Array.from({ length: 40 }, (_, n) => h.request('POST', '/v1/ingest/generic', { json: payload(n) })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(40).fill(202));
    const uuids = results.map((r) => r.body.data.alert_uuid);
    const stored = await h.deps.db.selectFrom('alerts').select('uuid').where('uuid', 'in', uuids).execute();
    expect(stored).toHaveLength(40);
    const [jobs] = await h.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pgboss.job j JOIN alerts a ON (j.data->>'alert_id')::bigint = a.id
       WHERE a.uuid = ANY($1::uuid[])`,
      [uuids],
    );
    expect(jobs?.n).toBe(40);
    // Rows written by one transaction share xmin: fewer transactions than alerts means batching.
    expect(await transactionsOf(h, 'Batch alert')).toBeLessThan(40);
  });

  it('refuses a payload with a NUL character clearly, and stores its neighbours', async () => {
    const results = await Promise.all([
      h.request('POST', '/v1/ingest/generic', { json: payload(900, { title: 'Bad\u0000title' }) }),
      ...Array.from({ length: 5 }, (_, n) => h.request('POST', '/v1/ingest/generic', { json: payload(901 + n) })),
    ]);
    expect(results[0]?.status).toBe(422);
    expect(results[0]?.body.error).toMatchObject({ code: 'INVALID_PAYLOAD', message: expect.stringContaining('NUL') });
    expect(results.slice(1).map((r) => r.status)).toEqual(Array(5).fill(202));
  });

  it('stores very long and repeated tags without failing (the raw payload keeps the originals)', async () => {
    const tags = ['x'.repeat(5000), 'dup', 'dup', ...Array.from({ length: 300 }, (_, i) => `t${i}`)];
    const res = await h.request('POST', '/v1/ingest/generic', { json: payload(950, { tags }) });
    expect(res.status).toBe(202);
    const { body } = await h.request('GET', `/v1/alerts/${res.body.data.alert_uuid}`);
    expect(body.data.tags).toHaveLength(100);
    expect(body.data.tags[0]).toHaveLength(200);
    expect(body.data.tags.filter((t: string) => t === 'dup')).toHaveLength(1);
    expect(body.data.raw_payload.tags).toEqual(tags);
  });
});

describe('ingest group commit when a batch fails', () => {
  let h: Harness;
  beforeAll(async () => {
    // A queue that refuses to enqueue more than one job at a time makes every multi-alert batch
    // fail after its alerts were inserted: the batcher must roll back and store them one by one.
    h = await createHarness({
      wrapQueue: (queue) =>
        Object.assign(Object.create(queue), {
          sendMany: async (...args: Parameters<typeof queue.sendMany>) => {
            if (args[1].length > 1) throw new Error('batch refused');
            await queue.sendMany(...args);
          },
        }),
    });
  });
  afterAll(() => h.close());

  it('falls back to one transaction per alert and loses none', async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, n) => h.request('POST', '/v1/ingest/generic', { json: payload(n) })),
    );
    expect(results.map((r) => r.status)).toEqual(Array(20).fill(202));
    const count = await h.deps.db
      .selectFrom('alerts')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .executeTakeFirstOrThrow();
    expect(Number(count.n)).toBe(20);
    expect(await transactionsOf(h, 'Batch alert')).toBe(20);
  });
});
