import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { EXIT_CONFIG, parseAllowedHosts } from '@calseta/core';
import PinoPretty from 'pino-pretty';
import { openCore } from './core.js';
import { migrate, openDatabase } from './database.js';
import { DEMO_AGENT_NAME, type DemoAgent, ensureDemoAgentKey, seedLivingDemo, startDemoAgent } from './demo.js';
import { childEnv, childNodeOptions, type Env } from './env.js';
import { ensureAdminKey, ensureEncryptionKey } from './first-run.js';
import { startMockProvidersIfUnconfigured } from './mock-mode.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const APPS = ['api', 'worker', 'mcp'] as const;
/** `web` is the Vite dev server (dev only; `start` has the API serve the built UI). */
type AppName = (typeof APPS)[number] | 'web';
const WEB_PORT = 5173;

/**
 * The node flags an app asks for in its package.json (`calseta.nodeFlags`: V8 settings read only at
 * start, e.g. the worker's young generation, apps/worker/README.md). Passed in NODE_OPTIONS, before
 * the user's own (which win), on `start` and `dev` alike (tsx's watcher passes NODE_OPTIONS on).
 */
function nodeFlags(app: (typeof APPS)[number]): string[] {
  const manifest = JSON.parse(readFileSync(path.join(ROOT, 'apps', app, 'package.json'), 'utf8'));
  return manifest.calseta?.nodeFlags ?? [];
}

function command(mode: 'dev' | 'start', app: AppName): string[] {
  if (app === 'web') {
    const web = path.join(ROOT, 'apps', 'web');
    // `vite/bin/vite.js` is not an export; its package.json is.
    const vite = path.join(
      path.dirname(createRequire(path.join(web, 'package.json')).resolve('vite/package.json')),
      'bin',
      'vite.js',
    );
    return [vite, web, '--port', String(WEB_PORT), '--strictPort'];
  }
  if (mode === 'start') return [path.join(ROOT, 'apps', app, 'dist', 'main.js')];
  const tsx = createRequire(import.meta.url).resolve('tsx/cli');
  return [tsx, 'watch', '--clear-screen=false', path.join(ROOT, 'apps', app, 'src', 'main.ts')];
}

/** Print a child's log lines, pretty on a terminal (JSON lines otherwise, for log shippers). */
function pipeLogs(child: ChildProcess, app: AppName, pretty: boolean) {
  const format = pretty
    ? PinoPretty.prettyFactory({
        colorize: process.stdout.isTTY,
        ignore: 'pid,hostname',
        translateTime: 'SYS:HH:MM:ss',
      })
    : null;
  for (const stream of [child.stdout, child.stderr]) {
    if (!stream) continue;
    createInterface({ input: stream }).on('line', (line) => {
      if (format && line.startsWith('{')) process.stdout.write(format(line));
      else process.stdout.write(`[${app}] ${line}\n`);
    });
  }
}

/**
 * `pnpm dev` / `pnpm start`: database (embedded unless DATABASE_URL), migrations, system rows,
 * first-run keys, then the API and worker as child processes until Ctrl-C.
 */
