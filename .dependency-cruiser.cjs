/**
 * Layer rules (issue 19, docs/adr/0013-core-layers.md): `pnpm check:layers`, part of `npm test`.
 *
 * Core reads in one direction: `infra/` ← entity folders ← top (src/*.ts, pipeline/, system/).
 * No import cycle anywhere in the workspace's src folders (apps, packages, internal-packages,
 * community-plugins), between files or between folders.
 * Type-only imports count: a type that points the wrong way is a knot a reader must untie too.
 */
const core = '^packages/core/src';
const top = `${core}/(?:[^/]+\\.ts$|pipeline/|system/|testing/)`;

module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment: 'Modules import each other in a circle: move the shared piece down a layer.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-folder-cycle',
      comment: 'Two folders import each other: one of them must be the lower layer.',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'infra-is-the-bottom',
      comment: 'core/src/infra imports only infra (and packages): no entity folder, nothing from the top.',
      severity: 'error',
      from: { path: `${core}/infra/` },
      to: { path: `${core}/`, pathNot: `${core}/infra/` },
    },
    {
      name: 'entities-below-the-top',
      comment: 'Entity folders never import the top (composition, job handlers, bootstrap, index.ts).',
      severity: 'error',
      from: { path: `${core}/[^/]+/`, pathNot: top },
      to: { path: top },
    },
    {
      name: 'core-reaches-integrations-through-ports',
      comment:
        'Core reaches first-party integrations like community ones: the composition root fills infra/integrations.ts.',
      severity: 'error',
      from: { path: `${core}/` },
      to: { path: '^packages/integrations/' },
    },
    {
      name: 'core-by-package-name',
      comment: 'Other packages and apps import core as @calseta/core, never a path into core/src.',
      severity: 'error',
      from: { pathNot: `${core}/` },
      // A package-name import resolves into core/src too (its exports map); only a relative path is a breach.
      to: { path: `${core}/`, dependencyTypes: ['local'] },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    doNotFollow: { path: 'node_modules' },
    // Tests are leaves (nothing imports them): they may reach any layer to set up what they test.
    exclude: { path: ['node_modules', '/dist/', '\\.test\\.ts$'] },
    // Resolve workspace packages through their exports maps, so a cycle between packages counts too
    // (without these every @calseta/* import is left unresolved and the rules never see it).
    enhancedResolveOptions: {
      extensions: ['.ts', '.tsx', '.js', '.mjs'],
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
