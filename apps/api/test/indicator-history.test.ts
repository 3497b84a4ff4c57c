import { contextFor, relatedAlerts, SYSTEM } from '@calseta/core';
import { createDb } from '@calseta/db';
import { type CapturedStatement, capturingDb } from '@calseta/db/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commitAlert } from '../../../packages/core/src/pipeline/commit-alert.js';
import { fixture } from './fixtures.js';
import { createHarness, type Harness } from './harness.js';
import { pipelineItem } from './pipeline-items.js';

/**
 * An indicator's history (migration 0024) as the payload reads it, after the writers that change it
 * — the pipeline's commit (two processes at once), the API adding indicators and deleting an alert —
 * against a full recount; and a storm (20,000 alerts carrying one value) in which the payload's
 * history and related alerts read a bounded number of rows (EXPLAIN ANALYZE, custom and generic plans).
 */
let h: Harness;
beforeAll(async () => {
  h = await createHarness({ allowHosts: ['127.0.0.1:9'] });
  // Every alert has a delivery: the commit builds the payload's indicators (payloadIndicators).
  const agent = await h.request('POST', '/v1/agents', {
    json: { name: 'every-alert', endpoint_url: 'http://127.0.0.1:9/hook' },
  });
  expect(agent.status, JSON.stringify(agent.body)).toBe(201);
});
afterAll(() => h.close());

async function ingest(name: string, source: string): Promise<{ id: number; uuid: string }> {
  const res = await h.request('POST', `/v1/ingest/${source}`, { json: fixture(name) });
  expect(res.status).toBe(202);
  const [row] = await h.query<{ id: number }>('SELECT id FROM alerts WHERE uuid = $1', [res.body.data.alert_uuid]);
  return { id: Number(row?.id), uuid: res.body.data.alert_uuid };
}

const itemFor = (ctx: ReturnType<typeof contextFor>, alertId: number, value: string) =>
  pipelineItem(ctx, alertId, value);

/** The value's history recounted from every link, as the payload showed it before 0024. */
async function recount(value: string) {
  const [row] = await h.query<{ n: number; first: Date | null; last: Date | null }>(
    `SELECT count(*)::int AS n, min(a.occurred_at) AS first, max(a.occurred_at) AS last
     FROM indicators i JOIN alert_indicators l ON l.indicator_id = i.id JOIN alerts a ON a.id = l.alert_id
     WHERE i.type = 'ip' AND i.value = $1`,
    [value],
  );
  return { alert_count: row?.n, first_seen: row?.first?.toISOString(), last_seen: row?.last?.toISOString() };
}

/** Indicators whose kept history differs from a full recount (none: exact). */
async function drift(): Promise<unknown[]> {
  return h.query(
    `SELECT coalesce(h.indicator_id, c.id) AS id FROM indicator_history h
     FULL JOIN (
       SELECT l.indicator_id AS id, count(*)::int AS n, min(a.occurred_at) AS first, max(a.occurred_at) AS last
       FROM alert_indicators l JOIN alerts a ON a.id = l.alert_id GROUP BY l.indicator_id
     ) c ON c.id = h.indicator_id
     WHERE (h.alert_count, h.first_seen, h.last_seen) IS DISTINCT FROM (c.n, c.first, c.last)`,
  );
}

/** The history of `value` in an alert's payload (GET context). */
async function contextHistory(uuid: string, value: string) {
  const payload = (await h.request('GET', `/v1/alerts/${uuid}/context?token_budget=20000`)).body.data;
  const indicator = payload.indicators.find((i: { value: string }) => String(i.value).includes(value));
  return { alert_count: indicator?.alert_count, first_seen: indicator?.first_seen, last_seen: indicator?.last_seen };
}

const second = (iso: string | undefined) => iso?.replace(/\.\d{3}Z$/, 'Z');

