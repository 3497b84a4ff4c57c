/**
 * What Postgres did during a benchmark phase, from its own counters: statements (pg_stat_statements),
 * commits, write transactions, WAL, NOTIFYs, bytes written, fsyncs. All cluster-level views read
 * through a connection to the `postgres` maintenance database, so the bench's own reads are never
 * counted against the measured database.
 *
 * pg_stat_statements needs `shared_preload_libraries`, which @calseta/db's embedded startup does not
 * set: `startPostgresWithStatements` sets it with ALTER SYSTEM and restarts the cluster once (before
 * anything else connects). Without the library (not shipped with the binaries), statements, planning
 * time and NOTIFYs are null and the rest still works.
 *
 * Sources, per figure:
 * - statements: pg_stat_statements `calls` of top-level statements of the measured database
 *   (track = all, so statements inside functions and triggers are separate, `toplevel = false`
 *   entries): every statement a client sent, BEGIN and COMMIT included; ≈ round trips.
 * - plan/exec ms: pg_stat_statements total_plan_time / total_exec_time of those (track_planning on).
 * - NOTIFYs: Postgres has no NOTIFY counter. Counted from pg_stat_statements at every nesting level:
 *   for a statement whose main query is `SELECT pg_notify(…) [FROM …]` (after its `WITH` members, if
 *   any), the rows it returned (one per call); for a NOTIFY command, or a statement calling
 *   pg_notify() once from a `WITH` member (ingest's, the pipeline commit's), its calls. Issued, not delivered: each one wakes every listener of its channel.
 * - sessions: pg_stat_database sessions (connections opened to the measured database: each costs
 *   Postgres a backend, SCRAM and re-preparing every statement; a pool that closes idle connections
 *   pays it again and again).
 * - commits / rollbacks: pg_stat_database xact_commit / xact_rollback of the measured database (every
 *   transaction, read-only ones included). Write transactions: transaction ids assigned in the whole
 *   cluster (xmax of the current snapshot), i.e. transactions that wrote something or sent a NOTIFY
 *   (a queued notification carries its sender's transaction id).
 * - WAL bytes: pg_current_wal_lsn() difference (exact, immediate); WAL records and full-page images:
 *   pg_stat_wal.
 * - bytes written: pg_stat_io write_bytes (+ extend_bytes) — WAL written by any process, and data
 *   files (tables, indexes) written by backends, bgwriter and checkpointer. Most data-file writes
 *   happen at checkpoints, so over a short window "data written" depends on whether one ran; WAL is
 *   the figure that follows the load. fsyncs: pg_stat_io fsyncs (WAL and data files).
 * pg_stat_database, pg_stat_wal and pg_stat_io are flushed by each backend at most once a second (and
 * within 10 s when it goes idle): over windows of 10 s or more the lag at both ends roughly cancels.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createDb, type EmbeddedPostgres, startEmbeddedPostgres } from '@calseta/db';
import { processCpuSeconds } from './proc.js';
import { one, type Pool } from './stack.js';

/** Postgres work in a window; per-item figures divide these by the items (alerts) of the window. */
export interface PgWork {
  /** Top-level statements (null without pg_stat_statements). */
  statements: number | null;
  planMs: number | null;
  execMs: number | null;
  notifies: number | null;
  commits: number;
  rollbacks: number;
  /** Connections opened (pg_stat_database.sessions, Postgres ≥ 14). */
  sessions: number;
  writeTransactions: number;
  walBytes: number;
  walRecords: number | null;
  walFullPageImages: number | null;
  /** pg_stat_io: WAL written (bytes) by every process. */
  walWrittenBytes: number | null;
  /** pg_stat_io: data files (relations) written or extended, bytes. */
  dataWrittenBytes: number | null;
  fsyncs: number | null;
}

/** The statements that cost most in the window (pg_stat_statements, top level). */
export interface TopStatement {
  query: string;
  calls: number;
  ms: number;
  rows: number;
  walBytes: number;
}

interface Snapshot {
  lsn: string;
  xid: number;
  commits: number;
  rollbacks: number;
  sessions: number;
  wal: Record<string, unknown> | null;
  io: Record<string, unknown>[] | null;
}

/**
 * Start the embedded cluster of `dataDir` with pg_stat_statements loaded (one restart: the library must
 * be preloaded). Returns the running cluster and, when the library is not available, why.
 */
export async function startPostgresWithStatements(
  dataDir: string,
  enable: boolean,
): Promise<{ postgres: EmbeddedPostgres; statementsUnavailable: string | null }> {
  const first = await startEmbeddedPostgres({ dataDir });
  if (!enable) return { postgres: first, statementsUnavailable: 'disabled (--no-pgss)' };
  const { pool, db } = createDb({ url: first.adminUrl, max: 1, applicationName: 'calseta-bench-stats' });
  let missing: string | null = null;
  try {
    const { dir } = await one<{ dir: string }>(pool, "SELECT setting AS dir FROM pg_config WHERE name = 'PKGLIBDIR'");
    if (!fs.existsSync(path.join(dir, 'pg_stat_statements.so'))) missing = `no pg_stat_statements.so in ${dir}`;
    else {
      await pool.query("ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'");
      await pool.query("ALTER SYSTEM SET pg_stat_statements.track = 'all'");
      await pool.query("ALTER SYSTEM SET pg_stat_statements.track_planning = 'on'");
      await pool.query("ALTER SYSTEM SET pg_stat_statements.max = '10000'");
    }
  } finally {
    await db.destroy();
  }
  if (missing) return { postgres: first, statementsUnavailable: missing };
  await first.stop();
  const postgres = await startEmbeddedPostgres({ dataDir, port: first.port });
  return { postgres, statementsUnavailable: null };
}

