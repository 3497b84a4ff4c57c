/**
 * docker/: no Docker engine runs in CI, so the deployment files are checked with tools from the
 * package registries: the compose file against the official compose-spec JSON schema (vendored by
 * dclint) and dclint's rules, the Dockerfile with dockerfile-utils (the VS Code Docker language
 * service's validator) plus our own rules; and the two scripts the images run are exercised for real.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import http from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { validate as lintDockerfile } from 'dockerfile-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DOCKER = path.join(ROOT, 'docker');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

type Service = {
  build?: { context: string; dockerfile: string; target?: string; args?: Record<string, string> };
  image?: string;
  command?: string[];
  entrypoint?: string[];
  restart?: string;
  environment?: Record<string, string>;
  env_file?: Array<{ path: string; required?: boolean }>;
  ports?: string[];
  profiles?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
};
type Compose = { services: Record<string, Service>; volumes?: Record<string, unknown> };

const compose = parseYaml(read('docker/docker-compose.yml')) as Compose;
const services = compose.services;
const APPS = ['api', 'worker', 'mcp'] as const;

describe('docker/docker-compose.yml', () => {
  // The compose-spec schema (draft-07) as dclint vendors it. Its "$schema" spells the draft's URL
  // with https, a name Ajv does not know; like dclint, use the canonical one, so Ajv checks the
  // schema against the draft-07 meta-schema before compiling it.
  const schema = JSON.parse(read('node_modules/dclint/schemas/compose.schema.json')) as { $schema: string };
  expect(schema.$schema).toBe('https://json-schema.org/draft-07/schema');
  schema.$schema = 'http://json-schema.org/draft-07/schema#';
  const validateCompose = new Ajv({ allErrors: true, strict: false }).compile(schema);

  it('is valid against the compose-spec JSON schema', () => {
    const valid = validateCompose(compose);
    expect(validateCompose.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });

  it('the schema check has teeth: a misspelled condition or an unknown key is refused', () => {
    const broken = structuredClone(compose);
    (broken.services.api as { depends_on: Record<string, { condition: string }> }).depends_on.migrate = {
      condition: 'service_completed',
    };
    expect(validateCompose(broken)).toBe(false);
    const unknownKey = structuredClone(compose) as Compose & { services: { api: Record<string, unknown> } };
    unknownKey.services.api.healthchek = { test: ['CMD', 'true'] };
    expect(validateCompose(unknownKey)).toBe(false);
  });

  it('passes dclint (schema + rules, warnings are errors)', () => {
    const bin = path.join(ROOT, 'node_modules/dclint/bin/dclint.cjs');
    const result = spawnSync(
      process.execPath,
      [bin, '-c', 'docker/dclint.config.json', '--max-warnings', '0', 'docker/docker-compose.yml'],
      { cwd: ROOT, encoding: 'utf8' },
    );
    expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
    expect(result.status).toBe(0);
  });

  it('starts postgres, a one-shot migrate, api on 8000, worker, mcp on 8001 and web on 5173', () => {
    const always = Object.keys(services).filter((name) => services[name]?.profiles === undefined);
    expect(always.sort()).toEqual(['api', 'mcp', 'migrate', 'postgres', 'web', 'worker']);
    expect(services.api?.ports).toEqual(['127.0.0.1:8000:8000']);
    expect(services.mcp?.ports).toEqual(['127.0.0.1:8001:8001']);
    expect(services.web?.ports).toEqual(['127.0.0.1:5173:5173']);
    expect(services.worker?.ports).toBeUndefined();
    expect(services.migrate?.command).toEqual(['node', 'dist/main.js', 'migrate']);
    expect(services.migrate?.restart).toBe('no');
    expect(services.migrate?.build?.args?.APP).toBe('cli');
    for (const app of [...APPS, 'web'] as const) {
      const build = services[app]?.build;
      expect(build, app).toMatchObject({ context: '..', dockerfile: 'docker/Dockerfile', args: { APP: app } });
      expect(build?.target, app).toBe(app === 'web' ? 'web' : 'app');
    }
    expect(services.postgres?.image).toMatch(/^postgres:\d+/);
  });

  it('profile observability: Prometheus and Grafana, pinned images, on 127.0.0.1; the ops ports stay unpublished', () => {
    const profiled = Object.keys(services).filter((name) => services[name]?.profiles !== undefined);
    expect(profiled.sort()).toEqual(['grafana', 'prometheus']);
    for (const name of profiled) {
      expect(services[name]?.profiles, name).toEqual(['observability']);
      expect(services[name]?.image, name).toMatch(/^[a-z/]+:v?\d+\.\d+\.\d+$/);
    }
    expect(services.prometheus?.ports).toEqual(['127.0.0.1:9090:9090']);
    expect(services.grafana?.ports).toEqual(['127.0.0.1:3000:3000']);
  });

  it("Grafana's admin password is GRAFANA_ADMIN_PASSWORD or random, never the image's admin/admin", () => {
    const [shell, flag, script = ''] = services.grafana?.entrypoint ?? [];
    expect([shell, flag]).toEqual(['/bin/sh', '-c']);
    expect(services.grafana?.environment?.GRAFANA_ADMIN_PASSWORD).toBe(`\${GRAFANA_ADMIN_PASSWORD:-}`);
    // Run the entrypoint as compose hands it to sh ($$ → $), with `env` standing in for Grafana's /run.sh.
    const run = (password: string) =>
      execFileSync('/bin/sh', ['-c', script.replaceAll('$$', '$').replace('/run.sh', 'env')], {
        env: { PATH: '/usr/bin:/bin', GRAFANA_ADMIN_PASSWORD: password },
        encoding: 'utf8',
      }).match(/^GF_SECURITY_ADMIN_PASSWORD=(.*)$/m)?.[1];
    expect(run('chosen by the operator')).toBe('chosen by the operator');
    const [first, second] = [run(''), run('')];
    expect(first).toMatch(/^[0-9a-f]{48}$/);
    expect(second).toMatch(/^[0-9a-f]{48}$/);
    expect(first).not.toBe(second);
  });

  it('the ops ports stay unpublished', () => {
    for (const app of APPS) {
      // Reachable by Prometheus on the compose network; published nowhere.
      expect(services[app]?.environment?.OPS_HOST, app).toBe('0.0.0.0');
      expect(services[app]?.ports ?? [], app).not.toContainEqual(expect.stringMatching(/:946\d$/));
    }
  });

  it('migrations run once, after Postgres is healthy, before any app starts', () => {
    expect(services.migrate?.depends_on).toEqual({ postgres: { condition: 'service_healthy' } });
    for (const app of [...APPS, 'web']) {
      expect(services[app]?.depends_on?.migrate, app).toEqual({ condition: 'service_completed_successfully' });
    }
    for (const app of APPS) {
      expect(services[app]?.depends_on?.postgres, app).toEqual({ condition: 'service_healthy' });
    }
    expect(services.web?.depends_on?.api).toEqual({ condition: 'service_healthy' });
  });

  it('every long-running service has a healthcheck', () => {
    expect(services.postgres?.healthcheck?.test.join(' ')).toContain('pg_isready');
    for (const app of [...APPS, 'web']) {
      expect(services[app]?.healthcheck?.test, app).toEqual(['CMD', 'node', 'healthcheck.mjs']);
    }
  });

  it('holds no secret inline: they come from .env (interpolated or env_file)', () => {
    const secretName = /PASSWORD|SECRET|KEY|TOKEN/;
    for (const [name, service] of Object.entries(services)) {
      for (const [variable, value] of Object.entries(service.environment ?? {})) {
        const text = String(value);
        // `${X:-}`: unset is allowed (empty), never a default value.
        if (secretName.test(variable)) expect(text, `${name}.${variable}`).toMatch(/^\$\{[A-Z_]+(:\?[^}]*|:-)?\}$/);
        // A URL's password part is interpolated too.
        const userinfo = /^[a-z]+:\/\/[^:/@]+:([^@]*)@/.exec(text);
        if (userinfo) expect(userinfo[1], `${name}.${variable}`).toMatch(/^\$\{POSTGRES_PASSWORD(:\?[^}]*)?\}$/);
      }
      for (const file of service.env_file ?? []) expect(file).toEqual({ path: '../.env', required: true });
    }
    for (const app of APPS) {
      expect(services[app]?.env_file, app).toEqual([{ path: '../.env', required: true }]);
      expect(services[app]?.environment?.ENCRYPTION_KEY, app).toMatch(/^\$\{ENCRYPTION_KEY:\?/);
    }
  });
});

describe('.env.example', () => {
  const example = read('.env.example');
  const entries = [...example.matchAll(/^#?\s?([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((m) => ({
    name: m[1] as string,
    value: m[2] as string,
    commented: m[0].startsWith('#'),
  }));
  // Every setting a process reads: the apps' env.ts, core's config and gate (rate limits, shared by
  // api and mcp), the builtin providers' env mappings.
  const sources = [
    'apps/api/src/env.ts',
    'apps/worker/src/env.ts',
    'apps/mcp/src/env.ts',
    'packages/core/src/config.ts',
    'packages/core/src/auth/gate.ts',
    'packages/core/src/infra/telemetry/ops-server.ts',
    'packages/core/src/infra/telemetry/tracing.ts',
    'packages/integrations/src/providers/virustotal.ts',
    'packages/integrations/src/providers/abuseipdb.ts',
    'packages/integrations/src/providers/okta.ts',
    'packages/integrations/src/providers/entra.ts',
  ]
    .map(read)
    .join('\n');

  it('documents every variable the compose file interpolates, with no value for the secrets', () => {
    const interpolated = new Set(
      [...read('docker/docker-compose.yml').matchAll(/\$\{([A-Z_]+)/g)].map((m) => m[1] as string),
    );
    expect([...interpolated].sort()).toEqual(['ENCRYPTION_KEY', 'GRAFANA_ADMIN_PASSWORD', 'POSTGRES_PASSWORD']);
    for (const name of interpolated) {
      const entry = entries.find((e) => e.name === name && !e.commented);
      expect(entry, name).toBeDefined();
      expect(entry?.value, name).toBe('');
    }
  });

  it('names only settings the processes read (no drift), and no secret has a value', () => {
    for (const { name, value } of entries) {
      // Postgres's and Grafana's own, for the compose file.
      if (name === 'POSTGRES_PASSWORD' || name === 'GRAFANA_ADMIN_PASSWORD') continue;
      expect(sources.includes(name), `${name} is read by no process`).toBe(true);
      if (/PASSWORD|SECRET|API_KEY|TOKEN/.test(name)) expect(value, name).toBe('');
    }
    expect(entries.length).toBeGreaterThan(20);
  });
});

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function instructions(text: string): Array<{ keyword: string; args: string }> {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [keyword = '', ...rest] = line.split(/\s+/);
      return { keyword: keyword.toUpperCase(), args: rest.join(' ') };
    });
}

describe('docker/Dockerfile', () => {
  const text = read('docker/Dockerfile');
  const all = instructions(text);
  /** The instructions of each stage, by stage name. */
  const stages = new Map<string, typeof all>();
  let current: typeof all = [];
  for (const instruction of all) {
    if (instruction.keyword === 'FROM') {
      current = [];
      const name = /\sAS\s+(\S+)$/i.exec(instruction.args)?.[1];
      stages.set(name ?? `stage${stages.size}`, current);
    }
    current.push(instruction);
  }
  const stage = (name: string) => stages.get(name) ?? [];

  it('passes the dockerfile-utils linter', () => {
    expect(lintDockerfile(text).map((d) => `${d.range.start.line + 1}: ${d.message}`)).toEqual([]);
    // …which does find errors: a misspelled flag and a malformed FROM.
    const broken = text.replace('HEALTHCHECK --interval', 'HEALTHCHECK --intervall').replace(' AS web', ' AS web x');
    expect(lintDockerfile(broken).length).toBeGreaterThanOrEqual(2);
  });

  it('is multi-stage on the Node 24 LTS image', () => {
    expect([...stages.keys()]).toEqual(['base', 'prune', 'build', 'app', 'web']);
    const nodeImage = /^ARG NODE_IMAGE=(\S+)$/m.exec(text)?.[1];
    expect(nodeImage).toMatch(/^node:24(\.\d+)*-[a-z]+(-slim)?(@sha256:[0-9a-f]{64})?$/);
    for (const name of ['base', 'app', 'web']) expect(stage(name)[0]?.args, name).toMatch(/^\$\{NODE_IMAGE\} AS /);
    expect(text).not.toMatch(/:latest\b/);
  });

  it('prunes the workspace per app with turbo, installs from the lockfile, deploys production dependencies', () => {
    const run = (name: string) =>
      stage(name)
        .filter((i) => i.keyword === 'RUN')
        .map((i) => i.args)
        .join('\n');
    expect(run('base')).toMatch(/pnpm@10\.34\.9/);
    expect(run('base')).toMatch(/turbo@2\.11\.11/);
    const pinned = JSON.parse(read('package.json')) as {
      packageManager: string;
      devDependencies: Record<string, string>;
    };
    expect(pinned.packageManager).toBe('pnpm@10.34.9');
    expect(pinned.devDependencies.turbo).toBe('2.11.11');
    expect(run('prune')).toMatch(/turbo prune "@calseta\/\$\{APP\}" \$\(echo "\$PLUGINS" \| tr , " "\) --docker/);
    expect(run('build')).toContain('pnpm install --frozen-lockfile');
    expect(run('build')).toMatch(/pnpm turbo run build --filter="@calseta\/\$\{APP\}"/);
    expect(run('build')).toContain('deploy --prod');
    // --build-arg PLUGINS: pruned and built with the app, then installed into the deployment.
    for (const name of ['prune', 'build']) {
      expect(
        stage(name).some((i) => i.keyword === 'ARG' && i.args === 'PLUGINS=""'),
        name,
      ).toBe(true);
    }
    expect(run('build')).toContain('--filter=$p');
    expect(run('build')).toContain('bash docker/add-plugins.sh /deploy "$PLUGINS"');
  });

  it('PLUGINS: add-plugins.sh installs a listed plugin as packed (dist only), importable by name without TypeScript', () => {
    const plugin = '@calseta-community/greynoise';
    execFileSync(process.execPath, ['../../scripts/build-app.mjs', 'src/index.ts', 'dist/index.js'], {
      cwd: path.join(ROOT, 'community-plugins/greynoise'),
    });
    const deploy = mkdtempSync(path.join(os.tmpdir(), 'calseta-deploy-'));
    try {
      const add = (name: string) =>
        spawnSync(process.execPath, ['scripts/pnpm.mjs', 'exec', 'bash', 'docker/add-plugins.sh', deploy, name], {
          cwd: ROOT,
          encoding: 'utf8',
        });
      const added = add(plugin);
      expect(added.status, added.stderr).toBe(0);
      const dir = path.join(deploy, 'node_modules', plugin);
      expect(existsSync(path.join(dir, 'dist/index.js'))).toBe(true);
      expect(existsSync(path.join(dir, 'src'))).toBe(false);
      // As the image's dist/main.js imports it: by name, from the deployment's node_modules.
      writeFileSync(
        path.join(deploy, 'probe.mjs'),
        `const { plugin } = await import('${plugin}');\nconsole.log(plugin.providers.map((p) => p.provider.provider_name).join());\n`,
      );
      expect(execFileSync(process.execPath, [path.join(deploy, 'probe.mjs')], { encoding: 'utf8' }).trim()).toBe(
        'greynoise_community',
      );
      const unknown = add('@calseta-community/no-such-plugin');
      expect(unknown.status).not.toBe(0);
      expect(unknown.stderr).toContain('no workspace package named @calseta-community/no-such-plugin');
    } finally {
      rmSync(deploy, { recursive: true, force: true });
    }
  }, 120_000);

  it('copies every root file the builds read (turbo prune copies only workspace packages)', () => {
    const turbo = JSON.parse(read('turbo.json')) as { globalDependencies?: string[] };
    const copied = stage('build')
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const file of turbo.globalDependencies ?? []) expect(copied, file).toContain(file);
    // …and every app an image is built for has a build script.
    for (const app of ['api', 'worker', 'mcp', 'cli', 'web']) {
      const manifest = JSON.parse(read(`apps/${app}/package.json`)) as { scripts: Record<string, string> };
      expect(manifest.scripts.build, app).toBeDefined();
    }
  });

  it("each app's image starts node with the flags its package.json asks for (as `pnpm start` does)", () => {
    const app = stage('app');
    expect(app.filter((i) => i.keyword === 'ARG').map((i) => i.args)).toContain('APP_NODE_OPTIONS=""');
    expect(app.find((i) => i.keyword === 'ENV')?.args).toMatch(/\bNODE_OPTIONS=\$\{APP_NODE_OPTIONS\}/);
    for (const name of APPS) {
      const manifest = JSON.parse(read(`apps/${name}/package.json`)) as { calseta?: { nodeFlags?: string[] } };
      const flags = manifest.calseta?.nodeFlags ?? [];
      expect(services[name]?.build?.args?.APP_NODE_OPTIONS ?? '', name).toBe(flags.join(' '));
    }
    expect(services.worker?.build?.args?.APP_NODE_OPTIONS).toMatch(/--max-semi-space-size=\d+/);
  });

  it('final stages run as a non-root user, with a healthcheck and an exec-form command', () => {
    for (const name of ['app', 'web']) {
      const s = stage(name);
      const users = s.filter((i) => i.keyword === 'USER').map((i) => i.args);
      expect(users.length, name).toBeGreaterThan(0);
      expect(users.at(-1), name).not.toMatch(/^(root|0)(:|$)/);
      const health = s.find((i) => i.keyword === 'HEALTHCHECK');
      expect(health?.args, name).toMatch(/CMD \["node", "healthcheck\.mjs"\]$/);
      expect(s.at(-1)?.keyword, name).toBe('CMD');
      expect(s.at(-1)?.args, name).toMatch(/^\[/);
    }
  });

  it('has a BuildKit ignore file that keeps secrets and build output out of the context', () => {
    const ignore = read('docker/Dockerfile.dockerignore').split('\n');
    for (const entry of ['.env', '**/node_modules', '**/dist', '.git', '.calseta']) expect(ignore).toContain(entry);
  });
});

