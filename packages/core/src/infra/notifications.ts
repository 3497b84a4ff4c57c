import pg from 'pg';
import { LIVENESS_LOCK_CLASS, newLivenessId } from './liveness.js';
import type { Logger } from './logger.js';

type Handler = (payload: string) => void;

const RECONNECT_MIN_MS = 500;
const RECONNECT_MAX_MS = 15_000;

/**
 * One LISTEN connection per process, shared by everything that reacts to other processes:
 * queue wake-ups and cache invalidations. After a lost connection it reconnects with backoff and
 * calls the `onReconnect` hooks (notifications sent meanwhile are lost, so caches must flush).
 */
export class Notifications {
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly reconnectHooks = new Set<() => void>();
  private backoff = RECONNECT_MIN_MS;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  /** LISTEN statements run one at a time: a pg client must not be given a query while busy. */
  private statements: Promise<unknown> = Promise.resolve();
  /**
   * This process's liveness id: its connection holds the advisory lock (LIVENESS_LOCK_CLASS, id)
   * from the first `listen` on, so other processes can tell when it is gone (infra/liveness.ts).
   */
  readonly livenessId = newLivenessId();

  constructor(
    private readonly url: string,
    private readonly logger: Logger,
  ) {}

  /** Call `handler` with each payload sent on `channel` by any process. Resolves once listening. */
  async listen(channel: string, handler: Handler): Promise<void> {
    const existing = this.handlers.get(channel);
    if (existing) {
      existing.add(handler);
      await this.ensureConnected();
      return;
    }
    this.handlers.set(channel, new Set([handler]));
    await this.ensureConnected();
    const client = this.client;
    if (client) await this.serial(() => client.query(`LISTEN ${pg.escapeIdentifier(channel)}`));
  }

  private serial<T>(statement: () => Promise<T>): Promise<T> {
    const run = this.statements.then(statement, statement);
    this.statements = run.catch(() => undefined);
    return run;
  }

  /** Whether the LISTEN connection is up now (while it is down, notifications are being missed). */
  get connected(): boolean {
    return this.client !== undefined;
  }

  /** Called after the connection was lost and re-established. */
  onReconnect(hook: () => void): void {
    this.reconnectHooks.add(hook);
  }

  private ensureConnected(): Promise<void> {
    if (this.client) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.url, application_name: 'calseta-listen' });
    client.on('notification', (message) => {
      for (const handler of this.handlers.get(message.channel) ?? []) handler(message.payload ?? '');
    });
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    await client.connect();
    if (this.stopped) {
      await client.end();
      return;
    }
    // Not granted only while our previous, lost connection still holds it: then we are still alive.
    await client.query('SELECT pg_try_advisory_lock($1, $2)', [LIVENESS_LOCK_CLASS, this.livenessId]);
    for (const channel of this.handlers.keys()) await client.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
    this.client = client;
    this.backoff = RECONNECT_MIN_MS;
  }

  private lost(client: pg.Client, error: Error): void {
    if (this.client !== client || this.stopped) return;
    this.client = undefined;
    this.logger.warn({ err: error }, 'notification listener lost; reconnecting');
    const retry = () => {
      this.retryTimer = undefined;
      if (this.stopped) return;
      this.ensureConnected().then(
        () => {
          for (const hook of this.reconnectHooks) hook();
        },
        () => {
          this.backoff = Math.min(this.backoff * 2, RECONNECT_MAX_MS);
          this.retryTimer = setTimeout(retry, this.backoff);
        },
      );
    };
    this.retryTimer = setTimeout(retry, this.backoff);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}