/** Reads the counters of one database of the cluster; `window()` measures one phase. */
export class PgStats {
  private constructor(
    private readonly pool: Pool,
    private readonly dbid: number,
    readonly statements: boolean,
  ) {}

  /** `adminUrl`: the maintenance database; `database`: the one the application uses. */
  static async open(
    adminUrl: string,
    database: string,
    withStatements: boolean,
  ): Promise<{ stats: PgStats; close: () => Promise<void> }> {
    const { pool, db } = createDb({ url: adminUrl, max: 1, applicationName: 'calseta-bench-stats' });
    let statements = false;
    if (withStatements) {
      try {
        await pool.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
        statements = true;
      } catch {
        statements = false;
      }
    }
    const { oid } = await one<{ oid: number }>(pool, 'SELECT oid::int AS oid FROM pg_database WHERE datname = $1', [
      database,
    ]);
    return { stats: new PgStats(pool, oid, statements), close: () => db.destroy() };
  }

  /** Start a window: snapshot the cumulative counters (and reset pg_stat_statements). */
  async window(): Promise<{
    stop: () => Promise<{ work: PgWork; top: TopStatement[]; cpuByBackend: Record<string, number> }>;
  }> {
    if (this.statements) await this.pool.query('SELECT pg_stat_statements_reset()');
    const before = await this.snapshot();
    const cpuBefore = await this.backendCpu();
    return {
      stop: async () => {
        const cpuAfter = await this.backendCpu();
        const after = await this.snapshot();
        const statements = this.statements ? await this.statementTotals() : null;
        const top = this.statements ? await this.topStatements(12) : [];
        return { work: diff(before, after, statements), top, cpuByBackend: cpuDelta(cpuBefore, cpuAfter) };
      },
    };
  }

  /**
   * CPU seconds so far of every Postgres process, with its group: the connection's application_name
   * (calseta-api, calseta-worker, calseta-listen, …), else its backend type (walwriter, checkpointer,
   * autovacuum worker, …). From /proc; empty off Linux.
   */
  private async backendCpu(): Promise<Map<number, { who: string; cpu: number }>> {
    const { rows } = await this.pool.query<{ pid: number; who: string }>(
      `SELECT pid, coalesce(nullif(application_name, ''), backend_type) AS who FROM pg_stat_activity
        WHERE pid <> pg_backend_pid()`,
    );
    const cpu = new Map<number, { who: string; cpu: number }>();
    for (const { pid, who } of rows) {
      const seconds = processCpuSeconds(pid);
      if (seconds !== null) cpu.set(pid, { who, cpu: seconds });
    }
    return cpu;
  }

  private async snapshot(): Promise<Snapshot> {
    const row = await one<{ lsn: string; xid: string; commits: string; rollbacks: string; sessions: string }>(
      this.pool,
      `SELECT pg_current_wal_lsn()::text AS lsn, pg_snapshot_xmax(pg_current_snapshot())::text AS xid,
              xact_commit::text AS commits, xact_rollback::text AS rollbacks, sessions::text AS sessions
         FROM pg_stat_database WHERE datid = $1`,
      [this.dbid],
    );
    // Views whose columns differ between Postgres versions: read whole rows, pick fields in diff().
    const optional = async (text: string) => {
      try {
        return (await this.pool.query<{ j: Record<string, unknown> }>(text)).rows.map((r) => r.j);
      } catch {
        return null;
      }
    };
    const wal = await optional('SELECT to_jsonb(w) AS j FROM pg_stat_wal w');
    const io = await optional('SELECT to_jsonb(s) AS j FROM pg_stat_io s');
    return {
      lsn: row.lsn,
      xid: Number(row.xid),
      commits: Number(row.commits),
      rollbacks: Number(row.rollbacks),
      sessions: Number(row.sessions),
      wal: wal?.[0] ?? null,
      io,
    };
  }

  private async statementTotals() {
    return one<{ statements: number; plan_ms: number; exec_ms: number; notifies: number }>(
      this.pool,
      `SELECT coalesce(sum(calls) FILTER (WHERE toplevel), 0)::float8 AS statements,
              coalesce(sum(total_plan_time) FILTER (WHERE toplevel), 0)::float8 AS plan_ms,
              coalesce(sum(total_exec_time) FILTER (WHERE toplevel), 0)::float8 AS exec_ms,
              coalesce(sum(CASE WHEN query ~* '(^|\\))\\s*select\\s+pg_notify\\s*\\(' THEN rows ELSE calls END)
                         FILTER (WHERE query ~* '^\\s*notify\\M' OR query ~* 'pg_notify\\s*\\('), 0)::float8 AS notifies
         FROM pg_stat_statements WHERE dbid = $1`,
      [this.dbid],
    );
  }

