/**
 * @calseta/core/testing — a core on a test database with an admin key, for tests, the chaos suite
 * and the benchmarks: what each of them used to assemble by hand (a pool, a job queue, createCore,
 * createApiKey, and the closing of all of it in the right order).
 *
 *   const core = await createTestCore({ integrations: firstParty });              // fresh test database (vitest global setup)
 *   const core = await createTestCore({ integrations: firstParty, databaseUrl }); // a database the caller runs
 *   await fetch(url, { headers: { authorization: `Bearer ${core.adminKey}` } });
 *   await core.close();
 *
 * Imports core only through its public index, like any other caller.
 */
import { createDb } from '@calseta/db';
import type { ApiKeyCreate } from '@calseta/schema';
import {
  type Core,
  type CoreConfig,
  type CoreDeps,
  contextFor,
  createApiKey,
  createCore,
  createLogger,
  type Integrations,
  JobQueue,
  type LoadedPlugins,
  type Logger,
  SYSTEM,
  seedSystemRows,
} from '../index.js';

export { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver, traceToReceiver } from './otlp-receiver.js';

export interface TestCoreOptions {
  /**
   * The database to use (already migrated): a pool is opened on it and closed by `close()`. Default:
   * a fresh database from `@calseta/db/testing` (needs its vitest global setup), dropped by `close()`.
   */
  databaseUrl?: string;
  /** Merged over `{ dedupWindowHours: 24, webhookSecrets: {} }`. */
  config?: Partial<CoreConfig>;
  /** Default: silent. */
  logger?: Logger;
  /** Start the job queue (creates pg-boss's queues): needed to send or work jobs in this process. */
  startQueue?: boolean;
  /** Connections of the queue's pool (default 2). */
  queueConnections?: number;
  /** Wrap the queue core is given (fault injection); `TestCore.queue` stays the real one. */
  wrapQueue?: (queue: JobQueue) => JobQueue;
  /** What the app's composition root would hand core: `firstParty` from `@calseta/integrations`, or `NO_INTEGRATIONS`. */
  integrations: Integrations;
  /** Plugin sources to register (`loadPlugins`). */
  plugins?: LoadedPlugins;
  /** Seed the system rows (builtin providers, …) as `calseta migrate` does. */
  seed?: boolean;
  /** Name of the admin key (default `test-admin`). */
  adminKeyName?: string;
}

export interface TestCore {
  deps: CoreDeps;
  /** The real job queue (started when `startQueue`), whatever `wrapQueue` gave core. */
  queue: JobQueue;
  databaseUrl: string;
  /** An API key with the admin scope. */
  adminKey: string;
  /** Another key, named `test` unless given. */
  createKey(input: Partial<ApiKeyCreate> & { scopes: ApiKeyCreate['scopes'] }): Promise<string>;
  /** Stop the queue, close core's clients and the pool, drop the database when this kit created it. */
  close(): Promise<void>;
}

export async function createTestCore(options: TestCoreOptions): Promise<TestCore> {
  const database = options.databaseUrl
    ? { url: options.databaseUrl, ...ownPool(options.databaseUrl) }
    : // Loaded only here: it reads the vitest global setup, which a benchmark does not have.
      await import('@calseta/db/testing').then(({ createTestDatabase }) => createTestDatabase());
  const logger = options.logger ?? createLogger({ service: 'test', level: 'silent' });
  const queue = new JobQueue({
    url: database.url,
    logger,
    supervise: false,
    maxConnections: options.queueConnections ?? 2,
  });
  let deps: Core | undefined;
  const close = async () => {
    if (options.startQueue) await queue.stop();
    await deps?.close();
    await database.drop();
  };
  try {
    if (options.startQueue) await queue.start();
    deps = createCore({
      db: database.db,
      queue: options.wrapQueue ? options.wrapQueue(queue) : queue,
      logger,
      integrations: options.integrations,
      ...(options.plugins ? { plugins: options.plugins } : {}),
      config: { dedupWindowHours: 24, webhookSecrets: {}, ...options.config },
    });
    if (options.seed) await seedSystemRows(deps);
    const core = deps;
    const createKey: TestCore['createKey'] = async (input) =>
      (await createApiKey(contextFor(core, SYSTEM), { name: 'test', ...input })).key;
    const adminKey = await createKey({ name: options.adminKeyName ?? 'test-admin', scopes: ['admin'] });
    return { deps, queue, databaseUrl: database.url, adminKey, createKey, close };
  } catch (error) {
    await close().catch(() => undefined);
    throw error;
  }
}

/** A small pool on a database someone else runs: `drop` only closes it. */
function ownPool(url: string) {
  const { db } = createDb({ url, max: 2, applicationName: 'calseta-test-core' });
  return { db, drop: () => db.destroy() };
}
