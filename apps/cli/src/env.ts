import path from 'node:path';
import { ProcessEnvSchema, parseProcessEnv, providerEnvFrom } from '@calseta/core';
import { z } from 'zod';

/** The CLI's configuration: the only place that reads process.env. */
const EnvSchema = z.object({
  DATABASE_URL: z.string().optional(),
  CALSETA_DATA_DIR: z.string().default('.calseta'),
  API_PORT: z.coerce.number().int().default(8000),
  MCP_PORT: z.coerce.number().int().default(8001),
  LOG_LEVEL: z.string().default('info'),
  /** `pretty` (default on a terminal) or `json` for the children's logs. */
  LOG_FORMAT: z.enum(['pretty', 'json']).optional(),
  /** `pnpm dev` serves the builtin providers from the local mock unless credentials exist; `false` turns that off. */
  CALSETA_MOCK_PROVIDERS: z.enum(['auto', 'true', 'false']).default('auto'),
  /** `pnpm dev` runs the demo: the example triage agent, a containment workflow, the case-study alerts (first run). */
  CALSETA_DEMO: z.enum(['true', 'false']).default('true'),
  /** Hosts outbound calls may reach although internal (passed on to the apps, with the demo's own). */
  SSRF_ALLOWED_HOSTS: z.string().optional(),
  /** The API key `calseta mcp --stdio` acts with. */
  CALSETA_API_KEY: z.string().optional(),
});
export type Env = z.infer<typeof EnvSchema> & {
  dataDir: string;
  /** Provider credentials from the environment (builtin env vars, CALSETA_PROVIDER_*). */
  providerEnv: Record<string, string>;
};

export function loadEnv(): Env {
  const env = EnvSchema.parse(process.env);
  return { ...env, dataDir: path.resolve(env.CALSETA_DATA_DIR), providerEnv: providerEnvFrom(process.env) };
}

/** The environment a child process (api, worker) starts with. */
export function childEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  return { ...process.env, ...overrides };
}

/**
 * NODE_OPTIONS of a child: the app's node flags, then the inherited NODE_OPTIONS (the later of two
 * values of a flag wins: the user's), and under `dev` the `development` export condition — dev runs
 * the TypeScript sources: workspace packages that export built files for `start` (the community
 * plugins CALSETA_PLUGINS loads) export their sources under it.
 */
export function childNodeOptions(flags: readonly string[], dev: boolean): string {
  return [...flags, process.env.NODE_OPTIONS ?? '', dev ? '--conditions=development' : '']
    .filter((part) => part !== '')
    .join(' ');
}

/**
 * The settings the api, worker and mcp processes read, for a command that runs core in this
 * process (`mcp --stdio`): the environment wins; the data dir's key is the fallback.
 */
export function coreProcessEnv(databaseUrl: string, encryptionKey: string) {
  return parseProcessEnv(
    ProcessEnvSchema,
    { ENCRYPTION_KEY: encryptionKey, ...process.env, DATABASE_URL: databaseUrl },
    'CLI',
  );
}
