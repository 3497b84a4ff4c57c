import fs from 'node:fs/promises';
import path from 'node:path';
import { socketDirectory, socketQuery } from './embedded.js';

/**
 * The URL of an embedded Postgres already running on `dataDir` (started by another `calseta`
 * process), or null. Postgres allows one server per data directory, so a second CLI command must
 * join the running one rather than start its own.
 */
export async function runningEmbeddedPostgresUrl(dataDir: string, database = 'calseta'): Promise<string | null> {
  const root = path.resolve(dataDir);
  let pidFile: string;
  let password: string;
  try {
    pidFile = await fs.readFile(path.join(root, 'pg', 'postmaster.pid'), 'utf8');
    password = (await fs.readFile(path.join(root, 'pg-password'), 'utf8')).trim();
  } catch {
    return null;
  }
  // postmaster.pid: line 1 pid, line 4 port, line 5 the Unix socket's directory (empty: none).
  const lines = pidFile.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!Number.isInteger(pid) || !Number.isInteger(port)) return null;
  try {
    process.kill(pid, 0);
    const comm = (await fs.readFile(`/proc/${pid}/comm`, 'utf8')).trim();
    if (comm !== 'postgres' && comm !== 'postmaster') return null;
  } catch {
    return null;
  }
  // Through the socket when the server made the one startEmbeddedPostgres asks for.
  const socketDir = socketDirectory(root);
  const viaSocket = socketDir !== null && lines[4]?.trim() === socketDir;
  return `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${port}/${encodeURIComponent(database)}${socketQuery(viaSocket ? socketDir : null)}`;
}
