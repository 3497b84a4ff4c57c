import { Kysely, type MigrationResult, Migrator, PostgresDialect } from 'kysely';
import pg from 'pg';
import type { Database } from './database.js';
import { migrations } from './migrations/index.js';

export interface CreateDbOptions {
  /** postgres:// connection URL. */
  url: string;
  /** Pool size (default 10). */
  max?: number;
  /** Shown in pg_stat_activity.application_name (default 'calseta'). */
  applicationName?: string;
  /**
   * Called when an idle pooled connection fails (e.g. the server restarted). The
   * pool drops that client and reconnects on next use. Default: ignore.
   */
  onPoolError?: (error: Error) => void;
  /**
   * Give up opening a connection after this many ms (default 5000), so a database that accepts
   * TCP but never answers fails requests with a clear error instead of hanging them.
   */
  connectionTimeoutMillis?: number;
}

export interface DbHandle {
  db: Kysely<Database>;
  /** The pool behind `db`. `db.destroy()` ends it; do not end it twice. */
  pool: pg.Pool;
}

const INT8_OID = 20;
const DATE_OID = 1082;

function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) {
    throw new RangeError(`int8 value ${value} does not fit in a JS number`);
  }
  return n;
}

/**
 * Type parsers for this pool only (pg's global `pg.types` is left untouched, so
 * pg-boss and any other pg user in the process keep their defaults):
 * - int8 (bigint ids, count(*)) → number. Throws beyond Number.MAX_SAFE_INTEGER
 *   rather than silently losing precision.
 * - date → 'YYYY-MM-DD' string (pg's default builds a Date at local midnight).
 */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (format !== 'binary') {
      if (oid === INT8_OID) return parseInt8;
      if (oid === DATE_OID) return (value: string) => value;
    }
    return format === undefined ? pg.types.getTypeParser(oid) : pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** One pg Pool and a Kysely instance on it. */
export function createDb(options: CreateDbOptions): DbHandle {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'calseta',
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    types,
  });
  // An idle client that loses its connection emits 'error' on the pool; without a
  // listener that would crash the process.
  const onError = options.onPoolError ?? (() => {});
  pool.on('error', onError);
  // A checked-out client whose connection dies between two queries (the server restarted or
  // terminated it, e.g. inside a transaction) emits 'error' on the client itself: pg-pool removes
  // its idle listener while the client is lent out, so without this the process crashed. Its
  // queries fail, and the pool drops it on release (it is no longer queryable).
  pool.on('connect', (client) => client.on('error', onError));
  const db = new PoolOwningKysely(pool);
  pools.set(db, pool);
  return { db, pool };
}

const pools = new WeakMap<Kysely<Database>, pg.Pool>();

/** The pool behind a `db` made by createDb (for its metrics: connections in use, waiting, errors). */
export function poolOf(db: Kysely<Database>): pg.Pool | undefined {
  return pools.get(db);
}

/**
 * Kysely ends the pool in destroy() only once it has run a query. This subclass
 * also ends a pool that was never used through Kysely (e.g. only `pool` was used),
 * so `db.destroy()` always releases everything.
 */
class PoolOwningKysely extends Kysely<Database> {
  readonly #pool: pg.Pool;
  constructor(pool: pg.Pool) {
    super({ dialect: new PostgresDialect({ pool }) });
    this.#pool = pool;
  }
  override async destroy(): Promise<void> {
    await super.destroy();
    if (!this.#pool.ended && !this.#pool.ending) await this.#pool.end();
  }
}

/**
 * Apply every pending migration from the static registry. Returns the names
 * applied by this call (empty when already up to date). Safe to call from
 * several processes at once (Kysely serialises migrators with a lock table).
 */
export async function migrateToLatest(db: Kysely<Database>): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...migrations }) },
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error !== undefined) {
    const failed = results?.find((r: MigrationResult) => r.status === 'Error');
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(
      failed
        ? `Database migration "${failed.migrationName}" failed: ${message}`
        : `Database migration failed: ${message}`,
      { cause: error },
    );
  }
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

/** Names of all migrations this build knows, in apply order. */
export function migrationNames(): string[] {
  return Object.keys(migrations).sort();
}
