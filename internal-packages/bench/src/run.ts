/**
 * Benchmark dispatcher: `pnpm bench <name> [--flags]` runs `src/<name>.ts`'s exported
 * `run(args)`. Without a known name it lists the benchmarks (exit 2; `--help` exits 0).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export interface Benchmark {
  /** One line for the list. */
  description: string;
  /** Runs the benchmark; resolves to the process exit code (0 unless it could not measure). */
  run(args: string[]): Promise<number>;
}

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const NOT_BENCHMARKS = new Set(['run']);

function available(): string[] {
  return fs
    .readdirSync(BENCH_DIR)
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'))
    .map((file) => file.slice(0, -3))
    .filter((name) => !NOT_BENCHMARKS.has(name))
    .sort();
}

async function load(name: string): Promise<Benchmark> {
  const module = (await import(pathToFileURL(path.join(BENCH_DIR, `${name}.ts`)).href)) as Partial<Benchmark>;
  if (typeof module.run !== 'function') throw new Error(`src/${name}.ts does not export run(args)`);
  return { description: module.description ?? '', run: module.run };
}

async function list(): Promise<string> {
  const lines = ['Usage: pnpm bench <name> [--flags]   (pnpm bench <name> --help for its flags)', '', 'Benchmarks:'];
  for (const name of available()) {
    const { description } = await load(name).catch(() => ({ description: '(does not load)' }));
    lines.push(`  ${name.padEnd(12)} ${description}`);
  }
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined || name === '--help' || name === '-h') {
    process.stdout.write(`${await list()}\n`);
    return name === undefined ? 2 : 0;
  }
  if (!available().includes(name)) {
    process.stderr.write(`Unknown benchmark "${name}".\n\n${await list()}\n`);
    return 2;
  }
  return (await load(name)).run(args);
}

process.exitCode = await main(process.argv.slice(2));
