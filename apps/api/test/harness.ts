import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import {
  type CoreConfig,
  type CoreDeps,
  createCore,
  createLogger,
  installPluginProviders,
  type JobOutcome,
  JobQueue,
  loadPlugins,
  parseAllowedHosts,
  providerEnvFrom,
} from '@calseta/core';
import { createTestCore } from '@calseta/core/testing';
import { createDb } from '@calseta/db';
import { firstParty } from '@calseta/integrations';
import {
  type MockProvidersOptions,
  type MockProvidersServer,
  mockProviderEnv,
  startMockProviders,
} from '@calseta/mock-providers';
import type { ApiKeyCreate } from '@calseta/schema';
import { startWorker } from '@calseta/worker';
import { serve } from '@hono/node-server';
import { createApp } from '../src/app.js';
import type { SecurityOptions } from '../src/types.js';

export interface RequestOptions {
  key?: string | null;
  json?: unknown;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
}

export interface Harness {
  baseUrl: string;
  /** The test database's URL (for a second process's core). */
  databaseUrl: string;
  deps: CoreDeps;
  adminKey: string;
  /** The mock provider server, when started (`mockProviders`). */
  mock: MockProvidersServer | undefined;
  request(
    method: string,
    path: string,
    options?: RequestOptions,
  ): Promise<{ status: number; body: any; headers: Headers }>;
  createKey(input: Partial<ApiKeyCreate> & { scopes: ApiKeyCreate['scopes'] }): Promise<string>;
  /** Raw SQL on the test database (for assertions about stored state). */
  query<T>(text: string, values?: unknown[]): Promise<T[]>;
  startWorker(concurrency?: number): Promise<void>;
  /** Resolves with the next job outcome (completed or failed) that matches. */
  nextJob(
    match?: (outcome: JobOutcome & { state: 'completed' | 'failed' }) => boolean,
  ): Promise<JobOutcome & { state: 'completed' | 'failed' }>;
  /** A second process on the same database: its own pool, queue and listener. Close it when done. */
  otherProcess(): { core: CoreDeps; close(): Promise<void> };
  close(): Promise<void>;
}

export interface HarnessOptions {
  dedupWindowHours?: number;
  webhookSecrets?: Record<string, string>;
  maxIngestBytes?: number;
  wrapQueue?: (queue: JobQueue) => JobQueue;
  /** Start the mock providers and point the builtins at them (credentials, base URLs, SSRF allowance). */
  mockProviders?: MockProvidersOptions | boolean;
  /** More provider environment (e.g. `CALSETA_PROVIDER_*`). */
  providerEnv?: Record<string, string>;
  /** Hosts (`host:port`) outbound calls may reach although local, e.g. a test's agent endpoint. */
  allowHosts?: string[];
  /** Approval notifier settings (`CoreConfig.approvals`). */
  approvals?: CoreConfig['approvals'];
  /** Plugin packages to load, as `CALSETA_PLUGINS` lists them (sources registered, providers installed). */
  plugins?: readonly string[];
  /** Rate limits, trusted proxies, CORS, HSTS (`AppOptions.security`); default all off. */
  security?: SecurityOptions;
  /** Log lines (JSON) go here, at level info, with request logging on; default: silent. */
  logSink?: (line: string) => void;
}

/** The real API over real HTTP, on a fresh database of its own, with the worker available in-process. */
export async function createHarness(options: HarnessOptions = {}): Promise<Harness> {
  const logger = options.logSink
    ? createLogger({ service: 'test', level: 'info', destination: { write: options.logSink } })
    : undefined;
  const mock =
    options.mockProviders === undefined || options.mockProviders === false
      ? undefined
      : await startMockProviders(options.mockProviders === true ? {} : options.mockProviders);
  const env = { ...(mock ? mockProviderEnv(mock) : {}), ...options.providerEnv };
  const plugins = await loadPlugins(options.plugins ?? []);
  const core = await createTestCore({
    integrations: firstParty,
    ...(logger ? { logger } : {}),
    startQueue: true,
    queueConnections: 4,
    ...(options.wrapQueue ? { wrapQueue: options.wrapQueue } : {}),
    plugins,
    seed: true,
    config: {
      dedupWindowHours: options.dedupWindowHours ?? 24,
      webhookSecrets: options.webhookSecrets ?? {},
      encryptionKey: randomBytes(32).toString('base64'),
      outbound: { allowHosts: [...parseAllowedHosts(env.SSRF_ALLOWED_HOSTS), ...(options.allowHosts ?? [])] },
      enrichment: { providerEnv: providerEnvFrom(env) },
      ...(options.approvals ? { approvals: options.approvals } : {}),
    },
  });
  const { deps, queue: realQueue, adminKey, createKey } = core;
  await installPluginProviders(deps, plugins);
  const app = createApp(deps, {
    version: 'test',
    maxIngestBytes: options.maxIngestBytes ?? 5 * 1_048_576,
    maxBodyBytes: 10 * 1_048_576,
    logRequests: options.logSink !== undefined,
    ...(options.security ? { security: options.security } : {}),
  });
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    baseUrl,
    databaseUrl: core.databaseUrl,
    deps,
    adminKey,
    mock,
    createKey,
    async request(method, path, { key = adminKey, json, body, headers = {} } = {}) {
      const init: RequestInit = { method, headers: { ...headers } };
      const h = init.headers as Record<string, string>;
      if (key) h.authorization = `Bearer ${key}`;
      if (json !== undefined) {
        h['content-type'] ??= 'application/json';
        init.body = JSON.stringify(json);
      } else if (body !== undefined) {
        init.body = body;
      }
      const response = await fetch(baseUrl + path, init);
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON (docs page, assets)
      }
      return { status: response.status, body: parsed, headers: response.headers };
    },
    async query<T>(text: string, values: unknown[] = []) {
      const { rows } = await realQueue.boss.getDb().executeSql(text, values);
      return rows as T[];
    },
    startWorker: (concurrency = 4) => startWorker(deps, concurrency),
    otherProcess() {
      const logger = createLogger({ service: 'test', level: 'silent' });
      const { db } = createDb({ url: core.databaseUrl, max: 2 });
      const queue = new JobQueue({ url: core.databaseUrl, logger });
      const config = { dedupWindowHours: 24, webhookSecrets: {}, encryptionKey: deps.config.encryptionKey };
      const other = createCore({ integrations: firstParty, db, queue, logger, config });
      return {
        core: other,
        async close() {
          await queue.stop();
          await db.destroy();
        },
      };
    },
    nextJob(match = () => true) {
      return new Promise((resolve) => {
        const handlers = {
          completed: (o: JobOutcome) => check({ ...o, state: 'completed' }),
          failed: (o: JobOutcome) => check({ ...o, state: 'failed' }),
        };
        const check = (outcome: JobOutcome & { state: 'completed' | 'failed' }) => {
          if (!match(outcome)) return;
          realQueue.events.off('completed', handlers.completed);
          realQueue.events.off('failed', handlers.failed);
          resolve(outcome);
        };
        realQueue.events.on('completed', handlers.completed);
        realQueue.events.on('failed', handlers.failed);
      });
    },
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await core.close();
      await mock?.close();
    },
  };
}
