/**
 * A new alert's detection rule committed by another writer while the alert's ingest statement runs
 * (another API process ingesting the same new rule): the statement's snapshot cannot see that rule.
 * The alert must still commit linked to it, with its job: linked by a later statement, a worker could
 * take the job in between and build the agents' payload, context and correlation without the rule.
 */
import { createDb, poolOf } from '@calseta/db';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

it('an alert whose new rule another writer commits meanwhile is stored linked, with its job', async () => {
  const rule = 'race-rule';
  // Another writer (another API process) inserts the same new rule and has not committed yet.
  let release = () => {};
  const released = new Promise<void>((resolve) => (release = resolve));
  const otherDb = createDb({ url: h.databaseUrl, max: 1 });
  const other = await otherDb.pool.connect();
  try {
    const [{ pid }] = (await other.query('SELECT pg_backend_pid() AS pid')).rows as [{ pid: number }];
    await other.query('BEGIN');
    await other.query(
      `INSERT INTO detection_rules (uuid, name, source_name, source_rule_id, created_by)
       VALUES (gen_random_uuid(), $1, 'generic', $1, 'system')`,
      [rule],
    );

    // A later statement of the API on detection_rules (a late link) is held until the state the
    // ingest statement committed has been read.
    const pool = poolOf(h.deps.db);
    if (!pool) throw new Error('no pool');
    let armed = false;
    let reached = () => {};
    const atLink = new Promise<void>((resolve) => (reached = resolve));
    const patched = new WeakSet<object>();
    pool.on('acquire', (client) => {
      if (patched.has(client)) return;
      patched.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
      client.query = ((config: unknown, ...rest: unknown[]) => {
        const text = typeof config === 'string' ? config : (config as { text?: string }).text;
        if (armed && text?.includes('detection_rules')) {
          armed = false;
          reached();
          return released.then(() => query(config, ...rest));
        }
        return query(config, ...rest);
      }) as typeof client.query;
    });

    const answer = h.request('POST', '/v1/ingest/generic', {
      json: { title: 'Rule raced', severity: 'High', rule_id: rule, src_ip: '203.0.113.90' },
    });
    // Until the ingest statement waits for the other writer's rule (its unique key).
    for (;;) {
      const [row] = await h.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_stat_activity
         WHERE wait_event_type = 'Lock' AND datname = current_database() AND pid <> $1`,
        [pid],
      );
      if ((row?.n ?? 0) > 0) break;
    }
    armed = true;
    await other.query('COMMIT');
    await Promise.race([atLink, answer]);

    const state = () =>
      h.query<{ linked: boolean; jobs: number }>(
        `SELECT a.detection_rule_id IS NOT NULL AS linked,
                (SELECT count(*)::int FROM pgboss.job j
                  WHERE j.name = 'enrich-alert' AND (j.data->>'alert_id')::bigint = a.id) AS jobs
         FROM alerts a WHERE a.title = 'Rule raced'`,
      );
    expect(await state()).toEqual([{ linked: true, jobs: 1 }]);
    release();
    expect((await answer).status).toBe(202);
    const created = await h.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM activity_events
       WHERE event_type = 'detection_rule_created' AND "references"->>'source_rule_id' = $1`,
      [rule],
    );
    expect(created).toEqual([{ n: 0 }]); // the other writer created it, not this ingest
  } finally {
    release(); // an answer held by a failed assertion would keep the server from closing
    other.release();
    await otherDb.db.destroy();
  }
});
