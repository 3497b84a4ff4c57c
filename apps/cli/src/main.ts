#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  contextFor,
  createApiKey,
  grantAdmin,
  importEnrichmentProvider,
  ServiceError,
  SYSTEM,
  sharedCoreConfig,
} from '@calseta/core';
import { createDb } from '@calseta/db';
import { ApiKeyTypeSchema, ScopeSchema } from '@calseta/schema';
import { seedDemo } from '@calseta/seeds';
import { openCore } from './core.js';
import { migrate, openDatabase } from './database.js';
import { coreProcessEnv, loadEnv } from './env.js';
import { ensureEncryptionKey } from './first-run.js';
import { runStack } from './stack.js';

const USAGE = `calseta <command>

  dev                      run the API and worker with live reload (embedded Postgres unless DATABASE_URL)
  start                    the same from built output, supervised
  migrate                  apply database migrations
  db                       run the embedded Postgres in the foreground and print its URL
  api-key create --name N --scopes a,b [--type human|agent] [--expires-at ISO]
                           create an API key; prints only the key
  mcp --stdio              serve MCP over stdio for a desktop agent (key in CALSETA_API_KEY)
  users grant-admin <email>
                           make the person with this email an admin (now, or at their first sign-in)
  seed demo                ingest the demo alerts through the normal pipeline
  providers import <file>  add an enrichment provider (+ field extractions) from a JSON file
  plugin new <source|provider> <name> [--dir <repo root>] [--no-install]
                           scaffold community-plugins/<name> (passing conformance test) + api_notes stub
  mock-providers [--port 8090 --latency 50 --error-rate 0.1 --rate-limit-every 5 ...]
                           run local VirusTotal/AbuseIPDB/Okta/Entra look-alikes (dev, tests, benchmarks)
`;

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

async function withDatabase<T>(run: (url: string) => Promise<T>): Promise<T> {
  const env = loadEnv();
  const database = await openDatabase(env);
  try {
    await migrate(database.url);
    return await run(database.url);
  } finally {
    await database.stop();
  }
}

