#!/usr/bin/env node
// Run the pnpm version pinned in package.json, installing it into .tools/ when the machine has
// another version or none (needs only Node and npm). Nested `pnpm` calls see it on PATH.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const wanted = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')).packageManager.split('@')[1];
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`Calseta needs Node >= 20.19 (this is ${process.versions.node}).`);
  process.exit(1);
}

function versionOf(command) {
  try {
    return execFileSync(command, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

const toolsBin = path.join(root, '.tools', 'node_modules', '.bin');
let binDir = null;
if (versionOf('pnpm') !== wanted) {
  if (versionOf(path.join(toolsBin, 'pnpm')) !== wanted) {
    console.error(`Installing pnpm ${wanted} into .tools/ …`);
    execFileSync(
      'npm',
      [
        'install',
        '--prefix',
        path.join(root, '.tools'),
        '--no-audit',
        '--no-fund',
        '--loglevel=error',
        `pnpm@${wanted}`,
      ],
      {
        stdio: 'inherit',
      },
    );
  }
  binDir = toolsBin;
}
if (binDir && !existsSync(path.join(binDir, 'pnpm'))) {
  console.error('pnpm could not be installed.');
  process.exit(1);
}

const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1' };
if (binDir) env.PATH = `${binDir}${path.delimiter}${env.PATH}`;
const child = spawn('pnpm', process.argv.slice(2), { stdio: 'inherit', env, cwd: root });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