// ---------------------------------------------------------------------------- the images' scripts

async function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => reject(new Error(`timeout waiting for ${pattern}: ${output}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = pattern.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[0]);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited ${code}: ${output}`));
    });
  });
}

/** GET a path exactly as given (no URL normalization); resolves with the status. */
function rawStatus(base: string, rawPath: string): Promise<number> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    http
      .get({ hostname, port, path: rawPath, headers: { accept: 'text/plain' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
      .on('error', reject);
  });
}

describe('docker/web-server.mjs and docker/healthcheck.mjs', () => {
  let dir: string;
  let upstream: http.Server;
  let web: ChildProcess;
  let base: string;
  const seen: string[] = [];
  const hosts: string[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'calseta-web-'));
    await mkdir(path.join(dir, 'assets'));
    writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>Calseta</title>');
    writeFileSync(path.join(dir, 'assets', 'app-1234.js'), 'console.log(1)');
    writeFileSync(path.join(os.tmpdir(), 'calseta-outside.txt'), 'secret');
    upstream = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url} xff=${req.headers['x-forwarded-for'] ?? ''}`);
      hosts.push(req.headers.host ?? '');
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ from: 'api', url: req.url }));
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    web = spawn(process.execPath, [path.join(DOCKER, 'web-server.mjs')], {
      env: {
        WEB_ROOT: dir,
        WEB_PORT: '0',
        WEB_HOST: '127.0.0.1',
        API_UPSTREAM: `http://127.0.0.1:${upstreamPort}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const line = await waitForLine(web, /"port":\d+/);
    base = `http://127.0.0.1:${line.split(':')[1]}`;
  });

  afterAll(async () => {
    web?.kill('SIGTERM');
    await new Promise<void>((resolve) => upstream?.close(() => resolve()));
    rmSync(dir, { recursive: true, force: true });
    rmSync(path.join(os.tmpdir(), 'calseta-outside.txt'), { force: true });
  });

  it('serves the UI, falls back to index.html for client routes, and refuses paths outside its root', async () => {
    const index = await fetch(`${base}/`);
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toContain('text/html');
    expect(index.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(await index.text()).toContain('<title>Calseta</title>');
    const asset = await fetch(`${base}/assets/app-1234.js`);
    expect(asset.headers.get('cache-control')).toContain('immutable');
    expect(await asset.text()).toBe('console.log(1)');
    const route = await fetch(`${base}/alerts/123`, { headers: { accept: 'text/html' } });
    expect(await route.text()).toContain('<title>Calseta</title>');
    expect((await fetch(`${base}/assets/missing.js`)).status).toBe(404);
    // Raw paths (fetch would normalize them): never a file outside the root.
    for (const raw of [
      '/../calseta-outside.txt',
      '/assets/..%2f..%2fcalseta-outside.txt',
      '/%2e%2e/calseta-outside.txt',
    ]) {
      expect(await rawStatus(base, raw), raw).toBe(404);
    }
  });

  it('proxies the API paths to API_UPSTREAM with X-Forwarded-For and the browser’s Host', async () => {
    const answer = await fetch(`${base}/v1/alerts?severity=High`, { headers: { accept: 'application/json' } });
    expect(await answer.json()).toEqual({ from: 'api', url: '/v1/alerts?severity=High' });
    await fetch(`${base}/health`);
    await fetch(`${base}/openapi.json`);
    expect(seen).toEqual([
      'GET /v1/alerts?severity=High xff=127.0.0.1',
      'GET /health xff=127.0.0.1',
      'GET /openapi.json xff=127.0.0.1',
    ]);
    // The browser's Host reaches the API (its same-origin check of cookie writes compares with it).
    expect(hosts).toEqual([new URL(base).host, new URL(base).host, new URL(base).host]);
  });

  it('healthcheck.mjs: 0 when the endpoint answers, 1 when it does not; TCP to Postgres for the worker', async () => {
    const check = (env: Record<string, string>) =>
      spawnSync(process.execPath, [path.join(DOCKER, 'healthcheck.mjs')], { env, encoding: 'utf8' }).status;
    expect(check({ HEALTHCHECK_URL: `${base}/healthz` })).toBe(0);
    expect(check({ HEALTHCHECK_URL: `${base}/nothing-here` })).toBe(1);
    const port = new URL(base).port;
    expect(check({ CALSETA_APP: 'web', WEB_PORT: port })).toBe(0);
    // Without its ops listener (OPS_PORT=off) a worker is healthy while Postgres accepts connections.
    expect(check({ CALSETA_APP: 'worker', OPS_PORT: 'off', DATABASE_URL: `postgres://u:p@127.0.0.1:${port}/db` })).toBe(
      0,
    );
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(
      check({ CALSETA_APP: 'worker', OPS_PORT: 'off', DATABASE_URL: `postgres://u:p@127.0.0.1:${closedPort}/db` }),
    ).toBe(1);
    // A socket URL (`?host=<dir>`, as the embedded Postgres's): the socket file, not localhost:5432.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'calseta-hc-'));
    const unix = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => unix.listen(path.join(dir, '.s.PGSQL.6543'), resolve));
    try {
      const socketUrl = (p: string) => `postgres://u:p@127.0.0.1:${p}/db?host=${encodeURIComponent(dir)}`;
      expect(check({ CALSETA_APP: 'worker', OPS_PORT: 'off', DATABASE_URL: socketUrl('6543') })).toBe(0);
      expect(check({ CALSETA_APP: 'worker', OPS_PORT: 'off', DATABASE_URL: socketUrl('6544') })).toBe(1);
    } finally {
      await new Promise<void>((resolve) => unix.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('healthcheck.mjs asks /health/ready: of the API and MCP on their port, of the worker on its ops port', async () => {
    let ready = 200;
    const asked: string[] = [];
    const probe = http.createServer((req, res) => {
      asked.push(req.url ?? '');
      res.writeHead(req.url === '/health/ready' ? ready : 404).end();
    });
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = String((probe.address() as AddressInfo).port);
    const check = (env: Record<string, string>) =>
      new Promise<number | null>((resolve) => {
        spawn(process.execPath, [path.join(DOCKER, 'healthcheck.mjs')], { env, stdio: 'ignore' }).once('exit', resolve);
      });
    try {
      const envs: Array<Record<string, string>> = [
        { CALSETA_APP: 'api', API_PORT: port },
        { CALSETA_APP: 'mcp', MCP_PORT: port },
        // The database answering is not enough for a worker: its readiness decides.
        { CALSETA_APP: 'worker', OPS_PORT: port, DATABASE_URL: `postgres://u:p@127.0.0.1:${port}/db` },
      ];
      for (const env of envs) {
        ready = 200;
        expect(await check(env), env.CALSETA_APP).toBe(0);
        ready = 503;
        expect(await check(env), env.CALSETA_APP).toBe(1);
      }
      expect(new Set(asked)).toEqual(new Set(['/health/ready']));
    } finally {
      await new Promise<void>((resolve) => probe.close(() => resolve()));
    }
  });
});
