import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadPlugins } from '@calseta/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { createPlugin, linkAtRoot, pluginNameProblem, runPluginNew } from './plugin-new.js';

interface Report {
  ok: boolean;
  checks: Array<{ name: string; ok: boolean; problems: string[] }>;
}
interface Kit {
  checkAlertSource(source: unknown, suite: unknown): Report;
  checkEnrichmentProvider(provider: unknown, suite: unknown): Report;
  formatReport(report: Report): string;
}

const SDK = fileURLToPath(new URL('../../../packages/plugin-sdk', import.meta.url));
let kit: Kit;
let root: string;

/** A repository root in a temp dir where `@calseta/plugin-sdk` resolves, as after `pnpm install`. */
function tempRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), 'calseta-plugin-new-'));
  mkdirSync(join(dir, 'node_modules', '@calseta'), { recursive: true });
  symlinkSync(SDK, join(dir, 'node_modules', '@calseta', 'plugin-sdk'), 'dir');
  // Generated tsconfigs extend the repository's base config.
  copyFileSync(fileURLToPath(new URL('../../../tsconfig.base.json', import.meta.url)), join(dir, 'tsconfig.base.json'));
  return dir;
}

const load = (path: string): Promise<Record<string, unknown>> => import(pathToFileURL(path).href);

beforeAll(async () => {
  kit = (await import(pathToFileURL(join(SDK, 'src', 'testing.ts')).href)) as Kit;
  root = tempRoot();
});

describe('calseta plugin new', () => {
  it('source: the generated package passes its own conformance suite and loads as a plugin', async () => {
    const result = await createPlugin({ kind: 'source', name: 'acme-edr', root });
    expect(result).toMatchObject({ packageName: '@calseta-community/acme-edr', id: 'acme_edr' });
    const dir = result.packageDir;
    for (const file of [
      'package.json',
      'tsconfig.json',
      'README.md',
      'src/index.ts',
      'src/source.ts',
      'fixtures/sample-alert.json',
      'test/suite.ts',
      'test/conformance.test.ts',
    ]) {
      expect(existsSync(join(dir, file)), file).toBe(true);
    }
    expect(existsSync(join(root, 'docs/integrations/acme-edr/api_notes.md'))).toBe(true);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(pkg).toMatchObject({
      name: '@calseta-community/acme-edr',
      type: 'module',
      dependencies: { '@calseta/plugin-sdk': 'workspace:*' },
    });
    // Built like the community plugins (dist for `pnpm start` and the image, sources for dev/tests).
    const falcon = JSON.parse(
      readFileSync(new URL('../../../community-plugins/crowdstrike-falcon/package.json', import.meta.url), 'utf8'),
    );
    expect(pkg.exports['.']).toEqual(falcon.exports['.']);
    expect(pkg.scripts.build).toBe(falcon.scripts.build);
    expect(pkg.files).toEqual(['dist']);

    const { acmeEdrSource } = await load(join(dir, 'src/index.ts'));
    const { suite } = await load(join(dir, 'test/suite.ts'));
    const report = kit.checkAlertSource(acmeEdrSource, suite);
    expect(report.ok, kit.formatReport(report)).toBe(true);
    expect(report.checks.length).toBeGreaterThanOrEqual(8);

    const loaded = await loadPlugins([join(dir, 'src/index.ts')]);
    expect(loaded.sources.map((s) => s.name)).toEqual(['acme_edr']);
  });

  it('provider: the generated package passes its own conformance suite and loads as a plugin', async () => {
    const result = await createPlugin({ kind: 'provider', name: 'acme-intel', root });
    const dir = result.packageDir;
    expect(existsSync(join(dir, 'provider.json'))).toBe(true);
    const { acmeIntelProvider } = await load(join(dir, 'src/index.ts'));
    const { suite } = await load(join(dir, 'test/suite.ts'));
    const report = kit.checkEnrichmentProvider(acmeIntelProvider, suite);
    expect(report.ok, kit.formatReport(report)).toBe(true);
    // The JSON file on its own (as `calseta providers import` reads it) passes too.
    const file = JSON.parse(readFileSync(join(dir, 'provider.json'), 'utf8'));
    expect(kit.checkEnrichmentProvider(file, suite).ok).toBe(true);
    expect(file.provider.env_var_mapping).toEqual({ api_key: 'CALSETA_PROVIDER_ACME_INTEL_API_KEY' });

    const loaded = await loadPlugins([join(dir, 'src/index.ts')]);
    expect(loaded.providers.map((p) => p.provider.provider_name)).toEqual(['acme_intel']);
  });

  it('refuses an existing package and names that are not kebab-case', async () => {
    await expect(createPlugin({ kind: 'source', name: 'acme-edr', root })).rejects.toThrow(/already exists/);
    for (const bad of ['Acme', 'acme_edr', '-acme', 'acme--edr', '1acme', '']) {
      expect(pluginNameProblem(bad), bad).toMatch(/kebab-case/);
    }
    expect(pluginNameProblem('acme-edr2')).toBeUndefined();
  });

  it('links a package at the root so CALSETA_PLUGINS can name it (sorted, once)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'calseta-root-'));
    writeFileSync(
      join(dir, 'package.json'),
      `${JSON.stringify({ name: 'r', devDependencies: { z: '1', a: '1' } }, null, 2)}\n`,
    );
    expect(await linkAtRoot(dir, '@calseta-community/acme-edr')).toBe(true);
    expect(await linkAtRoot(dir, '@calseta-community/acme-edr')).toBe(false);
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    expect(Object.entries(pkg.devDependencies)).toEqual([
      ['@calseta-community/acme-edr', 'workspace:*'],
      ['a', '1'],
      ['z', '1'],
    ]);
    expect(await linkAtRoot(mkdtempSync(join(tmpdir(), 'calseta-empty-')), 'x')).toBe(false);
  });

  it('the command parses its arguments and says what to do next', async () => {
    await expect(runPluginNew(['widget', 'x'], root)).rejects.toThrow(/usage: calseta plugin new/);
    const out = await runPluginNew(['source', 'beta-siem', '--dir', root, '--no-install'], root);
    expect(out).toContain('Created @calseta-community/beta-siem (source "beta_siem")');
    expect(out).toContain('npx vitest run community-plugins/beta-siem');
    expect(out).toContain('node scripts/pnpm.mjs install');
    expect(existsSync(join(root, 'community-plugins/beta-siem/test/conformance.test.ts'))).toBe(true);
  });
});
