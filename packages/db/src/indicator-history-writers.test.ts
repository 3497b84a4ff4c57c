import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from './testing/index.js';

/**
 * Migration 0024 (indicator_history) under writers indicator-history.test.ts does not try: savepoints,
 * bulk cascades, constraints made immediate. Every check compares the kept history with a full
 * recount of the links. Known and left open (docs/performance.md): the note's merge is quadratic in
 * the statements (or, for `occurred_at` changes, the alert rows) of one transaction — no app path
 * writes that way (the pipeline, ingest and adding indicators each link in one statement).
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

/** Of `ids`, indicators whose kept history and a full recount of their links disagree. */
async function drift(ids: number[]): Promise<unknown[]> {
  const { rows } = await sql<{ id: number }>`
    SELECT coalesce(h.indicator_id, c.id) AS id
    FROM indicator_history h
    FULL JOIN (
      SELECT l.indicator_id AS id, count(*)::integer AS n, min(a.occurred_at) AS first, max(a.occurred_at) AS last
      FROM alert_indicators l JOIN alerts a ON a.id = l.alert_id GROUP BY l.indicator_id
    ) c ON c.id = h.indicator_id
    WHERE (h.alert_count, h.first_seen, h.last_seen) IS DISTINCT FROM (c.n, c.first, c.last)
      AND coalesce(h.indicator_id, c.id) = ANY(${ids}::bigint[])`.execute(t.db);
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

describe('constraints made immediate', () => {
  // With the apply trigger immediate, it fires at the end of each statement, before the statement's
  // note (AFTER ROW events run before AFTER STATEMENT ones): the note is left unapplied at commit.
  it.fails('SET CONSTRAINTS ALL IMMEDIATE: links still counted', async () => {
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
});
