import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type EmbeddedPostgres, startEmbeddedPostgres } from './embedded.js';
import { runningEmbeddedPostgresUrl } from './embedded-running.js';

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'calseta-embedded-test-'));
  dirs.push(dir);
  return dir;
}

async function query<T extends pg.QueryResultRow>(url: string, text: string, values: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text, values)).rows;
  } finally {
    await client.end();
  }
}

const running: EmbeddedPostgres[] = [];
async function start(dataDir: string): Promise<EmbeddedPostgres> {
  const server = await startEmbeddedPostgres({ dataDir, ephemeral: true });
  running.push(server);
  return server;
}

afterAll(async () => {
  for (const server of running) await server.stop();
  for (const dir of dirs) await fs.rm(dir, { recursive: true, force: true });
});

/** The first child of `pid` (su's shell, run as another user), once it exists. */
async function childOf(pid: number): Promise<number> {
  for (let i = 0; i < 10_000; i++) {
    const children = (await fs.readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')).trim();
    if (children !== '') return Number(children.split(' ')[0]);
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error(`no child of ${pid}`);
}

describe('the Unix socket', () => {
  const clientAddress = async (url: string) =>
    (await query<{ a: string | null }>(url, 'SELECT host(inet_client_addr()) AS a'))[0]?.a;

  test('clients connect through <dataDir>/run (mode 700); TCP on 127.0.0.1 stays open', async () => {
    const dataDir = await tempDir();
    const server = await start(dataDir);
    expect(await clientAddress(server.url)).toBeNull(); // a Unix socket has no address
    const tcp = new URL(server.url);
    tcp.search = '';
    expect(await clientAddress(tcp.href)).toBe('127.0.0.1');
    expect((await fs.stat(path.join(dataDir, 'run'))).mode & 0o777).toBe(0o700);
    // Another process joining the running server gets the socket too.
    expect(await runningEmbeddedPostgresUrl(dataDir)).toBe(server.url);
    await server.stop();
  });

  test('a socket Postgres cannot create (its path taken by a directory): TCP only', async () => {
    const dataDir = await tempDir();
    const port = await new Promise<number>((resolve) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
    });
    await fs.mkdir(path.join(dataDir, 'run', `.s.PGSQL.${port}`), { recursive: true });
    const server = await startEmbeddedPostgres({ dataDir, port, ephemeral: true });
    running.push(server);
    expect(new URL(server.url).search).toBe('');
    expect(await clientAddress(server.url)).toBe('127.0.0.1');
    await server.stop();
  });

  test('a start that fails after the socket listens is not read as a socket failure (one attempt)', async () => {
    // Found by review27: every start logs `listening on Unix socket`; a recovery failure after it
    // must not be retried TCP-only.
    const dataDir = await tempDir();
    const first = await start(dataDir);
    await first.stop();
    const wal = path.join(dataDir, 'pg', 'pg_wal');
    for (const f of await fs.readdir(wal)) if (/^[0-9A-F]{24}$/.test(f)) await fs.rm(path.join(wal, f));
    const error = await startEmbeddedPostgres({ dataDir, port: first.port, ephemeral: true }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    // The error carries the log's tail: one start, the socket among what it listened on.
    expect((error as Error).message.match(/listening on IPv4/g)).toHaveLength(1);
    expect((error as Error).message).toContain('listening on Unix socket');
  });

  test('a socket lock file a crash left behind, its pid now another process, does not cost the socket', async () => {
    // Found by review27: Postgres refuses a lock file whose pid is alive and its own user's.
    const dataDir = await tempDir();
    const first = await start(dataDir);
    await first.stop();
    const asRoot = process.getuid?.() === 0;
    // A live process of Postgres's OS user (as root: run as postgres) that is not a postgres.
    const sleeper = spawn(
      asRoot ? 'su' : 'sleep',
      asRoot ? ['-s', '/bin/sh', 'postgres', '-c', 'exec sleep 600'] : ['600'],
    );
    await new Promise((resolve) => sleeper.once('spawn', resolve));
    let owner = sleeper.pid as number;
    try {
      // su waits as the parent of the shell, which `exec` turns into sleep.
      if (asRoot) owner = await childOf(owner);
      await fs.writeFile(
        path.join(dataDir, 'run', `.s.PGSQL.${first.port}.lock`),
        `${owner}\n${path.join(dataDir, 'pg')}\n0\n${first.port}\n${path.join(dataDir, 'run')}\n`,
      );
      const second = await startEmbeddedPostgres({ dataDir, port: first.port, ephemeral: true });
      running.push(second);
      expect(new URL(second.url).searchParams.get('host')).toBe(path.join(dataDir, 'run'));
      expect(await clientAddress(second.url)).toBeNull();
    } finally {
      process.kill(owner, 'SIGKILL');
      sleeper.kill('SIGKILL');
    }
  });

  test('a data dir too deep for a socket address: TCP only', async () => {
    const parent = await tempDir();
    await fs.chmod(parent, 0o711); // as root, Postgres (user postgres) must traverse it
    const dataDir = path.join(parent, 'd'.repeat(100));
    const server = await start(dataDir);
    expect(new URL(server.url).search).toBe('');
    expect(await clientAddress(server.url)).toBe('127.0.0.1');
    expect(await runningEmbeddedPostgresUrl(dataDir)).toBe(server.url);
    await server.stop();
  });
});

describe('startEmbeddedPostgres', () => {
  let dataDir: string;
  let pidFileWhileRunning: string;

  beforeAll(async () => {
    dataDir = await tempDir();
  });

  test('initialises, creates the calseta database and accepts queries', async () => {
    const server = await start(dataDir);
    expect(server.port).toBeGreaterThanOrEqual(54329);
    expect(new URL(server.url).pathname).toBe('/calseta');
    expect(new URL(server.url).hostname).toBe('127.0.0.1');
    await query(server.url, 'CREATE TABLE notes (body text)');
    await query(server.url, 'INSERT INTO notes VALUES ($1)', ['kept across restarts']);
    pidFileWhileRunning = await fs.readFile(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8');

    await server.stop();
    await server.stop(); // idempotent
    await expect(query(server.url, 'SELECT 1')).rejects.toThrow();
  });

  test('keeps the password in <dataDir>/pg-password with mode 600', async () => {
    const stat = await fs.stat(path.join(dataDir, 'pg-password'));
    expect(stat.mode & 0o777).toBe(0o600);
    expect((await fs.readFile(path.join(dataDir, 'pg-password'), 'utf8')).trim()).toMatch(/^[A-Za-z0-9_-]{32}$/);
  });

  test('a second start on the same dataDir reuses the data and the password', async () => {
    const server = await start(dataDir);
    const password = (await fs.readFile(path.join(dataDir, 'pg-password'), 'utf8')).trim();
    expect(decodeURIComponent(new URL(server.url).password)).toBe(password);
    expect(await query(server.url, 'SELECT body FROM notes')).toEqual([{ body: 'kept across restarts' }]);
    await server.stop();
  });

  test('a stale postmaster.pid (dead or unrelated process) does not prevent start', async () => {
    const pidFile = path.join(dataDir, 'pg', 'postmaster.pid');
    const dead = spawnSync(process.execPath, ['-e', '']).pid;
    await fs.writeFile(pidFile, pidFileWhileRunning.replace(/^\d+/, String(dead)));
    const first = await start(dataDir);
    expect(await query(first.url, 'SELECT count(*)::int AS n FROM notes')).toEqual([{ n: 1 }]);
    await first.stop();

    const alive = spawn(process.execPath, ['-e', 'setInterval(() => {}, 60_000)'], { stdio: 'ignore' });
    try {
      await fs.writeFile(pidFile, pidFileWhileRunning.replace(/^\d+/, String(alive.pid)));
      const second = await start(dataDir);
      expect(await query(second.url, 'SELECT count(*)::int AS n FROM notes')).toEqual([{ n: 1 }]);
      await second.stop();
    } finally {
      alive.kill();
    }
  });

  test('an initialised cluster without its password file fails with a clear message', async () => {
    const file = path.join(dataDir, 'pg-password');
    await fs.rename(file, `${file}.bak`);
    try {
      await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(/pg-password is missing/);
    } finally {
      await fs.rename(`${file}.bak`, file);
    }
  });

  test('a half-initialised data dir (no PG_VERSION) is removed and initialised again', async () => {
    const fresh = await tempDir();
    await fs.mkdir(path.join(fresh, 'pg', 'base'), { recursive: true });
    await fs.writeFile(path.join(fresh, 'pg', 'postgresql.conf'), '# interrupted initdb\n');
    await fs.mkdir(path.join(fresh, 'pg.init'));
    const server = await start(fresh);
    expect(await query(server.url, 'SELECT current_database() AS db')).toEqual([{ db: 'calseta' }]);
    await server.stop();
    await expect(fs.access(path.join(fresh, 'pg', 'PG_VERSION'))).resolves.toBeUndefined();
    await expect(fs.access(path.join(fresh, 'pg.init'))).rejects.toThrow();
  });
});
