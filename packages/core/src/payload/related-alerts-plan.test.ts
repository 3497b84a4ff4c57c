import { capturingDb, createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { relatedAlerts } from './build.js';

/**
 * Related alerts of an alert carrying many indicators (an `alerts:write` caller adds up to 100 per
 * call, with no limit per alert): the work is bounded by the candidates' links, not by candidates ×
 * the alert's indicators. Before the fix the shared count was `x.indicator_id = ANY(ARRAY(<the
 * alert's indicators>))` per candidate: 5,000 indicators shared with 100,000 earlier alerts took
 * 176 s of one Postgres backend, 0.9 s after. Checked on the plan of the very statement
 * relatedAlerts ran (deterministic, no timing), at a size that runs fast either way.
 */
let t: TestDatabase;
beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(async () => {
  await t?.drop();
});

it("an alert with many indicators: the related alerts' work grows with the candidates, not with candidates × indicators", {
  timeout: 60_000,
}, async () => {
  const k = 300; // the alert's indicators
  const per = 10; // earlier alerts carrying each of them
  const db = t.db;
  await sql`INSERT INTO indicators (type, value) SELECT 'domain', 'related-' || g || '.example' FROM generate_series(1, ${k}) g`.execute(
    db,
  );
  await sql`INSERT INTO alerts (title, source_name, occurred_at) SELECT 'earlier', 'generic', now() FROM generate_series(1, ${k * per})`.execute(
    db,
  );
  await sql`
    INSERT INTO alert_indicators (alert_id, indicator_id)
    SELECT a.id, i.id
    FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS r FROM alerts WHERE title = 'earlier') a
    JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS r FROM indicators WHERE value LIKE 'related-%') i
      ON i.r = a.r % ${k}`.execute(db);
  const me = (
    await sql<{
      id: number;
    }>`INSERT INTO alerts (title, source_name, occurred_at) VALUES ('me', 'generic', now()) RETURNING id`.execute(db)
  ).rows[0]?.id as number;
  await sql`INSERT INTO alert_indicators (alert_id, indicator_id) SELECT ${me}, id FROM indicators WHERE value LIKE 'related-%'`.execute(
    db,
  );
  await sql`ANALYZE alerts`.execute(db);
  await sql`ANALYZE alert_indicators`.execute(db);

  // The statement relatedAlerts runs, captured from its own pool.
  const capture = capturingDb(t.url);
  const { statements } = capture;
  try {
    const related = await relatedAlerts(capture.db, me, 10);
    expect(related).toHaveLength(10);
    expect(related.every((r) => r.shared_indicators.length === 1)).toBe(true);
    const statement = statements.find((s) => s.text.includes('theirs'));
    expect(statement).toBeDefined();
    const client = await capture.pool.connect();
    const { rows } = await client
      .query(`EXPLAIN (FORMAT JSON) ${statement?.text}`, statement?.values as unknown[])
      .finally(() => client.release());
    // Every index condition on the links, across the plan (subplans included).
    type Node = { 'Relation Name'?: string; 'Index Cond'?: string; Plans?: Node[] };
    const walk = (n: Node): Node[] => [n, ...(n.Plans ?? []).flatMap(walk)];
    const conditions = walk(rows[0]['QUERY PLAN'][0].Plan as Node)
      .filter((n) => n['Relation Name'] === 'alert_indicators' && n['Index Cond'] !== undefined)
      .map((n) => n['Index Cond'] as string);
    expect(conditions.length).toBeGreaterThan(0);
    // No index scan given the alert's whole indicator list (= ANY): Postgres sorts that array on
    // every rescan, once per candidate — O(candidates × indicators × log indicators) CPU while the
    // buffers touched stay small.
    expect(conditions.filter((c) => c.includes('ANY'))).toEqual([]);
  } finally {
    await capture.db.destroy();
  }
});
