import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import * as m0025 from './migrations/0025_verdict_refresh_after_lock.js';
import * as m0027 from './migrations/0027_verdict_refresh_no_key_lock.js';
import { createTestDatabase, type TestDatabase } from './testing/index.js';

/**
 * `calseta_refresh_alert_verdicts` (0014, 0025) when it has to wait for an alert another transaction
 * holds: what that transaction committed (a link, a verdict) must be in the alert's columns
 * afterwards. Two real connections; the waiter is seen waiting through pg_stat_activity.
 */
let t: TestDatabase;

beforeAll(async () => {
  t = await createTestDatabase();
});
afterAll(() => t?.drop());

async function newAlert(): Promise<number> {
  const row = await t.db
    .insertInto('alerts')
    .values({ title: 'verdict refresh', source_name: 'generic', occurred_at: new Date() })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

let values = 0;
async function newIndicator(malice: string): Promise<number> {
  const row = await t.db
    .insertInto('indicators')
    .values({ type: 'ip', value: `192.0.2.${++values}`, malice })
    .returning('id')
    .executeTakeFirstOrThrow();
  return Number(row.id);
}

async function link(alertId: number, indicatorId: number): Promise<void> {
  await t.db
    .insertInto('alert_indicators')
    .values({ alert_id: alertId, indicator_id: indicatorId, source_field: 'src_ip' })
    .execute();
}

/** The alert's stored verdict columns and a fresh computation from its links, as 0014 ranks them. */
async function columns(alertId: number) {
  const { rows } = await sql<{ stored: [number, number]; fresh: [number, number] }>`
    SELECT ARRAY[a.indicators_malice_rank, a.indicator_count] AS stored,
      ARRAY[(SELECT COALESCE(max(CASE i.malice WHEN 'Malicious' THEN 5 WHEN 'Suspicious' THEN 4 WHEN 'Benign' THEN 3
                WHEN 'Context' THEN 2 WHEN 'Unknown' THEN 1 WHEN 'Pending' THEN 0 END), 0)
             FROM alert_indicators ai JOIN indicators i ON i.id = ai.indicator_id WHERE ai.alert_id = a.id),
            (SELECT count(*) FROM alert_indicators ai WHERE ai.alert_id = a.id)]::int[] AS fresh
    FROM alerts a WHERE a.id = ${alertId}`.execute(t.db);
  return rows[0];
}

/**
 * `holder` runs `change` in a transaction it keeps open; `waiter` then runs `refresh` (its last
 * statement, after the others in one transaction), which waits for the alert `holder` holds;
 * `holder` commits, then `refresh` ends.
 */
async function race(change: string[], refresh: string[]): Promise<void> {
  const holder = await t.session();
  const waiter = await t.session();
  const waiting = await t.lockWaiter(waiter);
  await holder.query('BEGIN');
  for (const statement of change) await holder.query(statement);
  await waiter.query('BEGIN');
  for (const statement of refresh.slice(0, -1)) await waiter.query(statement);
  const refreshed = waiter.query(refresh.at(-1) as string);
  await waiting();
  await holder.query('COMMIT');
  await refreshed;
  await waiter.query('COMMIT');
}

describe('a refresh that waited for another transaction holding the alert', () => {
  test("an indicator's verdict changed (trigger) sees the link the other transaction added", async () => {
    const alert = await newAlert();
    const benign = await newIndicator('Benign');
    const malicious = await newIndicator('Malicious');
    await link(alert, benign);
    expect(await columns(alert)).toEqual({ stored: [3, 1], fresh: [3, 1] });
    // The other transaction links a Malicious indicator (its trigger holds the alert); ours turns
    // the Benign one Suspicious and its trigger waits for the alert.
    await race(
      [`INSERT INTO alert_indicators (alert_id, indicator_id, source_field) VALUES (${alert}, ${malicious}, 'src_ip')`],
      [`UPDATE indicators SET malice = 'Suspicious' WHERE id = ${benign}`],
    );
    expect(await columns(alert)).toEqual({ stored: [5, 2], fresh: [5, 2] });
  });

  test("an indicator's verdict changed (trigger) sees another indicator's verdict changed meanwhile", async () => {
    const alert = await newAlert();
    const first = await newIndicator('Benign');
    const second = await newIndicator('Benign');
    await link(alert, first);
    await link(alert, second);
    await race(
      [`UPDATE indicators SET malice = 'Malicious' WHERE id = ${first}`],
      [`UPDATE indicators SET malice = 'Suspicious' WHERE id = ${second}`],
    );
    expect(await columns(alert)).toEqual({ stored: [5, 2], fresh: [5, 2] });
  });

  test('a link removed (trigger) sees the verdict another transaction changed', async () => {
    // (A link added waits first on the alert's key-share lock, for its foreign key: its trigger
    // starts after the other transaction ended. A removal has no such check.)
    const alert = await newAlert();
    const kept = await newIndicator('Benign');
    const removed = await newIndicator('Unknown');
    await link(alert, kept);
    await link(alert, removed);
    await race(
      [`UPDATE indicators SET malice = 'Malicious' WHERE id = ${kept}`],
      [`DELETE FROM alert_indicators WHERE alert_id = ${alert} AND indicator_id = ${removed}`],
    );
    expect(await columns(alert)).toEqual({ stored: [5, 1], fresh: [5, 1] });
  });

  test('called directly, as the pipeline refreshes alerts outside its batch, it sees the link added', async () => {
    const alert = await newAlert();
    const changed = await newIndicator('Benign');
    const malicious = await newIndicator('Malicious');
    await link(alert, changed);
    // The other transaction holds the alert (an analyst's update), then links a Malicious indicator.
    // Ours defers the triggers, turns the linked indicator Suspicious, then refreshes the alert.
    await race(
      [
        `SELECT id FROM alerts WHERE id = ${alert} FOR UPDATE`,
        `INSERT INTO alert_indicators (alert_id, indicator_id, source_field) VALUES (${alert}, ${malicious}, 'src_ip')`,
      ],
      [
        "SELECT set_config('calseta.alert_verdicts', 'deferred', true)",
        `UPDATE indicators SET malice = 'Suspicious' WHERE id = ${changed}`,
        `SELECT calseta_refresh_alert_verdicts(ARRAY[${alert}]::bigint[])`,
      ],
    );
    expect(await columns(alert)).toEqual({ stored: [5, 2], fresh: [5, 2] });
  });
});

describe("a transaction that defers the alerts' verdicts (0023)", () => {
  test("still skips the triggers, which refresh the alert at the next writer's change", async () => {
    const alert = await newAlert();
    const malicious = await newIndicator('Malicious');
    const other = await newIndicator('Benign');
    await link(alert, other);
    await t.db.transaction().execute(async (trx) => {
      await sql`SELECT set_config('calseta.alert_verdicts', 'deferred', true)`.execute(trx);
      await trx
        .insertInto('alert_indicators')
        .values({ alert_id: alert, indicator_id: malicious, source_field: 'src_ip' })
        .execute();
      await trx.updateTable('indicators').set({ malice: 'Suspicious' }).where('id', '=', other).execute();
    });
    expect(await columns(alert)).toEqual({ stored: [3, 1], fresh: [5, 2] });
    await t.db.updateTable('indicators').set({ malice: 'Unknown' }).where('id', '=', other).execute();
    expect(await columns(alert)).toEqual({ stored: [5, 2], fresh: [5, 2] });
  });
});

describe('migration 0025', () => {
  test('recomputes the alerts the old refresh left stale, and goes down to the old body and back', async () => {
    const stale = await newAlert();
    const right = await newAlert();
    const malicious = await newIndicator('Malicious');
    await link(right, malicious);
    await t.db.transaction().execute(async (trx) => {
      await sql`SELECT set_config('calseta.alert_verdicts', 'deferred', true)`.execute(trx);
      await trx
        .insertInto('alert_indicators')
        .values({ alert_id: stale, indicator_id: malicious, source_field: 'src_ip' })
        .execute();
    });
    expect(await columns(stale)).toEqual({ stored: [0, 0], fresh: [5, 1] });
    const language = async () =>
      (
        await sql<{ lanname: string }>`
          SELECT l.lanname FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
          WHERE p.proname = 'calseta_refresh_alert_verdicts'`.execute(t.db)
      ).rows.map((r) => r.lanname);
    await m0025.down(t.db);
    expect(await language()).toEqual(['sql']);
    await m0025.up(t.db);
    expect(await language()).toEqual(['plpgsql']);
    expect(await columns(stale)).toEqual({ stored: [5, 1], fresh: [5, 1] });
    expect(await columns(right)).toEqual({ stored: [5, 1], fresh: [5, 1] });
  });
});

describe('migration 0027', () => {
  test('a refresh holds its alert for no key update: a link being inserted to it (key share) does not wait', async () => {
    const alert = await newAlert();
    const refresher = await t.session();
    const linker = await t.session();
    /** Whether a link's key-share lock on the alert is free while a refresh holds it. */
    const keyShareFree = async () => {
      await refresher.query('BEGIN');
      await refresher.query(`SELECT calseta_refresh_alert_verdicts(ARRAY[${alert}]::bigint[])`);
      try {
        await linker.query(`SELECT 1 FROM alerts WHERE id = ${alert} FOR KEY SHARE NOWAIT`);
        return true;
      } catch {
        return false;
      } finally {
        await refresher.query('ROLLBACK');
      }
    };
    await m0027.up(t.db); // the 0025 test above left 0025's body
    expect(await keyShareFree()).toBe(true);
    await m0027.down(t.db);
    expect(await keyShareFree()).toBe(false);
    await m0027.up(t.db);
    expect(await keyShareFree()).toBe(true);
  });
});