  private async topStatements(limit: number): Promise<TopStatement[]> {
    const { rows } = await this.pool.query<{ query: string; calls: string; ms: number; rows: string; wal: string }>(
      `SELECT regexp_replace(query, '\\s+', ' ', 'g') AS query, calls::text AS calls,
              (total_plan_time + total_exec_time)::float8 AS ms, rows::text AS rows, wal_bytes::text AS wal
         FROM pg_stat_statements WHERE dbid = $1 AND toplevel
        ORDER BY total_plan_time + total_exec_time DESC LIMIT $2`,
      [this.dbid, limit],
    );
    return rows.map((r) => ({
      query: r.query,
      calls: Number(r.calls),
      ms: r.ms,
      rows: Number(r.rows),
      walBytes: Number(r.wal),
    }));
  }
}

/**
 * CPU seconds per group between two readings. A process that started in between counts whole; one
 * that exited is missing (its time went to the postmaster's reaped children): the caller compares the
 * sum with the whole cluster's.
 */
function cpuDelta(
  before: Map<number, { who: string; cpu: number }>,
  after: Map<number, { who: string; cpu: number }>,
): Record<string, number> {
  const groups: Record<string, number> = {};
  for (const [pid, { who, cpu }] of after) groups[who] = (groups[who] ?? 0) + cpu - (before.get(pid)?.cpu ?? 0);
  return groups;
}

/** Bytes of `op` ('write' | 'extend') in a pg_stat_io row: `<op>_bytes` (PG 18) or ops × op_bytes (16–17). */
function ioBytes(row: Record<string, unknown>, op: 'write' | 'extend'): number {
  const bytes = row[`${op}_bytes`];
  if (bytes !== undefined) return Number(bytes ?? 0);
  return Number(row[`${op}s`] ?? 0) * Number(row.op_bytes ?? 0);
}

function ioTotals(rows: Record<string, unknown>[] | null) {
  if (!rows) return null;
  let wal = 0;
  let data = 0;
  let fsyncs = 0;
  for (const row of rows) {
    fsyncs += Number(row.fsyncs ?? 0);
    if (row.object === 'wal') wal += ioBytes(row, 'write');
    else if (row.object === 'relation') data += ioBytes(row, 'write') + ioBytes(row, 'extend');
  }
  // Before PG 18, pg_stat_io has no WAL rows: WAL written is unknown there (the LSN difference is not).
  const hasWal = rows.some((r) => r.object === 'wal');
  return { wal: hasWal ? wal : null, data, fsyncs };
}

/** Bytes between two WAL positions ('X/Y', both hex). */
function lsnBytes(from: string, to: string): number {
  const value = (lsn: string) => {
    const [hi = '0', lo = '0'] = lsn.split('/');
    return Number.parseInt(hi, 16) * 2 ** 32 + Number.parseInt(lo, 16);
  };
  return value(to) - value(from);
}

function diff(
  a: Snapshot,
  b: Snapshot,
  statements: { statements: number; plan_ms: number; exec_ms: number; notifies: number } | null,
): PgWork {
  const walField = (name: string) =>
    a.wal && b.wal && b.wal[name] !== undefined ? Number(b.wal[name]) - Number(a.wal[name]) : null;
  const ioA = ioTotals(a.io);
  const ioB = ioTotals(b.io);
  const delta = (x: number | null | undefined, y: number | null | undefined) =>
    x === null || x === undefined || y === null || y === undefined ? null : y - x;
  return {
    statements: statements?.statements ?? null,
    planMs: statements?.plan_ms ?? null,
    execMs: statements?.exec_ms ?? null,
    notifies: statements?.notifies ?? null,
    commits: b.commits - a.commits,
    rollbacks: b.rollbacks - a.rollbacks,
    sessions: b.sessions - a.sessions,
    writeTransactions: b.xid - a.xid,
    walBytes: lsnBytes(a.lsn, b.lsn),
    walRecords: walField('wal_records'),
    walFullPageImages: walField('wal_fpi'),
    walWrittenBytes: delta(ioA?.wal, ioB?.wal),
    dataWrittenBytes: delta(ioA?.data, ioB?.data),
    fsyncs: delta(ioA?.fsyncs, ioB?.fsyncs),
  };
}

export type PgWorkPerItem = { [K in keyof PgWork]: number | null };

/** `work` divided by `items` (e.g. alerts delivered in the window), field by field; null when no items. */
export function perItem(work: PgWork, items: number): PgWorkPerItem {
  const per = (v: number | null) => (v === null || items <= 0 ? null : v / items);
  return Object.fromEntries(Object.entries(work).map(([k, v]) => [k, per(v)])) as PgWorkPerItem;
}