describe('the pipeline commit', () => {
  it('two processes linking one value at once: each payload counts what its transaction sees, the kept history every alert', async () => {
    const value = '203.0.113.90';
    const alerts = [
      await ingest('01_sentinel_brute_force_tor.json', 'sentinel'),
      await ingest('02_elastic_malware_hash.json', 'elastic'),
      await ingest('03_splunk_anomalous_data_transfer.json', 'splunk'),
    ];
    const other = createDb({ url: h.databaseUrl, max: 3 });
    const ctxA = contextFor(h.deps, SYSTEM);
    const ctxB = { ...ctxA, db: other.db };
    try {
      const [a, b] = await Promise.all([
        commitAlert(ctxA, await itemFor(ctxA, alerts[0]?.id as number, value)),
        commitAlert(ctxB, await itemFor(ctxB, alerts[1]?.id as number, value)),
      ]);
      const counts = [a, b].map((c) => c.indicators.find((i) => i.value === value)?.alert_count).sort();
      // Whichever committed first saw only its own link, the other both (never a lost count).
      expect(counts).toEqual([1, 2]);
      expect(await drift()).toEqual([]);
      const c = await commitAlert(ctxA, await itemFor(ctxA, alerts[2]?.id as number, value));
      const shown = c.indicators.find((i) => i.value === value);
      expect({ alert_count: shown?.alert_count, first_seen: shown?.first_seen, last_seen: shown?.last_seen }).toEqual(
        await recount(value),
      );
      expect(await drift()).toEqual([]);
    } finally {
      await other.db.destroy();
    }
  });
});

describe('the API', () => {
  it('adding an indicator and deleting an alert keep the history a payload shows exact', async () => {
    const value = '198.51.100.250';
    const [first, last] = [
      await ingest('04_sentinel_impossible_travel.json', 'sentinel'),
      await ingest('05_elastic_suspicious_powershell.json', 'elastic'),
    ];
    // The first alert occurred earliest: deleting it moves first_seen.
    await h.query("UPDATE alerts SET occurred_at = occurred_at - interval '30 days' WHERE id = $1", [first.id]);
    for (const alert of [first, last]) {
      const res = await h.request('POST', `/v1/alerts/${alert.uuid}/indicators?enrich=false`, {
        json: { indicators: [{ type: 'ip', value }] },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    }
    const before = await recount(value);
    expect(before.alert_count).toBe(2);
    expect(await contextHistory(last.uuid, value)).toMatchObject({
      alert_count: 2,
      first_seen: second(before.first_seen),
      last_seen: second(before.last_seen),
    });
    expect((await h.request('DELETE', `/v1/alerts/${first.uuid}`)).status).toBe(204);
    const after = await recount(value);
    expect(after.first_seen).not.toBe(before.first_seen);
    expect(await contextHistory(last.uuid, value)).toMatchObject({
      alert_count: 1,
      first_seen: second(after.first_seen),
    });
    expect(await drift()).toEqual([]);
  });
});

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  Plans?: PlanNode[];
}

function nodes(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodes)];
}

/** Rows each scan of alerts/alert_indicators produced (all loops), per plan mode. */
type Statement = CapturedStatement;

/** A checked-out connection (one session: PREPARE, SET and the transaction stay on it). */
type Client = { query(text: string, values?: unknown[]): Promise<{ rows: any[] }> };

async function rowsRead(client: Client, statement: Statement) {
  const read: Record<string, { seqScans: string[]; rows: number }> = {};
  try {
    await client.query(`PREPARE storm_probe AS ${statement.text}`);
    for (const mode of ['force_custom_plan', 'force_generic_plan']) {
      await client.query(`SET plan_cache_mode = ${mode}`);
      const params = statement.values.map((v) => (typeof v === 'string' ? `'${v.replace(/'/g, "''")}'` : String(v)));
      const { rows } = await client.query(
        `EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE storm_probe${params.length ? `(${params.join(', ')})` : ''}`,
      );
      const all = nodes(rows[0]['QUERY PLAN'][0].Plan as PlanNode);
      const onTables = all.filter((n) => n['Relation Name'] === 'alerts' || n['Relation Name'] === 'alert_indicators');
      read[mode] = {
        seqScans: onTables
          .filter((n) => n['Node Type'] === 'Seq Scan' && n['Actual Loops'] > 0)
          .map((n) => n['Relation Name'] as string),
        rows: onTables.reduce((sum, n) => sum + n['Actual Rows'] * n['Actual Loops'], 0),
      };
    }
  } finally {
    await client.query('DEALLOCATE ALL');
    await client.query('RESET plan_cache_mode');
  }
  return read;
}

