import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// Issue 19: core reaches first-party integrations only through its ports, and the vendor clients here
// only through the SSRF-guarded client core hands them (an SSRF or credential leak otherwise bypasses
// core's outbound policy: private addresses, allow-lists, redirects, response caps).

const SRC = fileURLToPath(new URL('.', import.meta.url));
const CORE_SRC = fileURLToPath(new URL('../../core/src', import.meta.url));

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sources(path, out);
    else if (/\.tsx?$/.test(entry.name) && !/\.test\.ts$/.test(entry.name)) out.push(path);
  }
  return out;
}

const importsOf = (text: string) =>
  [...text.matchAll(/\bfrom\s+'([^']+)'|\bimport\(\s*'([^']+)'\s*\)/g)].map((m) => m[1] ?? m[2]);

/** Files under `root` (tests excluded) whose imports include one `bad` accepts, with the import. */
export function offendingImports(root: string, bad: (specifier: string) => boolean): string[] {
  return sources(root).flatMap((file) =>
    importsOf(readFileSync(file, 'utf8'))
      .filter((s) => s !== undefined && bad(s))
      .map((s) => `${relative(root, file)} imports ${s}`),
  );
}

/** Vendor-client code that reaches the network by itself: a global fetch or a networking module. */
export function rawRequests(root: string): string[] {
  const NET = /^(node:)?(http|https|http2|net|tls|dgram|dns)$|^undici$|^axios$|^node-fetch$/;
  return sources(root).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    const found = importsOf(text).filter((s) => s !== undefined && NET.test(s));
    if (/(?<![#.\w])fetch\s*\(|globalThis\s*\.\s*fetch|\bXMLHttpRequest\b|\bWebSocket\b/.test(text))
      found.push('fetch');
    return found.map((s) => `${relative(root, file)}: ${s}`);
  });
}

describe('the ports boundary', () => {
  it('core never imports @calseta/integrations outside its tests', () => {
    expect(
      offendingImports(CORE_SRC, (s) => s === '@calseta/integrations' || s.startsWith('@calseta/integrations/')),
    ).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(CORE_SRC, '../package.json'), 'utf8'));
    expect(Object.keys(manifest.dependencies ?? {})).not.toContain('@calseta/integrations');
  });

  it('this package never imports core (the dependency points one way)', () => {
    expect(offendingImports(SRC, (s) => s.startsWith('@calseta/core') || s.includes('/core/src'))).toEqual([]);
  });

  it('vendor clients make no request but through the client core hands them', () => {
    expect(['workflows', 'approvals', 'generation'].flatMap((dir) => rawRequests(join(SRC, dir)))).toEqual([]);
  });
});
