import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createTestDatabase, type TestDatabase } from './testing/index.js';

/**
 * `indicator_history` (migrations 0024, 0026) against a full recount of the links, after every kind of
 * write; two real connections where transactions meet on one indicator (waits observed through
 * pg_stat_activity, never timed).
 */
let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t?.drop());

async function newAlert(occurredAt: string): Promise<number> {
  const row = await t.db
    .insertInto('alerts')
    .values({ title: 'history', source_name: 'generic', occurred_at: occurredAt })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

let values = 0;
async function newIndicator(): Promise<number> {
  const row = await t.db
    .insertInto('indicators')
    .values({ type: 'ip', value: `198.51.100.${++values}` })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

const linkSql = (pairs: Array<[number, number]>) =>
  `INSERT INTO alert_indicators (alert_id, indicator_id, source_field) VALUES ${pairs
    .map(([a, i]) => `(${a}, ${i}, 'src_ip')`)
    .join(', ')}`;

async function link(...pairs: Array<[number, number]>): Promise<void> {
  await sql.raw(linkSql(pairs)).execute(t.db);
}

/** Rows where the maintained history and a full recount of the links disagree (none: exact). */
async function drift() {
  const { rows } = await sql<{ id: number; kept: string | null; counted: string | null }>`
    SELECT coalesce(h.indicator_id, c.id) AS id,
           CASE WHEN h.indicator_id IS NOT NULL THEN concat_ws(' ', h.alert_count, h.first_seen, h.last_seen) END AS kept,
           CASE WHEN c.id IS NOT NULL THEN concat_ws(' ', c.n, c.first, c.last) END AS counted
    FROM indicator_history h
    FULL JOIN (
      SELECT l.indicator_id AS id, count(*)::integer AS n, min(a.occurred_at) AS first, max(a.occurred_at) AS last
      FROM alert_indicators l JOIN alerts a ON a.id = l.alert_id GROUP BY l.indicator_id
    ) c ON c.id = h.indicator_id
    WHERE (h.alert_count, h.first_seen, h.last_seen) IS DISTINCT FROM (c.n, c.first, c.last)`.execute(t.db);
  return rows;
}

async function history(id: number) {
  const { rows } = await sql<{ n: number; first: Date; last: Date }>`
    SELECT alert_count AS n, first_seen AS first, last_seen AS last FROM indicator_history WHERE indicator_id = ${id}`.execute(
    t.db,
  );
  return rows[0] === undefined
    ? undefined
    : { n: rows[0].n, first: rows[0].first.toISOString(), last: rows[0].last.toISOString() };
}

describe('links added', () => {
  test('count the alerts and widen the times, in one statement or several', async () => {
    const [a, b, c] = [
      await newAlert('2026-03-01T10:00:00.123456Z'),
      await newAlert('2026-01-15T08:30:00Z'),
      await newAlert('2026-05-20T23:59:59.999999Z'),
    ];
    const [x, y] = [await newIndicator(), await newIndicator()];
    await link([a as number, x], [b as number, x], [a as number, y]);
    expect(await history(x)).toEqual({ n: 2, first: '2026-01-15T08:30:00.000Z', last: '2026-03-01T10:00:00.123Z' });
    await link([c as number, x]);
    // A link that exists already (ON CONFLICT DO NOTHING) counts nothing.
    await sql.raw(`${linkSql([[c as number, x]])} ON CONFLICT DO NOTHING`).execute(t.db);
    expect(await history(x)).toMatchObject({ n: 3, last: '2026-05-20T23:59:59.999Z' });
    expect(await history(y)).toMatchObject({ n: 1 });
    expect(await drift()).toEqual([]);
  });

  test('are in the history read inside the transaction, and in the table once it commits', async () => {
    const [a, b, c] = [
      await newAlert('2026-02-01T00:00:00Z'),
      await newAlert('2026-02-02T00:00:00Z'),
      await newAlert('2026-01-31T00:00:00Z'),
    ];
    const [x, y] = [await newIndicator(), await newIndicator()];
    await link([a, x]);
    const client = await t.session();
    await client.query('BEGIN');
    await client.query(linkSql([[b, x]]));
    // A second statement: its note merges with the first's.
    await client.query(
      linkSql([
        [c, x],
        [c, y],
      ]),
    );
    const read = await client.query(
      'SELECT indicator_id::int, alert_count, first_seen, last_seen FROM calseta_indicator_history($1::bigint[]) ORDER BY 1',
      [[x, y]],
    );
    expect(read.rows).toEqual([
      {
        indicator_id: x,
        alert_count: 3,
        first_seen: new Date('2026-01-31T00:00:00Z'),
        last_seen: new Date('2026-02-02T00:00:00Z'),
      },
      {
        indicator_id: y,
        alert_count: 1,
        first_seen: new Date('2026-01-31T00:00:00Z'),
        last_seen: new Date('2026-01-31T00:00:00Z'),
      },
    ]);
    // Not applied before the commit: nothing of the hot row is held meanwhile.
    expect((await client.query('SELECT alert_count FROM indicator_history WHERE indicator_id = $1', [x])).rows).toEqual(
      [{ alert_count: 1 }],
    );
    await client.query('COMMIT');
    expect(await history(x)).toMatchObject({ n: 3 });
    expect(await drift()).toEqual([]);
  });

  test('rolled back: nothing applied, nothing carried into the next transaction', async () => {
    const a = await newAlert('2026-02-03T00:00:00Z');
    const x = await newIndicator();
    const client = await t.session();
    await client.query('BEGIN');
    await client.query(linkSql([[a, x]]));
    await client.query('ROLLBACK');
    await client.query('BEGIN');
    const read = await client.query('SELECT * FROM calseta_indicator_history(ARRAY[$1]::bigint[])', [x]);
    await client.query('COMMIT');
    expect(read.rows).toEqual([]);
    expect(await history(x)).toBeUndefined();
    expect(await drift()).toEqual([]);
  });
});

describe('links removed', () => {
  test('a link deleted, an alert deleted (cascade), an indicator deleted, the last link gone', async () => {
    const [early, middle, late] = [
      await newAlert('2025-01-01T00:00:00Z'),
      await newAlert('2025-06-01T00:00:00Z'),
      await newAlert('2025-12-31T00:00:00Z'),
    ];
    const [x, y, z] = [await newIndicator(), await newIndicator(), await newIndicator()];
    await link([early, x], [middle, x], [late, x], [early, y], [late, z]);

    await t.db.deleteFrom('alert_indicators').where('alert_id', '=', late).where('indicator_id', '=', x).execute();
    expect(await history(x)).toEqual({ n: 2, first: '2025-01-01T00:00:00.000Z', last: '2025-06-01T00:00:00.000Z' });
    // The earliest alert deleted: its links go by cascade, the bound moves.
    await t.db.deleteFrom('alerts').where('id', '=', early).execute();
    expect(await history(x)).toEqual({ n: 1, first: '2025-06-01T00:00:00.000Z', last: '2025-06-01T00:00:00.000Z' });
    expect(await history(y)).toBeUndefined();
    await t.db.deleteFrom('indicators').where('id', '=', z).execute();
    expect(await history(z)).toBeUndefined();
    expect(await drift()).toEqual([]);
  });

  test('a link moved to another indicator, an alert that moved in time', async () => {
    const [a, b] = [await newAlert('2024-03-01T00:00:00Z'), await newAlert('2024-04-01T00:00:00Z')];
    const [x, y] = [await newIndicator(), await newIndicator()];
    await link([a, x], [b, y]);
    await sql`UPDATE alert_indicators SET indicator_id = ${y} WHERE alert_id = ${a} AND indicator_id = ${x}`.execute(
      t.db,
    );
    expect(await history(x)).toBeUndefined();
    expect(await history(y)).toMatchObject({ n: 2, first: '2024-03-01T00:00:00.000Z' });
    await t.db.updateTable('alerts').set({ occurred_at: '2024-05-01T00:00:00Z' }).where('id', '=', a).execute();
    expect(await history(y)).toEqual({ n: 2, first: '2024-04-01T00:00:00.000Z', last: '2024-05-01T00:00:00.000Z' });
    expect(await drift()).toEqual([]);
  });
});

describe('two transactions on one indicator', () => {
  test('neither waits for the other until commit; both counted exactly', async () => {
    const [a, b] = [await newAlert('2026-04-01T00:00:00Z'), await newAlert('2026-04-02T00:00:00Z')];
    const hot = await newIndicator();
    const [first, second] = [await t.session(), await t.session()];
    await first.query('BEGIN');
    await first.query(linkSql([[a, hot]]));
    await second.query('BEGIN');
    await second.query(linkSql([[b, hot]]));
    // The second commits while the first is still open: the hot row is not held before a commit.
    await second.query('COMMIT');
    await first.query('COMMIT');
    expect(await history(hot)).toMatchObject({ n: 2 });
    expect(await drift()).toEqual([]);
  });

  test('committing at once while a third holds one of their rows: both wait in id order, no deadlock, exact counts', async () => {
    const alerts = [
      await newAlert('2026-04-03T00:00:00Z'),
      await newAlert('2026-04-04T00:00:00Z'),
      await newAlert('2026-04-05T00:00:00Z'),
    ];
    const [x, y] = [await newIndicator(), await newIndicator()];
    await link([alerts[2] as number, y]);
    const [first, second, holder] = [await t.session(), await t.session(), await t.session()];
    await first.query('BEGIN');
    await first.query(linkSql([[alerts[0] as number, y]]));
    await first.query(linkSql([[alerts[0] as number, x]]));
    await second.query('BEGIN');
    await second.query(linkSql([[alerts[1] as number, x]]));
    await second.query(linkSql([[alerts[1] as number, y]]));
    // y held by a third transaction: the first commit takes x, then waits on y; the second waits on x.
    await holder.query('BEGIN');
    await holder.query('SELECT 1 FROM indicator_history WHERE indicator_id = $1 FOR UPDATE', [y]);
    const firstWaits = await t.lockWaiter(first);
    const secondWaits = await t.lockWaiter(second);
    const commits = Promise.allSettled([first.query('COMMIT'), second.query('COMMIT')]);
    await firstWaits();
    await secondWaits();
    await holder.query('COMMIT');
    expect((await commits).map((c) => c.status)).toEqual(['fulfilled', 'fulfilled']);
    expect(await history(x)).toMatchObject({ n: 2 });
    expect(await history(y)).toMatchObject({ n: 3 });
    expect(await drift()).toEqual([]);
  });

  test('a recount that waited for a commit counts the link that commit added', async () => {
    const [a, b, c] = [
      await newAlert('2026-04-06T00:00:00Z'),
      await newAlert('2026-04-07T00:00:00Z'),
      await newAlert('2026-04-08T00:00:00Z'),
    ];
    const hot = await newIndicator();
    await link([a, hot], [b, hot]);
    const [adder, remover] = [await t.session(), await t.session()];
    // The adder holds the row (as its commit would) and links a third alert.
    await adder.query('BEGIN');
    await adder.query('SELECT 1 FROM indicator_history WHERE indicator_id = $1 FOR UPDATE', [hot]);
    await adder.query(linkSql([[c, hot]]));
    // The remover unlinks one alert; its commit waits for the row.
    await remover.query('BEGIN');
    await remover.query('DELETE FROM alert_indicators WHERE alert_id = $1 AND indicator_id = $2', [a, hot]);
    const waits = await t.lockWaiter(remover);
    const removed = remover.query('COMMIT');
    await waits();
    await adder.query('COMMIT');
    await removed;
    expect(await history(hot)).toEqual({ n: 2, first: '2026-04-07T00:00:00.000Z', last: '2026-04-08T00:00:00.000Z' });
    expect(await drift()).toEqual([]);
  });
});

describe('migrations 0024 and 0026', () => {
  test('0024 backfills the history of links made before it; 0026 down and up again keeps it exact', async () => {
    const [a, b] = [await newAlert('2023-01-01T00:00:00Z'), await newAlert('2023-02-01T00:00:00Z')];
    const x = await newIndicator();
    await link([a, x], [b, x]);
    const { migrations } = await import('./migrations/index.js');
    type Step = { up(db: unknown): Promise<void>; down(db: unknown): Promise<void> };
    const [m0024, m0026] = [migrations['0024_indicator_history'], migrations['0026_indicator_history_note_append']] as [
      Step,
      Step,
    ];
    await t.db.transaction().execute(async (trx) => {
      await m0026.down(trx);
      await m0024.down(trx);
      await sql`INSERT INTO alert_indicators (alert_id, indicator_id) SELECT ${a}, id FROM indicators WHERE id <> ${x} LIMIT 1`.execute(
        trx,
      );
      await m0024.up(trx);
      await m0026.up(trx);
    });
    expect(await history(x)).toEqual({ n: 2, first: '2023-01-01T00:00:00.000Z', last: '2023-02-01T00:00:00.000Z' });
    // 0026's triggers are back: a link added and a time changed are kept.
    const c = await newAlert('2022-12-01T00:00:00Z');
    await link([c, x]);
    await t.db.updateTable('alerts').set({ occurred_at: '2023-03-01T00:00:00Z' }).where('id', '=', a).execute();
    expect(await history(x)).toEqual({ n: 3, first: '2022-12-01T00:00:00.000Z', last: '2023-03-01T00:00:00.000Z' });
    expect(await drift()).toEqual([]);
  });
});

describe('links truncated', () => {
  test('the history goes with them', async () => {
    const a = await newAlert('2023-03-01T00:00:00Z');
    const x = await newIndicator();
    await link([a, x]);
    await sql`TRUNCATE alert_indicators`.execute(t.db);
    expect(await history(x)).toBeUndefined();
    expect(await drift()).toEqual([]);
  });
});
