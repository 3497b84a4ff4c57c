import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The layer check (`pnpm check:layers`, .dependency-cruiser.cjs, ADR 0013) finds what it exists for: it
// runs, with the repository's own configuration, over a small workspace laid out like ours (packages
// linked by pnpm-style symlinks, imported through their `exports`). A configuration that stops seeing a
// kind of violation — as when every `@calseta/*` import was left unresolved — fails here.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEPCRUISE = join(ROOT, 'node_modules', '.bin', 'depcruise');
const CONFIG = join(ROOT, '.dependency-cruiser.cjs');

let dir: string;

function write(path: string, text: string): void {
  mkdirSync(dirname(join(dir, path)), { recursive: true });
  writeFileSync(join(dir, path), text);
}

/** `from` sees the workspace package `name` (in packages/) as pnpm links it. */
function link(from: string, name: string): void {
  const target = join(dir, from, 'node_modules', '@calseta');
  mkdirSync(target, { recursive: true });
  symlinkSync(join(dir, 'packages', name), join(target, name));
}

function pkg(name: string, files: Record<string, string>): void {
  write(
    `packages/${name}/package.json`,
    JSON.stringify({ name: `@calseta/${name}`, exports: { '.': './src/index.ts' } }),
  );
  for (const [path, text] of Object.entries(files)) write(`packages/${name}/src/${path}`, text);
}

/** The violations `depcruise` reports for the scratch workspace, as `rule: from → to` lines. */
function check(): string[] {
  try {
    execFileSync(DEPCRUISE, ['--config', CONFIG, '--output-type', 'err', 'apps/*/src', 'packages/*/src'], {
      cwd: dir,
      encoding: 'utf8',
      shell: false,
    });
    return [];
  } catch (error) {
    const out = String((error as { stdout?: string }).stdout ?? '');
    return [...out.matchAll(/error ([\w-]+): (\S+) →\s*\n?\s*(\S+)/g)].map((m) => `${m[1]}: ${m[2]} → ${m[3]}`);
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'calseta-layers-'));
  write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext' } }));
  pkg('core', {
    'index.ts': "export { newUuid } from './infra/ids.js';\nexport { getAlert } from './alerts/read.js';\n",
    'create-core.ts': "import { newUuid } from './infra/ids.js';\nexport const createCore = () => newUuid();\n",
    'infra/ids.ts': 'export const newUuid = () => "u";\n',
    'alerts/read.ts': "import { newUuid } from '../infra/ids.js';\nexport const getAlert = () => newUuid();\n",
    'payload/text.ts': 'export const tokensOf = (s: string) => s.length;\n',
  });
  pkg('integrations', { 'index.ts': 'export const firstParty = {};\n' });
  link('packages/core', 'integrations');
  write('apps/api/src/main.ts', "import { getAlert } from '@calseta/core';\nexport const a = getAlert;\n");
  link('apps/api', 'core');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('pnpm check:layers', () => {
  it('passes the layout the README describes: apps import core by package name, entities import infra', () => {
    expect(check()).toEqual([]);
  });

  it('fails on an upward import, a folder cycle, a deep path into core, core importing integrations, a package cycle', () => {
    write(
      'packages/core/src/infra/up.ts',
      "import { getAlert } from '../alerts/read.js';\nexport const u = getAlert;\n",
    );
    write(
      'packages/core/src/alerts/top.ts',
      "import { createCore } from '../create-core.js';\nexport const t = createCore;\n",
    );
    write(
      'packages/core/src/alerts/tokens.ts',
      "import { tokensOf } from '../payload/text.js';\nexport const k = tokensOf;\n",
    );
    write(
      'packages/core/src/payload/alert.ts',
      "import { getAlert } from '../alerts/read.js';\nexport const p = getAlert;\n",
    );
    write(
      'apps/api/src/deep.ts',
      "import { newUuid } from '../../../packages/core/src/infra/ids.js';\nexport const d = newUuid;\n",
    );
    write(
      'packages/core/src/ports.ts',
      "import { firstParty } from '@calseta/integrations';\nexport const f = firstParty;\n",
    );
    write('packages/integrations/src/back.ts', "import { newUuid } from '@calseta/core';\nexport const b = newUuid;\n");
    link('packages/integrations', 'core');
    write('packages/integrations/src/index.ts', "export { b } from './back.js';\nexport const firstParty = {};\n");
    write(
      'packages/core/src/index.ts',
      "export { newUuid } from './infra/ids.js';\nexport { getAlert } from './alerts/read.js';\nexport { f } from './ports.js';\n",
    );

    const found = check();
    const rules = new Set(found.map((line) => line.split(':')[0]));
    expect([...rules].sort()).toEqual([
      'core-by-package-name',
      'core-reaches-integrations-through-ports',
      'entities-below-the-top',
      'infra-is-the-bottom',
      'no-cycle',
      'no-folder-cycle',
    ]);
    expect(found).toContain('infra-is-the-bottom: packages/core/src/infra/up.ts → packages/core/src/alerts/read.ts');
    expect(found).toContain(
      'entities-below-the-top: packages/core/src/alerts/top.ts → packages/core/src/create-core.ts',
    );
    expect(found).toContain('core-by-package-name: apps/api/src/deep.ts → packages/core/src/infra/ids.ts');
    expect(found).toContain(
      'core-reaches-integrations-through-ports: packages/core/src/ports.ts → packages/integrations/src/index.ts',
    );
    // core → integrations → core: only seen when workspace packages resolve through their exports.
    expect(found).toContain('no-cycle: packages/core/src/index.ts → packages/core/src/ports.ts');
    expect(found).toContain('no-folder-cycle: packages/core/src → packages/integrations/src');
  });
});
