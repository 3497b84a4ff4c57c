import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';

/**
 * `calseta plugin new <source|provider> <name>`: a working community plugin package in
 * `community-plugins/<name>` — package.json, src, a sample fixture, a conformance test (passing as
 * generated), README — and `docs/integrations/<name>/api_notes.md` to fill in. Written only against
 * `@calseta/plugin-sdk`, like every community plugin.
 */

export type PluginKind = 'source' | 'provider';

export interface NewPluginOptions {
  kind: PluginKind;
  /** kebab-case, e.g. `acme-edr`: the directory, `@calseta-community/<name>`, and (snake_case) the source/provider name. */
  name: string;
  /** The repository root (community-plugins/ and docs/integrations/ go under it). */
  root: string;
}

export interface NewPluginResult {
  packageDir: string;
  packageName: string;
  /** The id in `POST /v1/ingest/{id}` or the `provider_name`. */
  id: string;
  files: string[];
}

const NAME = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;

export function pluginNameProblem(name: string): string | undefined {
  if (!NAME.test(name) || name.length > 50) {
    return `plugin name "${name}" must be kebab-case (a-z, 0-9, single hyphens), at most 50 characters`;
  }
  return undefined;
}

function title(name: string): string {
  return name
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join(' ');
}

function camel(name: string): string {
  const [head = '', ...rest] = name.split('-');
  return head + rest.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

function json(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function packageJson(packageName: string, description: string, extraExports: Record<string, string> = {}): string {
  return json({
    name: packageName,
    version: '0.1.0',
    private: true,
    description,
    type: 'module',
    license: 'Apache-2.0',
    // Run time (`pnpm start`, the Docker image) imports the built bundle; TypeScript, vitest and
    // `pnpm dev` (the `development` condition) read the sources, so nothing needs a build first.
    exports: {
      '.': { types: './src/index.ts', development: './src/index.ts', default: './dist/index.js' },
      ...extraExports,
    },
    files: ['dist', ...Object.values(extraExports).map((f) => f.replace(/^\.\//, ''))],
    scripts: { typecheck: 'tsc --noEmit -p .', build: 'node ../../scripts/build-app.mjs src/index.ts dist/index.js' },
    dependencies: { '@calseta/plugin-sdk': 'workspace:*' },
    devDependencies: {},
  });
}

const TSCONFIG =
  '{ "extends": "../../tsconfig.base.json", "compilerOptions": { "noEmit": true }, "include": ["src", "test"] }\n';

// ------------------------------------------------------------------ alert source templates

function sourceFiles(name: string, id: string, packageName: string): Record<string, string> {
  const display = title(name);
  const v = `${camel(name)}Source`;
  return {
    'package.json': packageJson(packageName, `${display} alert source for Calseta.`),
    'tsconfig.json': TSCONFIG,
    'src/index.ts': `/**
 * ${packageName} — ${display} alerts as a Calseta alert source (\`POST /v1/ingest/${id}\`).
 * Enable with \`CALSETA_PLUGINS=${packageName}\`.
 */
import { definePlugin } from '@calseta/plugin-sdk';
import { ${v} } from './source.js';

export { ${v} } from './source.js';

export const plugin = definePlugin({ name: '${packageName}', sources: [${v}] });
`,
    'src/source.ts': `/**
 * ${display} alerts. TODO: describe the payload shape (webhook or API) and link
 * docs/integrations/${name}/api_notes.md. Every method is pure, synchronous and never throws.
 */
import {
  COMMON_SEVERITIES,
  collectIndicators,
  defineAlertSource,
  detectionRuleRef,
  type ExtractedIndicator,
  getPath,
  hmacSignature,
  indicator,
  isRecord,
  mapSeverity,
  type NormalizedAlertInput,
  type PayloadIssue,
  parseTimestamp,
  str,
  type ValidationResult,
} from '@calseta/plugin-sdk';

const NAME = '${id}';

function validate(raw: unknown): ValidationResult {
  if (!isRecord(raw)) return { ok: false, issues: [{ path: '', message: 'expected a ${display} alert object' }] };
  const issues: PayloadIssue[] = [];
  if (str(raw.id) === undefined) issues.push({ path: 'id', message: 'the alert id is required' });
  if (str(raw.title) === undefined) issues.push({ path: 'title', message: 'the alert title is required' });
  return issues.length === 0 ? { ok: true } : { ok: false, issues };
}

function normalize(raw: unknown): NormalizedAlertInput {
  const alert: NormalizedAlertInput = {
    title: str(getPath(raw, 'title')) ?? '${display} alert',
    severity: mapSeverity(getPath(raw, 'severity'), COMMON_SEVERITIES),
    occurred_at: parseTimestamp(getPath(raw, 'created_at')),
    source_name: NAME,
    description: str(getPath(raw, 'description')) ?? null,
    tags: ['${name}'],
    extra: {},
  };
  const fields = {
    src_ip: str(getPath(raw, 'source_ip')),
    src_hostname: str(getPath(raw, 'hostname')),
    actor_username: str(getPath(raw, 'user')),
    file_hash_sha256: str(getPath(raw, 'file_sha256')),
  };
  for (const [key, value] of Object.entries(fields)) if (value !== undefined) Object.assign(alert, { [key]: value });
  return alert;
}

function extractIndicators(raw: unknown): ExtractedIndicator[] {
  return collectIndicators([
    indicator('ip', getPath(raw, 'source_ip'), 'source_ip'),
    indicator('domain', getPath(raw, 'hostname'), 'hostname'),
    indicator('account', getPath(raw, 'user'), 'user'),
    indicator('hash_sha256', getPath(raw, 'file_sha256'), 'file_sha256'),
  ]);
}

export const ${v} = defineAlertSource({
  name: NAME,
  displayName: '${display}',
  validate,
  normalize,
  extractIndicators,
  detectionRule: (raw) =>
    detectionRuleRef({
      source_rule_id: str(getPath(raw, 'rule.id')),
      name: str(getPath(raw, 'rule.name')),
    }),
  // TODO: the vendor's signature scheme (or sharedSecretHeader) — see api_notes.md.
  verifySignature: hmacSignature('x-${name}-signature'),
  documentedExtractions: [
    { field_path: 'source_ip', indicator_type: 'ip', description: 'Source IP address' },
    { field_path: 'hostname', indicator_type: 'domain', description: 'Host name' },
    { field_path: 'user', indicator_type: 'account', description: 'User' },
    { field_path: 'file_sha256', indicator_type: 'hash_sha256', description: 'SHA-256 of the file' },
  ],
});
`,
    'fixtures/sample-alert.json': json({
      id: 'a-1001',
      title: 'Suspicious login from a Tor exit node',
      description: 'TODO: replace with a real (anonymized) payload recorded from the vendor.',
      severity: 'high',
      created_at: '2026-01-15T08:30:00Z',
      source_ip: '185.220.101.34',
      hostname: 'ws-0142.corp.example',
      user: 'jsmith',
      file_sha256: 'a0e2b6bd2e0f6e3c5d74b3a1c9c3b5a8e2f64a1d9b7c4e3f2a1b0c9d8e7f6a5b',
      rule: { id: 'rule-42', name: 'Login from anonymizer' },
    }),
    'test/suite.ts': `import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { AlertSourceSuite } from '@calseta/plugin-sdk/testing';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(\`../fixtures/\${name}.json\`, import.meta.url), 'utf8'));

/** What the conformance kit checks: add every recorded payload shape you support. */
export const suite: AlertSourceSuite = {
  valid: [
    {
      name: 'sample alert',
      payload: fixture('sample-alert'),
      expect: {
        title: 'Suspicious login from a Tor exit node',
        severity: 'High',
        occurred_at: '2026-01-15T08:30:00.000Z',
        detection_rule_id: 'rule-42',
        indicators: [
          { type: 'ip', value: '185.220.101.34' },
          { type: 'account', value: 'jsmith' },
        ],
      },
    },
  ],
  invalid: [{ name: 'no id', payload: { title: 'x' } }],
  severities: [{ name: 'critical', payload: { id: '1', title: 't', severity: 'CRITICAL' }, severity: 'Critical' }],
  signature: {
    secret: 'test-secret',
    sign: (body, secret) => ({
      'x-${name}-signature': createHmac('sha256', secret).update(body).digest('hex'),
    }),
  },
};
`,
    'test/conformance.test.ts': `import { alertSourceConformance } from '@calseta/plugin-sdk/testing';
import { describe, it } from 'vitest';
import { ${v} } from '../src/index.js';
import { suite } from './suite.js';

alertSourceConformance(${v}, suite, { describe, it });
`,
  };
}

// ------------------------------------------------------------------ enrichment provider templates

function providerFiles(name: string, id: string, packageName: string): Record<string, string> {
  const display = title(name);
  const v = `${camel(name)}Provider`;
  const envVar = `CALSETA_PROVIDER_${id.toUpperCase()}_API_KEY`;
  const response = (score: number, label: string) => ({
    data: { indicator: '185.220.101.34', score, label, last_seen: '2026-01-14', reports: score > 0 ? 12 : 0 },
  });
  return {
    'package.json': packageJson(packageName, `${display} enrichment provider for Calseta.`, {
      './provider.json': './provider.json',
    }),
    'tsconfig.json': TSCONFIG,
    'provider.json': json({
      provider: {
        provider_name: id,
        display_name: display,
        description: `TODO: what ${display} answers about an indicator.`,
        supported_indicator_types: ['ip'],
        auth_type: 'api_key',
        env_var_mapping: { api_key: envVar },
        http_config: {
          steps: [
            {
              name: 'lookup',
              method: 'GET',
              url: 'https://api.example.com/v1/ip/{{indicator.value}}',
              headers: { Authorization: 'Bearer {{auth.api_key}}', Accept: 'application/json' },
              timeout_seconds: 15,
              expected_status: [200],
              not_found_status: [404],
            },
          ],
        },
        malice_rules: {
          rules: [
            { field: 'data.score', operator: '>=', value: 80, verdict: 'Malicious' },
            { field: 'data.score', operator: '>=', value: 40, verdict: 'Suspicious' },
          ],
          default_verdict: 'Benign',
          not_found_verdict: 'Pending',
        },
        cache_ttl_by_type: { ip: 3600 },
      },
      field_extractions: [
        { indicator_type: 'ip', source_path: 'data.score', target_key: 'score', value_type: 'int' },
        { indicator_type: 'ip', source_path: 'data.label', target_key: 'label', value_type: 'string' },
        { indicator_type: 'ip', source_path: 'data.last_seen', target_key: 'last_seen', value_type: 'string' },
      ],
    }),
    'src/index.ts': `/**
 * ${packageName} — ${display} as a Calseta enrichment provider. The definition is data
 * (\`provider.json\`, importable with \`pnpm calseta providers import\`); this module declares it for
 * \`CALSETA_PLUGINS=${packageName}\`, which installs it at startup.
 */
import { defineEnrichmentProvider, definePlugin, type EnrichmentProviderPluginInput } from '@calseta/plugin-sdk';
import definition from '../provider.json' with { type: 'json' };

export const ${v} = defineEnrichmentProvider(definition as EnrichmentProviderPluginInput);

export const plugin = definePlugin({ name: '${packageName}', providers: [${v}] });
`,
    'fixtures/malicious.json': json(response(93, 'malicious')),
    'fixtures/suspicious.json': json(response(55, 'scanner')),
    'fixtures/benign.json': json(response(0, 'clean')),
    'test/suite.ts': `import { readFileSync } from 'node:fs';
import type { EnrichmentProviderSuite } from '@calseta/plugin-sdk/testing';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(\`../fixtures/\${name}.json\`, import.meta.url), 'utf8'));

/** Recorded responses (secrets removed) and what the provider must make of them. */
export const suite: EnrichmentProviderSuite = {
  responses: [
    {
      name: 'malicious',
      indicator: { type: 'ip', value: '185.220.101.34' },
      response: fixture('malicious'),
      verdict: 'Malicious',
      fields: { score: 93, label: 'malicious', last_seen: '2026-01-14' },
    },
    {
      name: 'suspicious',
      indicator: { type: 'ip', value: '185.220.101.34' },
      response: fixture('suspicious'),
      verdict: 'Suspicious',
    },
    {
      name: 'benign',
      indicator: { type: 'ip', value: '185.220.101.34' },
      response: fixture('benign'),
      verdict: 'Benign',
    },
  ],
};
`,
    'test/conformance.test.ts': `import { enrichmentProviderConformance } from '@calseta/plugin-sdk/testing';
import { describe, it } from 'vitest';
import { ${v} } from '../src/index.js';
import { suite } from './suite.js';

enrichmentProviderConformance(${v}, suite, { describe, it });
`,
  };
}

function readme(kind: PluginKind, name: string, id: string, packageName: string): string {
  const display = title(name);
  const use =
    kind === 'source'
      ? `Alerts arrive at \`POST /v1/ingest/${id}\`.`
      : `Enriches indicators (see \`provider.json\`); credentials come from \`CALSETA_PROVIDER_${id.toUpperCase()}_API_KEY\`.`;
  return `# ${packageName}

${display} ${kind === 'source' ? 'alert source' : 'enrichment provider'} for Calseta, built only on \`@calseta/plugin-sdk\`.
${use} API notes: [\`docs/integrations/${name}/api_notes.md\`](../../docs/integrations/${name}/api_notes.md).

## Enable

\`\`\`sh
CALSETA_PLUGINS=${packageName} pnpm dev
\`\`\`

## Test

\`\`\`sh
npx vitest run community-plugins/${name}
\`\`\`

The suite (\`test/suite.ts\`) feeds the conformance kit (\`@calseta/plugin-sdk/testing\`) the recorded
fixtures in \`fixtures/\`: replace the samples with real, anonymized ${kind === 'source' ? 'payloads' : 'responses'}.
`;
}

function apiNotes(kind: PluginKind, name: string, id: string): string {
  const display = title(name);
  return `# ${display} — API notes

TODO: fill in from the vendor's documentation before writing the mapping.

## Endpoints used

| purpose | method and path | notes |
| ------- | --------------- | ----- |
| TODO    | TODO            | TODO  |

## Authentication

TODO: key, token or OAuth2 client credentials; header name; where an admin creates it; least privileges.

## Rate limits

TODO: per minute / per day, what a 429 looks like (Retry-After?).

## Payload / response fields

| field | meaning | ${kind === 'source' ? 'normalized as |\n| ----- | ------- | ------------- |\n| TODO  | TODO    | TODO          |' : 'used for |\n| ----- | ------- | -------- |\n| TODO  | TODO    | TODO     |'}

## How the plugin maps it

${
  kind === 'source'
    ? `Source name \`${id}\`. TODO: title, severity table, occurred_at, indicators (type ← field), detection rule.`
    : `Provider \`${id}\`. TODO: malice rules (first match wins) and field extractions.`
}
`;
}

/** Write the package (refuses to overwrite). */
export async function createPlugin(options: NewPluginOptions): Promise<NewPluginResult> {
  const problem = pluginNameProblem(options.name);
  if (problem) throw new Error(problem);
  const { kind, name, root } = options;
  const id = name.replaceAll('-', '_');
  const packageName = `@calseta-community/${name}`;
  const packageDir = join(root, 'community-plugins', name);
  const notes = join(root, 'docs', 'integrations', name, 'api_notes.md');
  if (existsSync(packageDir)) throw new Error(`${relative(root, packageDir)} already exists`);
  const files: Record<string, string> = {
    ...(kind === 'source' ? sourceFiles(name, id, packageName) : providerFiles(name, id, packageName)),
    'README.md': readme(kind, name, id, packageName),
  };
  const written: string[] = [];
  for (const [file, content] of Object.entries(files)) {
    const path = join(packageDir, file);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, content, { flag: 'wx' });
    written.push(path);
  }
  if (!existsSync(notes)) {
    await mkdir(dirname(notes), { recursive: true });
    await writeFile(notes, apiNotes(kind, name, id), { flag: 'wx' });
    written.push(notes);
  }
  return { packageDir, packageName, id, files: written };
}

/**
 * Add the package to the root package.json's devDependencies (`workspace:*`, sorted) so its name
 * resolves from the repository — what `CALSETA_PLUGINS=<package>` needs. Returns false when the root
 * has no package.json or already lists it.
 */
export async function linkAtRoot(root: string, packageName: string): Promise<boolean> {
  const file = join(root, 'package.json');
  if (!existsSync(file)) return false;
  const pkg = JSON.parse(await readFile(file, 'utf8')) as { devDependencies?: Record<string, string> };
  const dev = pkg.devDependencies ?? {};
  if (Object.hasOwn(dev, packageName)) return false;
  dev[packageName] = 'workspace:*';
  pkg.devDependencies = Object.fromEntries(Object.entries(dev).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  await writeFile(file, json(pkg));
  return true;
}

/** `calseta plugin new <source|provider> <name> [--dir <repo root>] [--no-install]`. */
export async function runPluginNew(args: readonly string[], cwd: string): Promise<string> {
  const [kind, name, ...flags] = args;
  if ((kind !== 'source' && kind !== 'provider') || name === undefined) {
    throw new Error('usage: calseta plugin new <source|provider> <name> [--dir <repo root>] [--no-install]');
  }
  const dirFlag = flags.indexOf('--dir');
  const root = dirFlag >= 0 && flags[dirFlag + 1] ? (flags[dirFlag + 1] as string) : cwd;
  const result = await createPlugin({ kind, name, root });
  const lines = [
    `Created ${result.packageName} (${kind} "${result.id}") in ${relative(cwd, result.packageDir) || '.'}:`,
    ...result.files.map((f) => `  ${relative(cwd, f)}`),
  ];
  const install = !flags.includes('--no-install') && existsSync(join(root, 'scripts', 'pnpm.mjs'));
  if (install) {
    if (await linkAtRoot(root, result.packageName)) {
      lines.push(`  package.json (devDependencies: ${result.packageName})`);
    }
    // Links the new workspace package (no registry download: it depends only on the SDK).
    const run = spawnSync(process.execPath, [join(root, 'scripts', 'pnpm.mjs'), 'install'], {
      cwd: root,
      stdio: 'inherit',
    });
    if (run.status !== 0) lines.push('pnpm install failed: run `node scripts/pnpm.mjs install` yourself.');
  }
  lines.push(
    '',
    'Next:',
    ...(install
      ? []
      : [
          `  add "${result.packageName}": "workspace:*" to the root devDependencies, then`,
          '  node scripts/pnpm.mjs install            # link the package',
        ]),
    `  npx vitest run community-plugins/${name}   # the conformance test passes as generated`,
    `  edit docs/integrations/${name}/api_notes.md, then src/, fixtures/ and test/suite.ts`,
    `  CALSETA_PLUGINS=${result.packageName} pnpm dev`,
  );
  return lines.join('\n');
}
