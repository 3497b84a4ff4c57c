/**
 * `GET /v1/alerts` past 1,000 matches (docs/adr/0007-alert-list-totals.md): `meta.total` becomes the
 * planner's estimate, flagged `total_is_estimate`, except where it is cheap to be exact; sorts break
 * ties by occurred_at; the severity filter matches exactly what it did before the weight index.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
const TOTAL = 1_300;

beforeAll(async () => {
  h = await createHarness();
  // 1,300 alerts in one statement: 900 Escalated, 40 tagged "rare", 3 with severity Pending; every
  // 5th Critical, the rest spread over the other severities. Then ANALYZE, as autovacuum would.
  await h.query(
    `INSERT INTO alerts (title, source_name, occurred_at, severity, status, tags)
     SELECT 'Bulk ' || n, 'generic', timestamptz '2026-01-01T00:00:00Z' + n * interval '1 minute',
            CASE WHEN n <= 3 THEN 'Pending' WHEN n % 5 = 0 THEN 'Critical'
                 ELSE (ARRAY['Informational','Low','Medium','High'])[1 + n % 4] END,
            CASE WHEN n <= 900 THEN 'Escalated' ELSE 'Open' END,
            CASE WHEN n % 10 = 0 AND n <= 400 THEN ARRAY['rare'] ELSE '{}'::text[] END
     FROM generate_series(1, $1::int) n`,
    [TOTAL],
  );
  await h.query('ANALYZE alerts');
});
afterAll(() => h.close());

async function list(query: string) {
  const res = await h.request('GET', `/v1/alerts?${query}`);
  expect(res.status, query).toBe(200);
  return res.body as {
    data: { title: string; severity: string; occurred_at: string }[];
    meta: Record<string, unknown>;
  };
}

describe('GET /v1/alerts: totals past 1,000 matches', () => {
  it('estimates a large total and says so', async () => {
    const { data, meta } = await list('page_size=50');
    expect(data).toHaveLength(50);
    expect(meta.total_is_estimate).toBe(true);
    // After ANALYZE the estimate of an unfiltered list is the row count itself.
    expect(meta.total).toBeGreaterThanOrEqual(1_001);
    expect(Math.abs((meta.total as number) - TOTAL)).toBeLessThanOrEqual(TOTAL * 0.1);
    expect(meta.total_pages).toBe(Math.ceil((meta.total as number) / 50));
  });

  it('is exact on the last page: a short page ends the list', async () => {
    const { data, meta } = await list('page_size=500&page=3');
    expect(data).toHaveLength(300);
    expect(meta).toEqual({ total: TOTAL, page: 3, page_size: 500, total_pages: 3 });
  });

  it('is exact when at most 1,000 alerts match, even when the page is full', async () => {
    expect((await list('status=Escalated&page_size=50')).meta).toEqual({
      total: 900,
      page: 1,
      page_size: 50,
      total_pages: 18,
    });
    expect((await list('tags=rare&page_size=10&page=2')).meta).toEqual({
      total: 40,
      page: 2,
      page_size: 10,
      total_pages: 4,
    });
  });

  it('an empty page past the end keeps an exact small total', async () => {
    const { data, meta } = await list('tags=rare&page_size=50&page=9');
    expect(data).toEqual([]);
    expect(meta).toEqual({ total: 40, page: 9, page_size: 50, total_pages: 1 });
  });
});

describe('GET /v1/alerts: severity filter and sort on the weight index', () => {
  it('filters one severity, several, and unweighted ones exactly', async () => {
    const count = async (severity: string) =>
      Number(
        (
          await h.query<{ n: string }>('SELECT count(*) AS n FROM alerts WHERE severity = ANY($1::text[])', [
            severity.split(','),
          ])
        )[0]?.n,
      );
    for (const severity of ['Critical', 'Pending', 'Critical,Pending', 'High,Low', 'Bogus', 'toString']) {
      const { data, meta } = await list(`severity=${severity}&page_size=500`);
      const expected = await count(severity);
      expect(meta.total, severity).toBe(expected);
      expect(new Set(data.map((a) => a.severity)).size <= severity.split(',').length, severity).toBe(true);
      for (const alert of data) expect(severity.split(',')).toContain(alert.severity);
    }
  });

  it('sorts by weight, ties newest first (desc) or oldest first (asc)', async () => {
    const desc = (await list('sort_by=severity&sort_order=desc&page_size=3')).data;
    expect(desc.map((a) => a.severity)).toEqual(['Critical', 'Critical', 'Critical']);
    expect(desc.map((a) => a.title)).toEqual(['Bulk 1300', 'Bulk 1295', 'Bulk 1290']);
    const asc = (await list('sort_by=severity&sort_order=asc&page_size=4')).data;
    expect(asc.map((a) => a.title)).toEqual(['Bulk 1', 'Bulk 2', 'Bulk 3', expect.stringMatching(/^Bulk /)]);
    expect(asc.slice(0, 3).map((a) => a.severity)).toEqual(['Pending', 'Pending', 'Pending']);
    expect(asc[3]?.severity).toBe('Informational');
  });
});
