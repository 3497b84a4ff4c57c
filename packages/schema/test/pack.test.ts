/**
 * The published packages, as a user gets them: `pnpm pack` @calseta/schema and @calseta/plugin-sdk
 * (prepack builds dist/ with tsc; publishConfig swaps the workspace's src exports for dist), lint the
 * tarballs with publint and @arethetypeswrong/cli, then install both tarballs with npm into a fresh
 * project outside the workspace (zod comes from the registry) and compile and run a consumer there.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const PACKAGES = ['schema', 'plugin-sdk'] as const;

function run(command: string, args: string[], cwd: string, timeout = 120_000): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', timeout });
  if (result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} (in ${cwd}) failed: ${result.error?.message ?? `exit ${result.status}`}\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result;
}

/** A CLI of a root devDependency, run with this Node (no shell shims). */
function bin(pkg: string, name: string): string {
  const dir = path.join(ROOT, 'node_modules', pkg);
  const manifest = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
    bin: string | Record<string, string>;
  };
  const file = typeof manifest.bin === 'string' ? manifest.bin : manifest.bin[name];
  if (!file) throw new Error(`${pkg} has no bin ${name}`);
  return path.join(dir, file);
}

let tmp: string;
const tarballs: Record<(typeof PACKAGES)[number], string> = { schema: '', 'plugin-sdk': '' };

beforeAll(() => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 'calseta-pack-'));
  for (const name of PACKAGES) {
    // The pinned pnpm via the repo's launcher (CI has no global pnpm); prepack builds dist/ first.
    run(
      process.execPath,
      [path.join(ROOT, 'scripts/pnpm.mjs'), '--dir', `packages/${name}`, 'pack', '--pack-destination', tmp],
      ROOT,
    );
    const file = readdirSync(tmp).find((f) => f.startsWith(`calseta-${name}-`) && f.endsWith('.tgz'));
    if (!file) throw new Error(`pnpm pack wrote no tarball for ${name}`);
    tarballs[name] = path.join(tmp, file);
  }
}, 180_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe.each(PACKAGES)('@calseta/%s tarball', (name) => {
  let unpacked: string;
  let manifest: {
    exports: Record<string, unknown>;
    files: string[];
    sideEffects: boolean;
    dependencies?: Record<string, string>;
    peerDependencies: Record<string, string>;
  };

  beforeAll(() => {
    unpacked = path.join(tmp, `unpacked-${name}`);
    mkdirSync(unpacked);
    run('tar', ['xzf', tarballs[name], '-C', unpacked], tmp);
    manifest = JSON.parse(readFileSync(path.join(unpacked, 'package', 'package.json'), 'utf8'));
  });

  it('holds dist/ (JS + declarations) and no sources or tests; exports point at dist', () => {
    const listing = run('tar', ['tzf', tarballs[name]], tmp).stdout.split('\n').filter(Boolean);
    expect(listing).toContain('package/dist/index.js');
    expect(listing).toContain('package/dist/index.d.ts');
    expect(listing).toContain('package/LICENSE');
    expect(
      listing.filter((f) => !/^package\/(dist\/.+\.(js|d\.ts)|package\.json|README\.md|LICENSE)$/.test(f)),
    ).toEqual([]);
    expect(listing.some((f) => f.includes('.test.'))).toBe(false);
    expect(manifest.exports['.']).toEqual({ types: './dist/index.d.ts', default: './dist/index.js' });
    expect(manifest.sideEffects).toBe(false);
    // workspace:/catalog: specifiers are replaced by real versions; zod is a peer (one instance).
    expect(Object.values(manifest.dependencies ?? {}).every((v) => /^\^?\d/.test(v))).toBe(true);
    expect(manifest.peerDependencies).toEqual({ zod: '^4.6.7' });
  });

  it('passes publint --strict', () => {
    const result = run(
      process.execPath,
      [bin('publint', 'publint'), path.join(unpacked, 'package'), '--strict', '--pack', 'false'],
      tmp,
    );
    expect(result.stdout).toContain('All good!');
  });

  // ESM-only packages: the esm-only profile checks node16 (from ESM) and bundler resolution, and
  // ignores node10 and node16-from-CJS, which cannot load an ESM-only package without import().
  it('passes @arethetypeswrong/cli (profile esm-only)', () => {
    const result = run(
      process.execPath,
      [bin('@arethetypeswrong/cli', 'attw'), tarballs[name], '--profile', 'esm-only', '--format', 'json'],
      tmp,
    );
    const report = JSON.parse(result.stdout) as { analysis: { problems: unknown[] } };
    const problems = report.analysis.problems as Array<{ kind: string; resolutionKind?: string }>;
    expect(problems.filter((p) => p.resolutionKind === 'node16-esm' || p.resolutionKind === 'bundler')).toEqual([]);
  });
});