export async function runStack(env: Env, mode: 'dev' | 'start'): Promise<void> {
  const database = await openDatabase(env);
  const applied = await migrate(database.url);
  const core = await openCore(database.url);
  const admin = await ensureAdminKey(core.deps, env.dataDir);
  const mock = mode === 'dev' ? await startMockProvidersIfUnconfigured(env, core.deps) : null;
  const demoLog = (line: string) => process.stdout.write(`[demo-agent] ${line}\n`);
  const demo =
    mode === 'dev' && env.CALSETA_DEMO === 'true'
      ? await startDemoAgent(
          `http://localhost:${env.API_PORT}`,
          await ensureDemoAgentKey(core.deps, env.dataDir),
          demoLog,
        )
      : null;
  await core.close();
  const encryptionKey = await ensureEncryptionKey(env.dataDir);
  // The apps may call the mock providers and the demo agent, both on loopback.
  const allowedHosts = [env.SSRF_ALLOWED_HOSTS, mock?.env.SSRF_ALLOWED_HOSTS, demo?.host].filter(Boolean).join(',');

  const banner = [
    '',
    `Calseta (${mode}) — data in ${env.dataDir}`,
    `  database  ${database.kind}${applied.length ? `, applied ${applied.length} migration(s)` : ''}`,
    `  API       http://localhost:${env.API_PORT}   (reference: http://localhost:${env.API_PORT}/docs)`,
    '  worker    running',
    `  MCP       http://localhost:${env.MCP_PORT}/mcp   (Streamable HTTP; bearer API key)`,
    `  web UI    http://localhost:${mode === 'dev' ? WEB_PORT : env.API_PORT}/   (sign in with an API key)`,
  ];
  if (mock) {
    banner.push(
      `  providers mock server at ${mock.server.url} answers for builtins without a real credential (demo`,
      '            verdicts, flagged in the UI, /health and payloads; store a credential, set e.g.',
      '            VIRUSTOTAL_API_KEY, or CALSETA_MOCK_PROVIDERS=false for real ones)',
    );
  }
  if (demo) {
    banner.push(
      `  demo      agent "${DEMO_AGENT_NAME}" at ${demo.agent.url}; case-study alerts seeded on the first run`,
      '            (findings and approvals appear in the UI; CALSETA_DEMO=false turns the demo off)',
    );
  }
  if (admin.created) {
    banner.push(
      '',
      `  Admin API key (shown once; also saved to ${path.join(env.dataDir, 'admin-key')}):`,
      `    ${admin.key}`,
    );
  } else {
    banner.push(`  admin key ${path.join(env.dataDir, 'admin-key')}`);
  }
  process.stdout.write(`${banner.join('\n')}\n\n`);

  const pretty = env.LOG_FORMAT ? env.LOG_FORMAT === 'pretty' : true;
  const children = new Map<AppName, ChildProcess>();
  let stopping = false;
  let stop: (reason?: string) => void = () => undefined;
  /** Set when a child refused its configuration: the stack stops and the CLI exits with this code. */
  let failed: number | undefined;
  const launch = (app: AppName) => {
    const child = spawn(process.execPath, command(mode, app), {
      cwd: ROOT,
      env: childEnv({
        DATABASE_URL: database.url,
        API_PORT: String(env.API_PORT),
        MCP_PORT: String(env.MCP_PORT),
        LOG_LEVEL: env.LOG_LEVEL,
        ENCRYPTION_KEY: encryptionKey,
        ...mock?.env,
        ...(allowedHosts && { SSRF_ALLOWED_HOSTS: allowedHosts }),
        NODE_OPTIONS: childNodeOptions(app === 'web' ? [] : nodeFlags(app), mode === 'dev'),
      }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.set(app, child);
    pipeLogs(child, app, pretty);
    // 'close': after the child's last log line was read, so its message is printed before ours.
    child.on('close', (code, signal) => {
      if (stopping) return;
      if (code === EXIT_CONFIG) {
        // Restarting cannot fix a configuration (an unknown plugin, an invalid setting): stop.
        failed = code;
        stop(`[${app}] refused its configuration (exit ${code}, message above); stopping, not restarting`);
        return;
      }
      // `start` supervises: a crashed process comes back; its unfinished jobs are retried by the queue.
      process.stdout.write(`[${app}] exited (${signal ?? code}); restarting\n`);
      setTimeout(() => launch(app), 1_000).unref();
    });
  };
  for (const app of APPS) launch(app);
  if (mode === 'dev') launch('web');
  if (demo) void runDemo(database.url, encryptionKey, allowedHosts, demo, env, demoLog);

  await new Promise<void>((resolve) => {
    stop = (reason) => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(reason ? `${reason}\n` : '\nStopping Calseta…\n');
      const exits = [...children.values()].map(
        (child) =>
          new Promise<void>((done) => {
            if (child.exitCode !== null || child.signalCode !== null) return done();
            child.once('exit', () => done());
            child.kill('SIGTERM');
          }),
      );
      void Promise.all(exits).then(() => resolve());
    };
    process.on('SIGINT', () => stop());
    process.on('SIGTERM', () => stop());
  });
  await demo?.agent.close();
  await mock?.server.close();
  await database.stop();
  if (failed !== undefined) process.exit(failed);
}

/**
 * Once the API answers (the agent posts its findings there), register the demo agent and seed the
 * demo. Failures are reported, never fatal: the stack runs without the demo.
 */
async function runDemo(
  databaseUrl: string,
  encryptionKey: string,
  allowedHosts: string,
  demo: DemoAgent & { setSecret(secret: string): void },
  env: Env,
  log: (line: string) => void,
): Promise<void> {
  try {
    const health = `http://localhost:${env.API_PORT}/health`;
    const deadline = Date.now() + 120_000;
    while (
      !(await fetch(health).then(
        (r) => r.ok,
        () => false,
      ))
    ) {
      if (Date.now() > deadline) throw new Error(`the API did not answer on ${health}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    const core = await openCore(databaseUrl, {
      config: { encryptionKey, outbound: { allowHosts: parseAllowedHosts(allowedHosts) } },
    });
    try {
      const seeded = await seedLivingDemo(core.deps, demo.agent.url, env.dataDir, demo.setSecret);
      if (seeded) log(`seeded:\n${seeded}`);
    } finally {
      await core.close();
    }
  } catch (error) {
    log(`demo not started: ${error instanceof Error ? error.message : String(error)}`);
  }
}
