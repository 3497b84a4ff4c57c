#!/usr/bin/env node
// A browser for the web UI's end-to-end test (apps/web/test/e2e.test.ts, driven by playwright-core,
// which downloads none): `npm test` runs this first, so the test command works on a fresh machine
// with only Node and npm. In order:
//   1. CHROMIUM_PATH, when set (it must be executable);
//   2. a system Chromium (/usr/bin/chromium, or chromium / chromium-browser on PATH);
//   3. as root (or with sudo): Debian's chromium, by scripts/install-chromium.sh (apt);
//   4. otherwise from the npm registry alone: @sparticuz/chromium, a Chromium build shipped inside the
//      package, installed into .tools/chromium with the NSS libraries it bundles (its Amazon Linux
//      set runs on Debian too), behind a wrapper that puts them on LD_LIBRARY_PATH.
// The e2e test reads CHROMIUM_PATH, else the path written to .tools/chromium/path (case 4), else
// /usr/bin/chromium. `--registry` only installs case 4 and prints the wrapper's path (its test).
import { execFileSync, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { brotliDecompressSync } from 'node:zlib';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const TOOLS = path.join(ROOT, '.tools', 'chromium');
const PATH_FILE = path.join(TOOLS, 'path');
/** Pinned: the build whose Chromium was checked with playwright-core 1.65 (see scripts/README.md). */
const SPARTICUZ = '@sparticuz/chromium@153.0.0';

const log = (line) => process.stderr.write(`ensure-chromium: ${line}\n`);

function executable(file) {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name) {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    if (dir && executable(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}

function systemChromium() {
  if (executable('/usr/bin/chromium')) return '/usr/bin/chromium';
  return onPath('chromium') ?? onPath('chromium-browser');
}

/** Case 3: Debian's package, when this user may install packages. */
function installWithApt() {
  const root = process.getuid?.() === 0;
  if (!root && !onPath('sudo')) return null;
  if (!onPath('apt-get')) return null;
  const run = spawnSync('bash', [path.join(ROOT, 'scripts', 'install-chromium.sh')], { stdio: 'inherit' });
  return run.status === 0 ? systemChromium() : null;
}

/** Case 4: the registry-only fallback. Returns the wrapper's path. */
async function installFromRegistry() {
  mkdirSync(TOOLS, { recursive: true });
  const pkg = path.join(TOOLS, 'node_modules', '@sparticuz', 'chromium');
  const wanted = SPARTICUZ.slice(SPARTICUZ.lastIndexOf('@') + 1);
  const installed = existsSync(path.join(pkg, 'package.json'))
    ? JSON.parse(readFileSync(path.join(pkg, 'package.json'), 'utf8')).version
    : null;
  if (installed !== wanted) {
    log(`installing ${SPARTICUZ} from the npm registry into .tools/chromium …`);
    if (!existsSync(path.join(TOOLS, 'package.json')))
      writeFileSync(path.join(TOOLS, 'package.json'), '{"private":true}\n');
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
    execFileSync(npm, ['install', '--no-audit', '--no-fund', '--no-save', '--engine-strict=false', SPARTICUZ], {
      cwd: TOOLS,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
  // The package's own API unpacks the browser (and its fonts and SwiftShader) into the temp dir.
  const { default: chromium } = await import(pathToFileURL(path.join(pkg, 'build', 'index.js')).href);
  const binary = await chromium.executablePath();
  // Its NSS/NSPR/expat libraries (unpacked by the package only on Amazon Linux): brotli, then tar.
  const lib = path.join(TOOLS, 'al2023');
  if (!existsSync(path.join(lib, 'lib', 'libnss3.so'))) {
    rmSync(lib, { recursive: true, force: true });
    mkdirSync(lib, { recursive: true });
    const tar = path.join(TOOLS, 'al2023.tar');
    writeFileSync(tar, brotliDecompressSync(readFileSync(path.join(pkg, 'bin', 'al2023.tar.br'))));
    execFileSync('tar', ['-xf', tar, '-C', lib]);
    rmSync(tar);
  }
  const wrapper = path.join(TOOLS, 'chromium');
  writeFileSync(
    wrapper,
    `#!/bin/sh\n# Written by scripts/ensure-chromium.mjs: ${SPARTICUZ} with its bundled libraries.\n` +
      `LD_LIBRARY_PATH="${path.join(lib, 'lib')}\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "${binary}" "$@"\n`,
    { mode: 0o755 },
  );
  return wrapper;
}

async function main() {
  const registryOnly = process.argv.includes('--registry');
  if (!registryOnly) {
    const given = process.env.CHROMIUM_PATH;
    if (given) {
      if (!executable(given)) throw new Error(`CHROMIUM_PATH=${given} is not an executable file`);
      log(`using CHROMIUM_PATH (${given})`);
      return;
    }
    const found = systemChromium() ?? installWithApt();
    if (found) {
      // The e2e test falls back to /usr/bin/chromium; any other system path is written down.
      rmSync(PATH_FILE, { force: true });
      if (found !== '/usr/bin/chromium') writeFileSync(PATH_FILE, `${found}\n`);
      log(`using ${found}`);
      return;
    }
  }
  const wrapper = await installFromRegistry();
  // It must start: --version needs no display, no sandbox and no profile.
  const version = execFileSync(wrapper, ['--version'], { encoding: 'utf8', timeout: 60_000 }).trim();
  log(`${registryOnly ? 'installed' : 'using'} ${version} from ${SPARTICUZ} (${wrapper})`);
  // --registry only installs and prints the wrapper (for its test); the e2e test's choice is unchanged.
  if (registryOnly) process.stdout.write(`${wrapper}\n`);
  else writeFileSync(PATH_FILE, `${wrapper}\n`);
}

main().catch((error) => {
  log(`no browser for the e2e test: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
