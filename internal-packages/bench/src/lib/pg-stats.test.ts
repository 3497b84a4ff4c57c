/**
 * lib/pg-stats.ts against a real embedded Postgres: the counters of a window match a workload whose
 * statements, commits, write transactions and NOTIFYs are known — NOTIFYs checked against what a
 * LISTEN connection actually receives (from SELECT pg_notify(…) FROM a set, a NOTIFY command, and a
 * plpgsql function, i.e. a nested statement).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, type EmbeddedPostgres } from '@calseta/db';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgStats, perItem, startPostgresWithStatements } from './pg-stats.js';

describe('PgStats', () => {
  let dir: string;
  let postgres: EmbeddedPostgres;
  let stats: PgStats;
  let closeStats: () => Promise<void>;
  const handle = () => createDb({ url: postgres.url, max: 1, applicationName: 'pg-stats-test' });
  let db: ReturnType<typeof handle>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'calseta-pg-stats-'));
    const started = await startPostgresWithStatements(dir, true);
    postgres = started.postgres;
    expect(started.statementsUnavailable).toBeNull();
    const opened = await PgStats.open(postgres.adminUrl, 'calseta', true);
    stats = opened.stats;
    closeStats = opened.close;
    db = handle();
    await db.pool.query(`
      CREATE TABLE t (id int PRIMARY KEY);
      CREATE FUNCTION twice(p text) RETURNS void LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('bench_c', p || '-1');
        PERFORM pg_notify('bench_c', p || '-2');
      END $$;`);
  }, 120_000);

  afterAll(async () => {
    await db?.db.destroy();
    await closeStats?.();
    await postgres?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('counts statements, commits, write transactions, WAL and NOTIFYs of a known workload', async () => {
    expect(stats.statements).toBe(true);
    const listener = await db.pool.connect();
    const received: string[] = [];
    listener.on('notification', (m) => received.push(m.payload ?? ''));
    await listener.query('LISTEN bench_c');

    const { pool: load, db: loadDb } = createDb({ url: postgres.url, max: 1, applicationName: 'pg-stats-load' });
    const window = await stats.window();
    // 3 autocommitted writes; one explicit transaction (3 statements, 1 commit, 1 write); 3 NOTIFY sources.
    for (const id of [1, 2, 3]) await load.query('INSERT INTO t (id) VALUES ($1)', [id]);
    await load.query('BEGIN');
    await load.query('INSERT INTO t (id) VALUES (4)');
    await load.query('COMMIT');
    await load.query("SELECT pg_notify('bench_c', 's-' || g) FROM generate_series(1, 4) AS g");
    await load.query("NOTIFY bench_c, 'n-1'");
    await load.query("SELECT twice('f')");
    // One NOTIFY from a WITH member of a statement returning 3 rows; two from the main query after one.
    await load.query(
      "WITH w AS (SELECT pg_notify('bench_c', 'w-1')) SELECT g, (SELECT count(*) FROM w) FROM generate_series(1, 3) g",
    );
    await load.query(
      "WITH g AS (SELECT 'm-' || g AS p FROM generate_series(1, 2) g) SELECT pg_notify('bench_c', p) FROM g",
    );
    // Every NOTIFY reached the listener before the window closes (they are sent at commit).
    while (received.length < 10) await new Promise((r) => listener.once('notification', r));
    const { work, top, cpuByBackend } = await window.stop();
    await loadDb.destroy();
    listener.release();

    expect(received.sort()).toEqual(['f-1', 'f-2', 'm-1', 'm-2', 'n-1', 's-1', 's-2', 's-3', 's-4', 'w-1']);
    expect(work.notifies).toBe(received.length);
    // 3 inserts + BEGIN/INSERT/COMMIT + 5 notifying statements; the function's inner PERFORMs are nested.
    expect(work.statements).toBe(11);
    // Transactions given an id: the 4 that inserted and the 5 that notified (a queued NOTIFY carries its xid).
    expect(work.writeTransactions).toBe(9);
    expect(work.walBytes).toBeGreaterThan(0);
    expect(work.planMs).toBeGreaterThan(0);
    expect(top.some((s) => s.query.startsWith('INSERT INTO t'))).toBe(true);
    expect(perItem(work, 11).statements).toBe(1);
    // Postgres CPU by connection: the load's backend, started inside the window, is there by name.
    expect(cpuByBackend['pg-stats-load']).toBeGreaterThanOrEqual(0);
  }, 60_000);
});
