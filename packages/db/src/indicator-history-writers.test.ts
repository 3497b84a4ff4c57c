import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './testing/index.js';

/**
 * Migrations 0024 and 0026 (indicator_history) under writers indicator-history.test.ts does not try:
 * savepoints, bulk cascades, constraints made immediate, transactions of many statements, one
 * statement changing the time of many alerts. Every check compares the kept history with a full
 * recount of the links (timings belong in benchmarks: docs/performance.md has 0026's).
 */
let t: TestDatabase;
let client: pg.Client;
beforeAll(async () => {
  t = await createTestDatabase();
  client = new pg.Client({ connectionString: t.url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await t?.drop();
});

let values = 0;
/** `n` alerts and `n` indicators, alert k linked to indicator k when `link`. */
async function pairs(n: number, link = true): Promise<{ alerts: number[]; indicators: number[] }> {
  const alerts = (
    await client.query(
      `INSERT INTO alerts (title, source_name, occurred_at) SELECT 'review', 'generic', now() FROM generate_series(1, $1) RETURNING id`,
      [n],
    )
  ).rows.map((r) => Number(r.id));
  const first = values;
  values += n;
  const indicators = (
    await client.query(
      `INSERT INTO indicators (type, value) SELECT 'domain', 'review-' || g || '.example' FROM generate_series($1::int, $2::int) g RETURNING id`,
      [first + 1, first + n],
    )
  ).rows.map((r) => Number(r.id));
  alerts.sort((a, b) => a - b);
  indicators.sort((a, b) => a - b);
  if (link) {
    await client.query(
      'INSERT INTO alert_indicators (alert_id, indicator_id) SELECT * FROM unnest($1::bigint[], $2::bigint[])',
      [alerts, indicators],
    );
  }
  return { alerts, indicators };
}

/** Of `ids`, indicators whose kept history and a full recount of their links disagree, as `client` sees them. */
async function drift(ids: number[]): Promise<unknown[]> {
  const { rows } = await client.query(
    `SELECT coalesce(h.indicator_id, c.id) AS id
     FROM indicator_history h
     FULL JOIN (
       SELECT l.indicator_id AS id, count(*)::integer AS n, min(a.occurred_at) AS first, max(a.occurred_at) AS last
       FROM alert_indicators l JOIN alerts a ON a.id = l.alert_id GROUP BY l.indicator_id
     ) c ON c.id = h.indicator_id
     WHERE (h.alert_count, h.first_seen, h.last_seen) IS DISTINCT FROM (c.n, c.first, c.last)
       AND coalesce(h.indicator_id, c.id) = ANY($1::bigint[])`,
    [ids],
  );
  return rows;
}

describe('sound', () => {
  it('a link rolled back to a savepoint is not counted; one released is', async () => {
    const { alerts, indicators } = await pairs(3, false);
    const [a, b, c] = alerts as [number, number, number];
    const x = indicators[0] as number;
    const link = (alert: number) =>
      client.query('INSERT INTO alert_indicators (alert_id, indicator_id) VALUES ($1, $2)', [alert, x]);
    await client.query('BEGIN');
    await link(a);
    await client.query('SAVEPOINT s');
    await link(b);
    await client.query('ROLLBACK TO SAVEPOINT s');
    await client.query('SAVEPOINT r');
    await link(c);
    await client.query('RELEASE SAVEPOINT r');
    await client.query('COMMIT');
    expect((await client.query('SELECT alert_count FROM indicator_history WHERE indicator_id = $1', [x])).rows).toEqual(
      [{ alert_count: 2 }],
    );
    expect(await drift([x])).toEqual([]);
  });

  it('an alert deleted in bulk (cascade) recounts in one firing', async () => {
    const { alerts, indicators } = await pairs(300);
    await client.query('DELETE FROM alerts WHERE id = ANY($1::bigint[])', [alerts]);
    expect(await drift(indicators)).toEqual([]);
  });
});

/** Links alert k to indicator k, one statement each, in the open transaction (one round trip). */
async function linkEach(alerts: number[], indicators: number[]): Promise<void> {
  await client.query(
    alerts
      .map((a, k) => `INSERT INTO alert_indicators (alert_id, indicator_id) VALUES (${a}, ${indicators[k]});`)
      .join('\n'),
  );
}

/** The history of `ids` as the open transaction reads it, as a map of id to alert count. */
async function readCounts(ids: number[]): Promise<Map<number, number>> {
  const { rows } = await client.query('SELECT indicator_id, alert_count FROM calseta_indicator_history($1::bigint[])', [
    ids,
  ]);
  return new Map(rows.map((r) => [Number(r.indicator_id), r.alert_count]));
}

/** The stored row of indicator `id` (what is applied, not what is noted). */
async function kept(id: number): Promise<unknown[]> {
  return (await client.query('SELECT alert_count FROM indicator_history WHERE indicator_id = $1', [id])).rows;
}

describe('constraints made immediate', () => {
  // The apply trigger, immediate, fires at the end of each statement before the statement's note is
  // written (AFTER ROW events run before AFTER STATEMENT ones): the note applies itself once written.
  it('SET CONSTRAINTS ALL IMMEDIATE: links still counted', async () => {
    const { alerts, indicators } = await pairs(1, false);
    await client.query('BEGIN');
    await client.query('SET CONSTRAINTS ALL IMMEDIATE');
    await client.query('INSERT INTO alert_indicators (alert_id, indicator_id) VALUES ($1, $2)', [
      alerts[0],
      indicators[0],
    ]);
    await client.query('COMMIT');
    expect(await drift(indicators)).toEqual([]);
  });

  it('immediate, then deferred again: each statement counted once, the deferred ones at commit', async () => {
    const { alerts, indicators } = await pairs(4, false);
    const [a, b, c, d] = alerts as [number, number, number, number];
    const [x, y] = indicators as [number, number];
    await client.query('BEGIN');
    await client.query('INSERT INTO alert_indicators (alert_id, indicator_id) VALUES ($1, $2)', [a, x]);
    // Runs the pending deferred event: the first statement is applied now.
    await client.query('SET CONSTRAINTS ALL IMMEDIATE');
    await client.query('INSERT INTO alert_indicators (alert_id, indicator_id) VALUES ($1, $2), ($3, $2)', [b, x, c]);
    expect(await kept(x)).toEqual([{ alert_count: 3 }]);
    await client.query(`UPDATE alerts SET occurred_at = occurred_at - interval '1 day' WHERE id = $1`, [b]);
    // Recounted already (this transaction's view: its links, the history applied).
    expect(await drift([x])).toEqual([]);
    await client.query('SET CONSTRAINTS ALL DEFERRED');
    await client.query('INSERT INTO alert_indicators (alert_id, indicator_id) VALUES ($1, $2), ($1, $3)', [d, x, y]);
    // Deferred again: applied at commit, read meanwhile through the note.
    expect(await kept(x)).toEqual([{ alert_count: 3 }]);
    expect(await readCounts([x, y])).toEqual(
      new Map([
        [x, 4],
        [y, 1],
      ]),
    );
    await client.query('COMMIT');
    expect(await kept(x)).toEqual([{ alert_count: 4 }]);
    expect(await drift(indicators)).toEqual([]);
  });

  it('a savepoint rolled back after immediate applies: what it applied is undone, what it noted before is applied at commit', async () => {
    const { alerts, indicators } = await pairs(3, false);
    const [a, b, c] = alerts as [number, number, number];
    const x = indicators[0] as number;
    const link = (alert: number) =>
      client.query('INSERT INTO alert_indicators (alert_id, indicator_id) VALUES ($1, $2)', [alert, x]);
    await client.query('BEGIN');
    await link(a);
    await client.query('SAVEPOINT s');
    // Applies the first link (the pending event) and the second, both inside the savepoint.
    await client.query('SET CONSTRAINTS ALL IMMEDIATE');
    await link(b);
    expect(await kept(x)).toEqual([{ alert_count: 2 }]);
    await client.query('ROLLBACK TO SAVEPOINT s');
    // Deferred again (the savepoint's SET CONSTRAINTS undone), the first link's note back.
    await link(c);
    expect(await kept(x)).toEqual([]);
    await client.query('COMMIT');
    expect(await kept(x)).toEqual([{ alert_count: 2 }]);
    expect(await drift([x])).toEqual([]);
  });
});

describe('many changes in one transaction', () => {
  it('2,000 single-link statements: read inside the transaction, applied at commit', async () => {
    const { alerts, indicators } = await pairs(2000, false);
    await client.query('BEGIN');
    await linkEach(alerts, indicators);
    // The note is long enough to be kept in several chunks: the read sees all of them.
    const counts = await readCounts(indicators);
    expect([counts.size, new Set(counts.values())]).toEqual([2000, new Set([1])]);
    await client.query('COMMIT');
    expect(await drift(indicators)).toEqual([]);
  });

  it('one UPDATE of occurred_at over 2,000 linked alerts', async () => {
    const { alerts, indicators } = await pairs(2000);
    await client.query(
      `UPDATE alerts SET occurred_at = occurred_at - (id % 7) * interval '1 hour' WHERE id = ANY($1::bigint[])`,
      [alerts],
    );
    expect(await drift(indicators)).toEqual([]);
  });

  it('the time changed in a statement of many, then other updates of the same alerts', async () => {
    const { alerts, indicators } = await pairs(50);
    await client.query('BEGIN');
    await client.query(`UPDATE alerts SET occurred_at = occurred_at + interval '1 day' WHERE id = $1`, [alerts[0]]);
    // Later statements, one through a column list that does not name occurred_at, one that does.
    await client.query(`UPDATE alerts SET title = 'moved' WHERE id = ANY($1::bigint[])`, [alerts]);
    await client.query(
      `UPDATE alerts SET occurred_at = occurred_at - interval '1 day', title = 'moved again' WHERE id = ANY($1::bigint[])`,
      [alerts.slice(10)],
    );
    await client.query('COMMIT');
    expect(await drift(indicators)).toEqual([]);
  });

  it('links truncated after a long note: the history goes, the links after it are counted', async () => {
    const { alerts, indicators } = await pairs(601);
    const last = alerts.length - 1;
    await client.query('BEGIN');
    // Time changes noted in two statements (a note of several chunks), pending on alerts only:
    // alert_indicators may still be truncated in this transaction.
    for (const some of [alerts.slice(0, 300), alerts.slice(300, last)]) {
      await client.query(
        `UPDATE alerts SET occurred_at = occurred_at - interval '1 hour' WHERE id = ANY($1::bigint[])`,
        [some],
      );
    }
    await client.query('TRUNCATE alert_indicators');
    await client.query('INSERT INTO alert_indicators (alert_id, indicator_id) VALUES ($1, $2)', [
      alerts[last],
      indicators[0],
    ]);
    await client.query('COMMIT');
    expect((await client.query('SELECT indicator_id, alert_count FROM indicator_history')).rows).toEqual([
      { indicator_id: String(indicators[0]), alert_count: 1 },
    ]);
    expect(await drift(indicators)).toEqual([]);
  });
});