async function main(argv: string[]): Promise<void> {
  const [commandName, ...rest] = argv;
  switch (commandName) {
    case 'dev':
    case 'start':
      return runStack(loadEnv(), commandName);
    case 'migrate': {
      const database = await openDatabase(loadEnv());
      try {
        const applied = await migrate(database.url);
        // Also install the job queue's schema and the system rows, so that processes started after
        // this (docker compose's api, worker and mcp, all at once) never race to create them.
        await (await openCore(database.url)).close();
        process.stdout.write(applied.length ? `Applied: ${applied.join(', ')}\n` : 'Already up to date.\n');
      } finally {
        await database.stop();
      }
      return;
    }
    case 'db': {
      const database = await openDatabase(loadEnv());
      await migrate(database.url);
      process.stdout.write(`${database.url}\n`);
      if (database.kind !== 'embedded') return;
      process.stderr.write('Embedded Postgres running; Ctrl-C to stop.\n');
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await database.stop();
      return;
    }
    case 'api-key': {
      if (rest[0] !== 'create') fail(USAGE);
      const { values } = parseArgs({
        args: rest.slice(1),
        options: {
          name: { type: 'string' },
          scopes: { type: 'string' },
          type: { type: 'string', default: 'human' },
          'expires-at': { type: 'string' },
        },
      });
      if (!values.name || !values.scopes) fail('api-key create needs --name and --scopes (comma-separated)');
      const scopes = values.scopes
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      const unknown = scopes.filter((s) => !ScopeSchema.safeParse(s).success);
      if (unknown.length > 0) fail(`Unknown scope(s): ${unknown.join(', ')}. Known: ${ScopeSchema.options.join(', ')}`);
      const type = ApiKeyTypeSchema.safeParse(values.type);
      if (!type.success) fail('--type is human or agent');
      const key = await withDatabase(async (url) => {
        const core = await openCore(url);
        try {
          return await createApiKey(contextFor(core.deps, SYSTEM), {
            name: values.name as string,
            scopes: scopes as never,
            key_type: type.data,
            expires_at: values['expires-at'] ?? null,
          });
        } finally {
          await core.close();
        }
      });
      process.stdout.write(`${key.key}\n`);
      return;
    }
    case 'users': {
      const email = rest[1];
      if (rest[0] !== 'grant-admin' || !email) fail(USAGE);
      const granted = await withDatabase(async (url) => {
        const { db } = createDb({ url, max: 1, applicationName: 'calseta-cli' });
        try {
          return await grantAdmin(db, email);
        } finally {
          await db.destroy();
        }
      });
      process.stdout.write(
        granted.created
          ? `No one has signed in as ${email} yet: they are admin from their first sign-in (verified email).\n`
          : `Granted admin to ${granted.users} user(s) with ${email}.\n`,
      );
      return;
    }
    case 'seed': {
      if (rest[0] !== 'demo') fail(USAGE);
      const summary = await withDatabase(async (url) => {
        const core = await openCore(url);
        try {
          return await seedDemo(core.deps);
        } finally {
          await core.close();
        }
      });
      process.stdout.write(`${summary}\n`);
      return;
    }
    case 'providers': {
      if (rest[0] !== 'import' || rest[1] === undefined) fail(USAGE);
      const file = JSON.parse(await readFile(rest[1], 'utf8')) as Parameters<typeof importEnrichmentProvider>[1];
      const imported = await withDatabase(async (url) => {
        const core = await openCore(url);
        try {
          return await importEnrichmentProvider(contextFor(core.deps, SYSTEM), file);
        } finally {
          await core.close();
        }
      });
      const { provider, field_extractions } = imported;
      process.stdout.write(
        `Imported ${provider.provider_name} (${provider.uuid}) with ${field_extractions.length} field extraction(s); ` +
          `${provider.is_configured ? 'configured' : 'needs credentials'}.\n`,
      );
      return;
    }
    case 'mcp': {
      if (rest[0] !== '--stdio') fail('mcp --stdio (pnpm dev / pnpm start serve MCP over HTTP on :8001)');
      const apiKey = loadEnv().CALSETA_API_KEY;
      if (!apiKey) fail('mcp --stdio needs the API key in CALSETA_API_KEY');
      const { serveStdio } = await import('@calseta/mcp');
      // stdout carries the protocol: logs go to stderr.
      const encryptionKey = await ensureEncryptionKey(loadEnv().dataDir);
      await withDatabase(async (url) => {
        // Configured like the MCP server (providers, outbound policy, secrets), logging to stderr.
        const config = sharedCoreConfig(coreProcessEnv(url, encryptionKey));
        const core = await openCore(url, { logTo: 'stderr', config });
        try {
          await serveStdio(core.deps, { apiKey });
        } finally {
          await core.close();
        }
      });
      return;
    }
    case 'plugin': {
      if (rest[0] !== 'new') fail(USAGE);
      const { runPluginNew } = await import('./plugin-new.js');
      process.stdout.write(`${await runPluginNew(rest.slice(1), process.cwd())}\n`);
      return;
    }
    case 'mock-providers': {
      const { runMockProvidersCli } = await import('@calseta/mock-providers/main');
      await runMockProvidersCli(rest);
      return;
    }
    default:
      process.stdout.write(USAGE);
      if (commandName && commandName !== 'help' && commandName !== '--help') process.exitCode = 2;
  }
}

await main(process.argv.slice(2)).catch((error: unknown) => {
  // A refused operation is the user's to fix: say what and where, without a stack trace.
  if (error instanceof ServiceError) {
    const details = error.details ? `\n${JSON.stringify(error.details, null, 2)}` : '';
    process.stderr.write(`${error.code}: ${error.message}${details}\n`);
    process.exit(2);
  }
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
