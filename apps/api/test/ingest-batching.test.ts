import { createDb } from '@calseta/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WAKE_CHANNEL } from '../../../packages/core/src/infra/jobs/rows.js';
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

  it('stores a payload with a NUL character (as U+FFFD, which Postgres can keep) and its neighbours', async () => {
    const results = await Promise.all([
      h.request('POST', '/v1/ingest/generic', { json: payload(900, { title: 'Bad\u0000title' }) }),
      ...Array.from({ length: 5 }, (_, n) => h.request('POST', '/v1/ingest/generic', { json: payload(901 + n) })),
    ]);
    expect(results.map((r) => r.status)).toEqual(Array(6).fill(202));
    const stored = await h.request('GET', `/v1/alerts/${results[0]?.body.data.alert_uuid}`);
    expect(stored.body.data.title).toBe('Bad\uFFFDtitle');
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
    h = await createHarness();
    // One alert the database refuses: its whole batch fails, and the batcher must then store
    // every other alert of that batch on its own.
    await h.query(
      `CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.title = 'poison' THEN RAISE EXCEPTION 'poison alert'; END IF; RETURN NEW; END $$`,
    );
    await h.query('CREATE TRIGGER refuse_poison BEFORE INSERT ON alerts FOR EACH ROW EXECUTE FUNCTION refuse_poison()');
  });
  afterAll(() => h.close());

  it('stores every other alert and fails only the bad one', async () => {
    const results = await Promise.all([
      ...Array.from({ length: 10 }, (_, n) => h.request('POST', '/v1/ingest/generic', { json: payload(n) })),
      h.request('POST', '/v1/ingest/generic', { json: payload(99, { title: 'poison' }) }),
      ...Array.from({ length: 10 }, (_, n) => h.request('POST', '/v1/ingest/generic', { json: payload(10 + n) })),
    ]);
    const poison = results[10];
    expect(poison?.status).toBe(500);
    const others = results.filter((_, i) => i !== 10);
    expect(others.map((r) => r.status)).toEqual(Array(20).fill(202));
    const [stored] = await h.query<{ alerts: number; jobs: number }>(
      `SELECT (SELECT count(*) FROM alerts)::int AS alerts,
              (SELECT count(*) FROM pgboss.job WHERE name = 'enrich-alert')::int AS jobs`,
    );
    expect(stored).toEqual({ alerts: 20, jobs: 20 });
  });
});

describe('the workers are woken by the statement that stores the alerts', () => {
  it('NOTIFYs their channel from the ingest transaction itself, with nothing announced after the commit', async () => {
    const announced: string[] = [];
    const h = await createHarness({
      wrapQueue: (queue) => {
        // After-commit announcements are recorded, not sent: only the ingest statement can wake.
        queue.announce = (name) => void announced.push(name);
        return queue;
      },
    });
    const listening = createDb({ url: h.databaseUrl, max: 1 });
    const listener = await listening.pool.connect();
    try {
      const woken = new Promise<string | undefined>((resolve) =>
        listener.on('notification', (n: { channel: string; payload?: string }) => {
          if (n.channel === WAKE_CHANNEL) resolve(n.payload);
        }),
      );
      await listener.query(`LISTEN ${WAKE_CHANNEL}`);
      const res = await h.request('POST', '/v1/ingest/generic', { json: payload(990) });
      expect(res.status).toBe(202);
      expect(await woken).toBe('enrich-alert');
      expect(announced).toEqual([]);
    } finally {
      listener.release();
      await listening.db.destroy();
      await h.close();
    }
  });
});