describe('a storm: 20,000 alerts carrying one value', () => {
  it("the payload's history and related alerts read a bounded number of rows, whatever the storm's size", async () => {
    const storm = 20_000;
    const [hot] = await h.query<{ id: number }>(
      "INSERT INTO indicators (type, value) VALUES ('ip', '192.0.2.200') RETURNING id",
    );
    const [rare] = await h.query<{ id: number }>(
      "INSERT INTO indicators (type, value) VALUES ('ip', '192.0.2.201') RETURNING id",
    );
    await h.query(
      `INSERT INTO alerts (title, source_name, occurred_at, created_at)
       SELECT 'storm ' || g, 'generic', t, t FROM generate_series(1, $1) g,
         LATERAL (SELECT timestamptz '2026-01-01' + g * interval '1 second' AS t) x`,
      [storm],
    );
    await h.query(
      `INSERT INTO alert_indicators (alert_id, indicator_id, source_field)
       SELECT id, $1, 'src_ip' FROM alerts WHERE title LIKE 'storm %'`,
      [hot?.id],
    );
    // An old storm alert also carries a rarer value with the newest one: it shares two, and ranks first.
    const [oldest] = await h.query<{ id: number; uuid: string }>("SELECT id, uuid FROM alerts WHERE title = 'storm 1'");
    const [newest] = await h.query<{ id: number; uuid: string }>(
      `SELECT id, uuid FROM alerts WHERE title = 'storm ${storm}'`,
    );
    await h.query(
      "INSERT INTO alert_indicators (alert_id, indicator_id, source_field) VALUES ($1, $3, 'dst_ip'), ($2, $3, 'dst_ip')",
      [oldest?.id, newest?.id, rare?.id],
    );
    await h.query('ANALYZE alerts');
    await h.query('ANALYZE alert_indicators');
    expect(await drift()).toEqual([]);

    // What the payload runs, captured from its own pool.
    const capture = capturingDb(h.databaseUrl);
    const { statements } = capture;
    try {
      const ctx = { ...contextFor(h.deps, SYSTEM), db: capture.db };
      const payload = (await h.request('GET', `/v1/alerts/${newest?.uuid}/context?token_budget=20000`)).body.data;
      const hotShown = payload.indicators.find((i: { value: string }) => String(i.value).includes('192.0.2.200'));
      expect(hotShown.alert_count).toBe(storm);
      expect(hotShown.first_seen).toBe('2026-01-01T00:00:01Z');

      const related = await relatedAlerts(ctx.db, newest?.id as number, 10);
      // Most shared first (the oldest alert shares both values), then the newest earlier ones.
      expect(related.map((r) => r.title)).toEqual([
        'storm 1',
        ...Array.from({ length: 9 }, (_, i) => `storm ${storm - 1 - i}`),
      ]);
      expect(related[0]?.shared_indicators).toEqual(['ip:192.0.2.200', 'ip:192.0.2.201']);

      const { loadPayloadSources } = await import('../../../packages/core/src/payload/build.js');
      statements.length = 0;
      await loadPayloadSources(ctx, newest?.id as number);
      const history = statements.find((s) => s.text.includes('history'));
      const relatedQuery = statements.find((s) => s.text.includes('theirs'));
      expect(history).toBeDefined();
      expect(relatedQuery).toBeDefined();
      // Both statements, both plan modes (the worker plans generically): no table scan, a few hundred rows.
      const reads: Record<string, unknown> = {};
      const client = await capture.pool.connect();
      try {
        const record = async (name: string, statement: Statement) => {
          for (const [mode, r] of Object.entries(await rowsRead(client, statement))) {
            reads[`${name} ${mode}`] = { seqScans: r.seqScans, rows: r.rows < 1_000 ? 'bounded' : r.rows };
          }
        };
        await record('history', history as Statement);
        await record('related', relatedQuery as Statement);
        // The pipeline's read, in its commit's transaction: its new link to the value noted, not applied yet.
        await client.query('BEGIN');
        await client.query(
          `WITH a AS (INSERT INTO alerts (title, source_name, occurred_at) VALUES ('storm late', 'generic', now()) RETURNING id)
           INSERT INTO alert_indicators (alert_id, indicator_id) SELECT id, $1 FROM a`,
          [hot?.id],
        );
        const pipelineRead = {
          text: 'SELECT alert_count FROM calseta_indicator_history($1::bigint[])',
          values: [`{${hot?.id}}`],
        };
        expect((await client.query(pipelineRead.text, pipelineRead.values)).rows).toEqual([{ alert_count: storm + 1 }]);
        await record('pipeline', pipelineRead);
        await client.query('ROLLBACK');
      } finally {
        client.release();
      }
      expect(reads).toEqual({
        'history force_custom_plan': { seqScans: [], rows: 'bounded' },
        'history force_generic_plan': { seqScans: [], rows: 'bounded' },
        'related force_custom_plan': { seqScans: [], rows: 'bounded' },
        'related force_generic_plan': { seqScans: [], rows: 'bounded' },
        'pipeline force_custom_plan': { seqScans: [], rows: 'bounded' },
        'pipeline force_generic_plan': { seqScans: [], rows: 'bounded' },
      });
    } finally {
      await capture.db.destroy();
    }
  });
});
