import { createHash } from 'node:crypto';
import {
  Kysely,
  type MigrationResult,
  Migrator,
  PostgresDialect,
  type PostgresPool,
  type PostgresPoolClient,
} from 'kysely';
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
  /**
   * Run queries as named prepared statements (default true): each distinct statement is parsed and
   * planned once per connection instead of on every call — on the pipeline's hot path planning and
   * parsing were a third of Postgres's CPU. Turn off behind a pooler that cannot keep prepared
   * statements (PgBouncer in transaction mode before 1.21): `DB_PREPARED_STATEMENTS=false`.
   */
  preparedStatements?: boolean;
  /**
   * Plan prepared statements once, generically (`plan_cache_mode=force_generic_plan`), instead of
   * re-planning the first executions per connection and any statement whose generic plan looks
   * costlier. For pools running only set-based statements of fixed shape (the worker's pipeline).
   */
  genericPlans?: boolean;
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
    ...(options.genericPlans ? { options: '-c plan_cache_mode=force_generic_plan' } : {}),
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
  const db = new PoolOwningKysely(pool, options.preparedStatements === false ? pool : preparingPool(pool));
  pools.set(db, pool);
  return { db, pool };
}

const pools = new WeakMap<Kysely<Database>, pg.Pool>();

/**
 * Distinct statements prepared per process, at most: every connection may hold each of them once.
 * Statements with a varying text (an `IN` list of varying length) would otherwise grow every
 * backend's memory without bound; past the cap new texts run unnamed, as before.
 */
export const MAX_PREPARED_STATEMENTS = 2_000;
/**
 * Statements with more parameters run unnamed: their text varies with the length of a list (a
 * multi-row `VALUES` of each batch size), so each is seen rarely, and every backend would keep each
 * one's plan — measured 64 MB per backend for 300 such inserts (1–300 rows of 5 columns).
 */
export const MAX_PREPARED_PARAMETERS = 64;
/** Only data statements are prepared: a utility statement gains nothing and DDL changes result types. */
const PREPARABLE = /^\s*(select|insert|update|delete|with)\b/i;
const statementNames = new Map<string, string>();

/** The prepared statement's name for `text`, or undefined when it runs unnamed. */
export function statementNameOf(text: string): string | undefined {
  const known = statementNames.get(text);
  if (known !== undefined) return known;
  if (statementNames.size >= MAX_PREPARED_STATEMENTS || !PREPARABLE.test(text)) return undefined;
  // A digest, not a counter: the same text has the same name on every connection and in every
  // process. The verb and first table lead, so traces and pg_stat_activity stay readable.
  const verb = (/^\s*(\w+)/.exec(text)?.[1] ?? 'q').toLowerCase();
  const table = /\b(?:from|into|update)\s+"?([a-z_][a-z0-9_.]*)/i.exec(text)?.[1] ?? '';
  const digest = createHash('sha1').update(text).digest('base64url').slice(0, 16);
  const name = `${`${verb}_${table}`.slice(0, 44)}_${digest}`;
  statementNames.set(text, name);
  return name;
}

/**
 * The pool as Kysely sees it: its clients run every data statement as a named prepared statement
 * (pg parses a name once per connection and reuses it after). Everything else passes through.
 *
 * A migration run by another process (a rolling deploy) may change what a prepared statement
 * returns (`SELECT *` of a table that gained a column): Postgres then refuses it on that connection
 * for good ("cached plan must not change result type"). Such a connection is closed when released,
 * so the next one prepares afresh; outside a transaction the statement is retried at once, unnamed.
 */
function preparingPool(pool: pg.Pool): PostgresPool {
  const wrappers = new WeakMap<pg.PoolClient, PostgresPoolClient>();
  const wrap = (client: pg.PoolClient): PostgresPoolClient => {
    let stale = false;
    return {
      query: ((text: unknown, values?: readonly unknown[]) => {
        if (typeof text !== 'string') return client.query(text as pg.QueryConfig); // a cursor
        const name = (values?.length ?? 0) > MAX_PREPARED_PARAMETERS ? undefined : statementNameOf(text);
        const unnamed = { text, values: values as unknown[] };
        if (name === undefined) return client.query(unnamed);
        return client.query({ name, ...unnamed }).catch((error: unknown) => {
          if (!isStalePlan(error)) throw error;
          stale = true;
          if ((client as { getTransactionStatus?: () => string | null }).getTransactionStatus?.() !== 'I') throw error;
          return client.query(unnamed);
        });
      }) as unknown as PostgresPoolClient['query'],
      release: () => client.release(stale ? true : undefined),
    };
  };
  return {
    connect: async () => {
      const client = await pool.connect();
      let wrapper = wrappers.get(client);
      if (wrapper === undefined) {
        wrapper = wrap(client);
        wrappers.set(client, wrapper);
      }
      return wrapper;
    },
    end: () => pool.end(),
  };
}

/** Postgres's refusal of a prepared statement whose result columns changed since it was prepared. */
function isStalePlan(error: unknown): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return code === '0A000' && typeof message === 'string' && message.includes('cached plan must not change result type');
}

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
  constructor(pool: pg.Pool, kyselyPool: PostgresPool) {
    super({ dialect: new PostgresDialect({ pool: kyselyPool }) });
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
