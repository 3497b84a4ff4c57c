/**
 * The floor of `pnpm bench pipeline`: the same database doing only the durable writes one alert's life
 * needs — the ingest row with its job, one enrichment commit the size of what the agent is sent, one
 * delivery record — each a single autocommitted statement (the fewest round trips and commits
 * possible), `loops` alerts in flight over a pool of `connections`. What the pipeline could reach if
 * everything but those writes cost nothing.
 */
import { createDb } from '@calseta/db';
import type { Cleanup, Pool } from './stack.js';

export const FLOOR_STATEMENTS = [
  'WITH a AS (INSERT INTO bench_floor_alert (payload) VALUES ($1) RETURNING id) INSERT INTO bench_floor_job (alert_id, data) SELECT id, $2 FROM a RETURNING alert_id',
  "UPDATE bench_floor_alert SET status = 'enriched', results = $2 WHERE id = $1",
  'INSERT INTO bench_floor_delivery (alert_id, status_code, attempt, body_bytes) VALUES ($1, 200, 1, $2)',
] as const;

/** Create the floor's tables (primary keys only: the floor has no other index to maintain). */
export async function createFloorTables(pool: Pool): Promise<void> {
  await pool.query(`
    CREATE TABLE IF NOT EXISTS bench_floor_alert (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, payload jsonb NOT NULL, status text NOT NULL DEFAULT 'pending',
      results jsonb, created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE IF NOT EXISTS bench_floor_job (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, alert_id bigint NOT NULL, data jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now());
    CREATE TABLE IF NOT EXISTS bench_floor_delivery (
      id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, alert_id bigint NOT NULL, status_code int NOT NULL,
      attempt int NOT NULL, body_bytes int NOT NULL, created_at timestamptz NOT NULL DEFAULT now());`);
}

export interface FloorLoad {
  /** Alerts whose three writes committed, and failures by SQLSTATE. */
  done(): number;
  failures: Record<string, number>;
  stop(): Promise<void>;
}

/**
 * Run the floor until `stop()`: `loops` concurrent alert lives over a pool of `connections`.
 * `ingestBody` and `results` are JSON texts of the sizes the pipeline handles (an ingest request, a
 * delivered body).
 */
export function startFloor(
  url: string,
  cleanup: Cleanup,
  options: { loops: number; connections: number; ingestBody: string; results: string },
): FloorLoad {
  const { pool } = createDb({ url, max: options.connections, applicationName: 'calseta-bench-floor' });
  cleanup.pools.push(pool);
  const failures: Record<string, number> = {};
  const resultsBytes = Buffer.byteLength(options.results);
  let completed = 0;
  let stopping = false;
  const life = async () => {
    const { rows } = await pool.query<{ alert_id: string }>(FLOOR_STATEMENTS[0], [
      options.ingestBody,
      '{"q":"enrich"}',
    ]);
    const id = rows[0]?.alert_id;
    await pool.query(FLOOR_STATEMENTS[1], [id, options.results]);
    await pool.query(FLOOR_STATEMENTS[2], [id, resultsBytes]);
  };
  const loops = Array.from({ length: options.loops }, async () => {
    while (!stopping) {
      try {
        await life();
        completed++;
      } catch (error) {
        const code = (error as { code?: string }).code ?? 'error';
        failures[code] = (failures[code] ?? 0) + 1;
      }
    }
  });
  return {
    done: () => completed,
    failures,
    stop: async () => {
      stopping = true;
      await Promise.all(loops);
      await pool.end();
    },
  };
}
