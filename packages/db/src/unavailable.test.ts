import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { closedPortUrl } from './testing/index.js';
import { isDatabaseUnavailable } from './unavailable.js';

// Every error below is a real one, raised by node-postgres against a real server (or no server).
const adminUrl = inject('pgAdminUrl');
const role = `t_${inject('pgRunId')}_limited`;

async function rejection(work: () => Promise<unknown>): Promise<unknown> {
  try {
    await work();
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  client.on('error', () => {}); // a terminated backend also emits 'error'
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => {});
  }
}

beforeAll(() =>
  withClient(adminUrl, (c) =>
    c.query(`CREATE ROLE ${c.escapeIdentifier(role)} LOGIN PASSWORD 'limited' CONNECTION LIMIT 0`),
  ),
);
afterAll(() => withClient(adminUrl, (c) => c.query(`DROP ROLE IF EXISTS ${c.escapeIdentifier(role)}`)));

describe('isDatabaseUnavailable: true for a database that cannot be reached now', () => {
  it('nothing listens (ECONNREFUSED)', async () => {
    const url = await closedPortUrl(adminUrl);
    const error = await rejection(() => withClient(url, (c) => c.query('SELECT 1')));
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(error)).toBe(true);
    // Wrapped by a caller, it still counts.
    expect(isDatabaseUnavailable(new Error('enrich failed', { cause: error }))).toBe(true);
  });

  it('no server behind the Unix socket (its file gone: ENOENT on connect)', async () => {
    const url = new URL(adminUrl);
    url.searchParams.set('host', `/tmp/calseta-no-such-socket-${inject('pgRunId')}`);
    const error = await rejection(() => withClient(url.toString(), (c) => c.query('SELECT 1')));
    expect(error).toMatchObject({ code: 'ENOENT', syscall: 'connect' });
    expect(isDatabaseUnavailable(error)).toBe(true);
    // A missing file elsewhere is not the database.
    expect(isDatabaseUnavailable(Object.assign(new Error('ENOENT: open'), { code: 'ENOENT', syscall: 'open' }))).toBe(
      false,
    );
  });

  it('the server terminates the connection (57P01), and the client is then unusable', async () => {
    await withClient(adminUrl, async (victim) => {
      const { rows } = await victim.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      const pending = rejection(() => victim.query('SELECT pg_sleep(30)'));
      await withClient(adminUrl, (admin) => admin.query('SELECT pg_terminate_backend($1)', [rows[0]?.pid]));
      const terminated = await pending;
      expect(terminated).toMatchObject({ code: '57P01' });
      expect(isDatabaseUnavailable(terminated)).toBe(true);
      const after = await rejection(() => victim.query('SELECT 1'));
      expect(String((after as Error).message)).toMatch(/not queryable|Connection terminated/);
      expect(isDatabaseUnavailable(after)).toBe(true);
    });
  });

  it('out of connection slots (53300)', async () => {
    const url = new URL(adminUrl);
    url.username = role;
    url.password = 'limited';
    const error = await rejection(() => withClient(url.toString(), (c) => c.query('SELECT 1')));
    expect(error).toMatchObject({ code: '53300' });
    expect(isDatabaseUnavailable(error)).toBe(true);
  });

  it("the pool's wait for a free connection expires", async () => {
    const pool = new pg.Pool({ connectionString: adminUrl, max: 1, connectionTimeoutMillis: 50 });
    const held = await pool.connect();
    try {
      const error = await rejection(() => pool.query('SELECT 1'));
      expect(String((error as Error).message)).toMatch(/timeout exceeded when trying to connect/);
      expect(isDatabaseUnavailable(error)).toBe(true);
    } finally {
      held.release();
      await pool.end();
    }
  });
});

describe('isDatabaseUnavailable: false for everything else', () => {
  it('errors of the statement itself, even when their text holds a connection error', async () => {
    await withClient(adminUrl, async (c) => {
      for (const statement of [
        'SELEC 1', // 42601 syntax error
        'SELECT 1/0', // 22012
        "SELECT 'Connection terminated'::int", // 22P02, the message quotes the value
        "SELECT 'ECONNREFUSED'::uuid",
      ]) {
        const error = await rejection(() => c.query(statement));
        expect(isDatabaseUnavailable(error), statement).toBe(false);
      }
    });
  });

  it('non-errors and a cause chain that loops', () => {
    for (const value of [undefined, null, 'Connection terminated', 42, {}, new Error('boom')]) {
      expect(isDatabaseUnavailable(value)).toBe(false);
    }
    const a = new Error('a') as Error & { cause?: unknown };
    const b = new Error('b', { cause: a });
    a.cause = b;
    expect(isDatabaseUnavailable(a)).toBe(false);
  });

  it("an AggregateError (Node's connect to several addresses) counts when one of its errors does", () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED ::1:5432'), { code: 'ECONNREFUSED' });
    expect(isDatabaseUnavailable(new AggregateError([new Error('x'), refused]))).toBe(true);
    expect(isDatabaseUnavailable(new AggregateError([new Error('x')]))).toBe(false);
  });
});
