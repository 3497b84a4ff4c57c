/**
 * `pnpm start` as a user runs it: turbo builds the bundles (and the community plugins, which build to
 * dist like the apps), then `node apps/cli/dist/main.js start` supervises the built API, worker and MCP
 * server. With CALSETA_PLUGINS naming a plugin, the built API accepts an alert for the plugin's source
 * and the built worker finishes it; with a plugin that does not exist, `start` stops with the message
 * and a non-zero exit instead of restarting the processes forever.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDatabase, type TestDatabase } from '@calseta/db/testing';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const FALCON = '@calseta-community/crowdstrike-falcon';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

interface Started {
  child: ChildProcess;
  output: () => string;
  /** Exit code (or signal name) once `start` ends. */
  exited: Promise<string>;
  apiUrl: string;
  dataDir: string;
}

async function start(databaseUrl: string, plugins: string): Promise<Started> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'calseta-start-'));
  const apiPort = await freePort();
  let out = '';
  const child = spawn(process.execPath, ['apps/cli/dist/main.js', 'start'], {
    cwd: ROOT,
    env: {
      // biome-ignore lint/style/noProcessEnv: the child finds node and the system tools on PATH
      PATH: process.env.PATH,
      DATABASE_URL: databaseUrl,
      CALSETA_DATA_DIR: dataDir,
      CALSETA_PLUGINS: plugins,
      API_PORT: String(apiPort),
      MCP_PORT: String(await freePort()),
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  for (const stream of [child.stdout, child.stderr]) stream?.on('data', (chunk: Buffer) => (out += chunk));
  const exited = new Promise<string>((resolve) =>
    child.once('exit', (code, signal) => resolve(String(signal ?? code))),
  );
  return { child, output: () => out, exited, apiUrl: `http://127.0.0.1:${apiPort}`, dataDir };
}

const WORKER_BUNDLE = path.join('apps', 'worker', 'dist', 'main.js');

/** The command lines and environments of the processes whose parent is `pid` (Linux /proc). */
function childProcesses(pid: number): Array<{ argv: string[]; env: Record<string, string> }> {
  const nulSeparated = (file: string) => readFileSync(file, 'utf8').split('\0').filter(Boolean);
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        // The parent pid is the 2nd field after the command name, which sits in parentheses.
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) return [];
        const env = nulSeparated(`/proc/${entry}/environ`).map((kv) => [
          kv.slice(0, kv.indexOf('=')),
          kv.slice(kv.indexOf('=') + 1),
        ]);
        return [{ argv: nulSeparated(`/proc/${entry}/cmdline`), env: Object.fromEntries(env) }];
      } catch {
        return []; // exited meanwhile
      }
    });
}

/** Poll `check` every 250 ms until it returns a value; fail with the stack's output at the deadline. */
async function until<T>(what: string, s: Started, check: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (s.child.exitCode !== null) throw new Error(`start exited while waiting for ${what}:\n${s.output()}`);
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${s.output().slice(-4_000)}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('pnpm start (built bundles) with CALSETA_PLUGINS', () => {
  let t: TestDatabase;
  const running: Started[] = [];

  beforeAll(async () => {
    // What `pnpm start` runs first (turbo run build), for the packages this test starts: the cli,
    // api, worker and mcp bundles and the plugin's dist (turbo builds its workspace dependencies).
    // scripts/pnpm.mjs puts the pinned pnpm on PATH, where turbo looks for its package manager.
    execFileSync(
      process.execPath,
      [
        'scripts/pnpm.mjs',
        'turbo',
        'run',
        'build',
        '--output-logs=errors-only',
        ...['@calseta/cli', '@calseta/api', '@calseta/worker', '@calseta/mcp', FALCON].map((p) => `--filter=${p}`),
      ],
      { cwd: ROOT, stdio: 'inherit' },
    );
    t = await createTestDatabase();
  }, 600_000);

  afterEach(async () => {
    for (const s of running.splice(0)) {
      if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill('SIGTERM');
      await s.exited;
      rmSync(s.dataDir, { recursive: true, force: true });
    }
  });
  afterAll(() => t?.drop());

  it('the built plugin resolves to dist (no TypeScript at run time)', () => {
    const resolved = execFileSync(process.execPath, ['-p', `require.resolve(${JSON.stringify(FALCON)})`], {
      cwd: ROOT,
      encoding: 'utf8',
    }).trim();
    expect(path.relative(ROOT, resolved)).toBe(
      path.join('community-plugins', 'crowdstrike-falcon', 'dist', 'index.js'),
    );
  });

  it("the built API accepts an alert for the plugin's source and the built worker finishes it", async () => {
    const s = await start(t.url, FALCON);
    running.push(s);
    await until('GET /health 200', s, async () => ((await fetch(`${s.apiUrl}/health`)).ok ? true : undefined));
    const key = readFileSync(path.join(s.dataDir, 'admin-key'), 'utf8').trim();
    const payload = readFileSync(
      path.join(ROOT, 'community-plugins/crowdstrike-falcon/fixtures/event-stream-detection-summary.json'),
      'utf8',
    );
    const res = await fetch(`${s.apiUrl}/v1/ingest/crowdstrike_falcon`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: payload,
    });
    const body = (await res.json()) as { data: { alert_uuid: string } };
    expect(res.status, JSON.stringify(body)).toBe(202);
    const alert = await until('the worker to finish the alert', s, async () => {
      const got = await fetch(`${s.apiUrl}/v1/alerts/${body.data.alert_uuid}`, {
        headers: { authorization: `Bearer ${key}` },
      });
      const a = ((await got.json()) as { data: { source_name: string; enrichment_status: string } }).data;
      return a.enrichment_status === 'Pending' ? undefined : a;
    });
    expect(alert.source_name).toBe('crowdstrike_falcon');
    expect(s.output()).not.toMatch(/exited \(.*\); restarting|Unknown file extension/);
    // The worker runs with the node flags its package.json asks for (V8 reads them only at start).
    const worker = childProcesses(s.child.pid as number).find((p) => p.argv.at(-1)?.endsWith(WORKER_BUNDLE));
    const { calseta } = JSON.parse(readFileSync(path.join(ROOT, 'apps/worker/package.json'), 'utf8'));
    expect(calseta.nodeFlags).toContain('--max-semi-space-size=32');
    expect(worker?.env.NODE_OPTIONS).toBe(calseta.nodeFlags.join(' '));
  }, 120_000);

  it('a plugin that cannot be loaded stops `start` with the message and a non-zero exit', async () => {
    const s = await start(t.url, '@calseta-community/no-such-plugin');
    running.push(s);
    const timeout = setTimeout(() => s.child.kill('SIGKILL'), 60_000);
    const code = await s.exited;
    clearTimeout(timeout);
    expect(code).toBe('78');
    expect(s.output()).toContain('Plugin "@calseta-community/no-such-plugin" (CALSETA_PLUGINS): cannot be imported');
    expect(s.output()).toContain('refused its configuration');
    expect(s.output()).not.toMatch(/exited \(.*\); restarting/);
  }, 90_000);
});