const CONSUMER = `import { AlertSeveritySchema, NormalizedAlertSchema, type NormalizedAlert } from '@calseta/schema';
import { defineAlertSource, definePlugin, indicator, mapSeverity, COMMON_SEVERITIES, str, getPath, isRecord } from '@calseta/plugin-sdk';
import { checkAlertSource } from '@calseta/plugin-sdk/testing';

const source = defineAlertSource({
  name: 'acme',
  displayName: 'Acme EDR',
  validate: (raw) => (isRecord(raw) && str(raw.id) ? { ok: true } : { ok: false, issues: [{ path: 'id', message: 'required' }] }),
  normalize: (raw) => ({
    title: str(getPath(raw, 'title')) ?? 'Acme alert',
    severity: mapSeverity(getPath(raw, 'severity'), COMMON_SEVERITIES),
    occurred_at: null,
    source_name: 'acme',
    src_ip: str(getPath(raw, 'ip')),
    tags: [],
    extra: {},
  }),
  extractIndicators: (raw) => {
    const ip = str(getPath(raw, 'ip'));
    return ip ? [indicator('ip', ip, 'ip')].filter((i) => i !== null) : [];
  },
  documentedExtractions: [{ field_path: 'ip', indicator_type: 'ip', description: 'Source IP' }],
});

export const plugin = definePlugin({ name: '@acme/calseta-plugin', sources: [source] });

const payload = { id: 'a-1', title: 'Beacon to known C2', severity: 'high', ip: '203.0.113.9' };
const normalized: NormalizedAlert = NormalizedAlertSchema.parse(source.normalize(payload));
const report = checkAlertSource(source, {
  valid: [{ name: 'beacon', payload, expect: { severity: 'High', indicators: [{ type: 'ip', value: '203.0.113.9' }] } }],
  invalid: [{ name: 'no id', payload: { title: 'x' } }],
});
// Compiled, never called: the published declarations are real types, not any.
export const typesAreReal = () => {
  // @ts-expect-error -- a severity is a string union, it has no toFixed
  AlertSeveritySchema.parse('High').toFixed();
};

console.log(JSON.stringify({
  severity: normalized.severity,
  refused: NormalizedAlertSchema.safeParse({ title: 1 }).success,
  plugin: plugin.name,
  sources: plugin.sources.map((s) => s.name),
  conformance: report.ok,
  failed: report.checks.filter((c) => !c.ok).map((c) => c.name),
}));
`;

describe('a fresh project outside the workspace', () => {
  it('installs both tarballs with npm, type-checks and runs a plugin against them', () => {
    const project = path.join(tmp, 'consumer');
    mkdirSync(project);
    expect(path.relative(ROOT, project).startsWith('..')).toBe(true);
    writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    run(
      'npm',
      [
        'install',
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--loglevel=error',
        tarballs.schema,
        tarballs['plugin-sdk'],
      ],
      project,
    );
    const installed = readdirSync(path.join(project, 'node_modules', '@calseta')).sort();
    expect(installed).toEqual(['plugin-sdk', 'schema']);
    // zod is a peer: npm installs it once, at the top, and the packages use the project's copy.
    expect(existsSync(path.join(project, 'node_modules', 'zod', 'package.json'))).toBe(true);
    for (const name of PACKAGES) {
      expect(existsSync(path.join(project, 'node_modules', '@calseta', name, 'node_modules', 'zod'))).toBe(false);
    }

    writeFileSync(path.join(project, 'consumer.ts'), CONSUMER);
    writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          types: [],
          outDir: 'out',
        },
        files: ['consumer.ts'],
      }),
    );
    // The workspace's TypeScript compiler, resolving everything from the project's own node_modules.
    run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', project], project);
    const output = run(process.execPath, [path.join(project, 'out', 'consumer.js')], project).stdout;
    expect(JSON.parse(output)).toEqual({
      severity: 'High',
      refused: false,
      plugin: '@acme/calseta-plugin',
      sources: ['acme'],
      conformance: true,
      failed: [],
    });
  }, 120_000);
});
