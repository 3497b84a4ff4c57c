import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Docs follow the code: every repository path named in docs/**/*.md and in README.md files must exist.
// Files move (issue 19 moved bench/ and core's files); a doc that still names the old place fails here.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git', '.calseta', '.turbo', '.tools', '.changeset']);

/** Paths a doc names on purpose although they do not exist in the repository. */
const NOT_IN_REPO: Array<{ file: string; path: string; why: string }> = [
  { file: 'community-plugins/README.md', path: 'community-plugins/acme-edr', why: 'what `plugin new` generates' },
  { file: 'community-plugins/README.md', path: 'test/suite.ts', why: 'layout of a generated plugin' },
  { file: 'community-plugins/README.md', path: 'test/conformance.test.ts', why: 'layout of a generated plugin' },
];

function markdownFiles(dir = ROOT, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (SKIP_DIRS.has(name)) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) markdownFiles(path, out);
    else if (relative(ROOT, path).startsWith('docs/') ? name.endsWith('.md') : name === 'README.md') out.push(path);
  }
  return out;
}

const TOP = 'apps|packages|internal-packages|bench|docs|scripts|seeds|community-plugins|examples|docker|\\.changeset';
const SEGMENT = '[\\w*<>{}$][\\w.*<>{}$-]*';
/**
 * A path is a token that starts at a top-level folder (`packages/core/…`), or has a folder and a file
 * extension (`jobs/catalogue.ts`, resolved from the doc's package). Not inside another path or a URL.
 */
const PATH = new RegExp(
  `(?<![\\w./@:~-])(?:(?:${TOP})/[\\w.*<>{}$/-]*|${SEGMENT}(?:/${SEGMENT})+\\.(?:ts|tsx|mjs|js|json|md|sql|ya?ml|sh|css|html)(?![\\w]))`,
  'g',
);
const LINK = /\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
const CODE_SPAN = /`[^`\n]*`/g;

const exists = (path: string) =>
  existsSync(path) ||
  // `docs/adr/0004` names ADR 0004 by its number
  (existsSync(dirname(path)) && readdirSync(dirname(path)).some((name) => name.startsWith(`${basename(path)}-`)));

/** The paths `text` (the contents of `file`, absolute) names that exist nowhere they could mean. */
function missingPaths(file: string, text: string, root = ROOT): string[] {
  const dir = dirname(file);
  const missing: string[] = [];
  // Links resolve from the doc's folder. Code spans are left out: `[label](url)` there is an example.
  for (const [, target = ''] of text.replace(CODE_SPAN, '').matchAll(LINK)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('#') || target.startsWith('/')) continue;
    const path = decodeURIComponent(target.replace(/[#?].*$/, ''));
    if (path && !exists(resolve(dir, path))) missing.push(target);
  }
  // Named paths resolve from the root, the doc's folder or, in a package's README, its src/.
  const bases = [root, dir];
  if (existsSync(join(dir, 'package.json')) && dir !== root) bases.push(join(dir, 'src'));
  for (const [token] of text.replace(LINK, '').matchAll(PATH)) {
    let path = token.replace(/[.,;:]+$/, '');
    const wildcard = path.search(/[*<>{}$]/); // `apps/*/src/env.ts`: the part before the placeholder
    if (wildcard >= 0) path = path.slice(0, path.lastIndexOf('/', wildcard) + 1);
    // Build and benchmark output (git-ignored: absent from a clean clone).
    if (!path || /(^|\/)(dist|node_modules)\/|^internal-packages\/bench\/results\//.test(path)) continue;
    if (!bases.some((base) => exists(resolve(base, path)))) missing.push(path);
  }
  return missing;
}

describe('paths named in docs and READMEs', () => {
  it('exist', () => {
    const missing = markdownFiles().flatMap((file) => {
      const rel = relative(ROOT, file);
      return missingPaths(file, readFileSync(file, 'utf8'))
        .filter((path) => !NOT_IN_REPO.some((n) => n.file === rel && n.path === path))
        .map((path) => `${rel}: ${path}`);
    });
    expect(missing).toEqual([]);
  });

  it('reads links, top-level paths, package-relative files and placeholders', () => {
    const doc = join(ROOT, 'docs/example.md');
    const text = [
      '[ok](../README.md) [gone](adr/gone.md#x) [web](https://example.com/x.md) [anchor](#a)',
      '`packages/core/README.md`, `packages/core/nope.ts`, `apps/*/src/env.ts`, `apps/nope-*/x.ts`',
      'docs/adr/0001, docs/adr/9999, /v1/alerts/{uuid}, @calseta/core, https://github.com/a/b/c.ts',
      '`api/differences.md` (from docs/), `jobs/nope.ts`, `dist/main.js`, and `[label](url)` in code',
    ].join('\n');
    expect(missingPaths(doc, text)).toEqual([
      'adr/gone.md#x',
      'packages/core/nope.ts',
      'docs/adr/9999',
      'jobs/nope.ts',
    ]);
  });
});
