/**
 * Per-test-file Postgres databases, cloned from the template built by
 * `./global-setup.ts` (add it to the vitest config's `globalSetup`).
 *
 *   const t = await createTestDatabase();
 *   afterAll(() => t.drop());
 *   await t.db.selectFrom('alerts')...
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { CompiledQuery, type Kysely } from 'kysely';
import pg from 'pg';
import { inject } from 'vitest';
import { createDb } from '../create-db.js';
import type { Database } from '../database.js';
import { withDatabase } from './shared.js';

export { TEST_PGBOSS_SCHEMA } from './shared.js';

/**
 * `url` pointed at the TCP address `host` (`127.0.0.1:<port>`): its Unix socket parameter
 * (`?host=<dir>`, packages/db/src/embedded.ts) is dropped, since it would win over the address.
 */
export function withTcpAddress(url: string, host: string): string {
  const u = new URL(url);
  u.host = host;
  u.searchParams.delete('host');
  return u.toString();
}

/** `url` pointed at a local TCP port nobody listens on: the real ECONNREFUSED of a database that is down. */
export async function closedPortUrl(url: string): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return withTcpAddress(url, `127.0.0.1:${port}`);
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** URL of the `postgres` maintenance database of the test server. */
    pgAdminUrl: string;
    /** Name of the migrated template database (schema + pg-boss schema). */
    pgTemplate: string;
    /** Per-run id embedded in test database names (`t_<runId>_<random>`). */
    pgRunId: string;
  }
}

export interface TestDatabase {
  /** URL of the new database (for code that builds its own pool, e.g. pg-boss). */
  url: string;
  /** Kysely on a small pool (max 5) to the new database. */
  db: Kysely<Database>;
  /** Destroy `db` and drop the database (terminating other connections). Idempotent. */
  drop(): Promise<void>;
  /** A connection of its own (for transactions that meet other sessions' locks); ended by `drop()`. */
  session(): Promise<pg.Client>;
  /**
   * For a session about to block: resolves, once called, when that session's running statement waits
   * on a lock (polled through pg_stat_activity — an event, not a timer).
   */
  lockWaiter(session: pg.Client): Promise<() => Promise<void>>;
}

/** A statement as a client sent it, for EXPLAIN or PREPARE again on another session. */
export interface CapturedStatement {
  text: string;
  values: unknown[];
}

/**
 * A one-connection database handle to `url` that records every statement text its client sends
 * (unprepared, so each arrives with its text): for tests that check the plans of what code runs.
 */
export function capturingDb(url: string): ReturnType<typeof createDb> & { statements: CapturedStatement[] } {
  const handle = createDb({ url, max: 1, preparedStatements: false });
  const statements: CapturedStatement[] = [];
  handle.pool.on('connect', (client) => {
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    (client as { query: unknown }).query = (text: unknown, values?: unknown) => {
      if (typeof text === 'string') statements.push({ text, values: (values as unknown[]) ?? [] });
      return query(text, values);
    };
  });
  return { ...handle, statements };
}

const CLONE_ATTEMPTS = 5;
const OBJECT_IN_USE = '55006';

/** A fresh, fully migrated database (with the pg-boss schema) for this test file. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = inject('pgAdminUrl');
  const template = inject('pgTemplate');
  const name = `t_${inject('pgRunId')}_${randomBytes(6).toString('hex')}`;

  await withAdmin(adminUrl, async (admin) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await admin.query(
          `CREATE DATABASE ${admin.escapeIdentifier(name)} TEMPLATE ${admin.escapeIdentifier(template)}`,
        );
        return;
      } catch (error) {
        // "source database is being accessed by other users": a session on the
        // template (only possible when it is not locked down). Short bounded backoff.
        if ((error as { code?: string }).code !== OBJECT_IN_USE || attempt >= CLONE_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      }
    }
  });

  const url = withDatabase(adminUrl, name);
  const { db } = createDb({ url, max: 5, applicationName: 'calseta-test' });
  const sessions: pg.Client[] = [];
  let dropped: Promise<void> | undefined;
  return {
    url,
    db,
    async session() {
      const session = new pg.Client({ connectionString: url, application_name: 'calseta-test-session' });
      await session.connect();
      sessions.push(session);
      return session;
    },
    async lockWaiter(session) {
      const pid = (await session.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
      return async () => {
        for (let i = 0; i < 5_000; i++) {
          const { rows } = await db.executeQuery<{ waiting: boolean }>(
            CompiledQuery.raw("SELECT wait_event_type = 'Lock' AS waiting FROM pg_stat_activity WHERE pid = $1", [pid]),
          );
          if (rows[0]?.waiting) return;
        }
        throw new Error(`session ${pid} never waited on a lock`);
      };
    },
    drop: () => {
      dropped ??= (async () => {
        await Promise.all(sessions.splice(0).map((s) => s.end().catch(() => undefined)));
        await db.destroy();
        await withAdmin(adminUrl, (admin) =>
          admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(name)} WITH (FORCE)`),
        );
      })();
      return dropped;
    },
  };
}

async function withAdmin<T>(adminUrl: string, fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'calseta-test-admin' });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}
