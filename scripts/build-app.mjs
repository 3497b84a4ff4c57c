// Bundle a Node app for `pnpm start`: our workspace packages (TypeScript source) are inlined,
// third-party packages stay external and load from node_modules as usual.
import { build } from 'esbuild';

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
  plugins: [
    {
      name: 'external-node-modules',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) =>
          args.path.startsWith('@calseta/') ? undefined : { path: args.path, external: true },
        );
      },
    },
  ],
});
