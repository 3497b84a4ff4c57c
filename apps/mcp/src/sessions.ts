import { EventEmitter } from 'node:events';
import { type AlertEnrichedEvent, type CoreDeps, onAlertEnriched, onApiKeysChanged, usableKeyIds } from '@calseta/core';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';

/** A connected client that can be sent notifications: a stateful HTTP session, an SSE client or stdio. */
export interface McpSession {
  id: string;
  /** The API key that opened the session; every later request must carry the same key. */
  keyId: number | null;
  server: McpServer;
  /** Resource URIs the client subscribed to (filled by the server's subscribe handler). */
  subscriptions: Set<string>;
  lastSeen: number;
  /** Ends the session's transport. */
  close(): Promise<void>;
  /** Streamable HTTP sessions: serve a request on the session's transport. */
  handleRequest?: (request: Request, parsedBody?: unknown) => Promise<Response>;
}

export interface McpSessionsOptions {
  /** Most sessions held at once; beyond it the least recently used is closed. */
  maxSessions?: number;
  /** A session without subscriptions is closed after this long without a request. */
  idleMs?: number;
  /** A session with subscriptions is kept this long without a request (it may only be listening). */
  subscribedIdleMs?: number;
}

/**
 * The sessions this process holds, and the one place that turns "an alert was enriched" (a
 * Postgres notification from whichever worker did it) into `notifications/resources/updated` for
 * the sessions subscribed to that alert or to the alert list. When any process changes a key
 * (NOTIFY), sessions whose key was revoked, deactivated or has expired are closed at once, streams
 * included. Emits `stream` (session id) when a session's notification stream opens, and `closed`
 * (session id) when a session is closed because its key no longer authenticates.
 */
export class McpSessions extends EventEmitter<{ stream: [id: string]; closed: [id: string] }> {
  private readonly sessions = new Map<string, McpSession>();
  private readonly maxSessions: number;
  private readonly idleMs: number;
  private readonly subscribedIdleMs: number;
  private sweeper: NodeJS.Timeout | undefined;

  constructor(options: McpSessionsOptions = {}) {
    super();
    this.maxSessions = options.maxSessions ?? 1000;
    this.idleMs = options.idleMs ?? 30 * 60_000;
    this.subscribedIdleMs = options.subscribedIdleMs ?? 24 * 60 * 60_000;
  }

  /**
   * Listen for enriched alerts and key changes, and start closing idle sessions (and sessions whose
   * key expired). Resolves once listening.
   */
  async start(deps: Pick<CoreDeps, 'notifications' | 'db' | 'logger'>): Promise<void> {
    const recheck = () =>
      void this.closeUnauthorized(deps).catch((error: unknown) =>
        deps.logger.error({ err: error }, 'could not re-check the keys of open MCP sessions'),
      );
    await onAlertEnriched(deps, (event) => this.alertEnriched(event));
    // Notifications missed while the listener was down are made up for by re-checking on reconnect.
    await onApiKeysChanged(deps, recheck);
    this.sweeper = setInterval(() => {
      this.sweep();
      recheck();
    }, 60_000);
    this.sweeper.unref();
  }

  /** Close every session whose key no longer authenticates (revoked, deactivated, expired, deleted). */
  async closeUnauthorized(deps: Pick<CoreDeps, 'db'>): Promise<void> {
    const keyIds = new Set<number>();
    for (const session of this.sessions.values()) if (session.keyId !== null) keyIds.add(session.keyId);
    if (keyIds.size === 0) return;
    const usable = await usableKeyIds(deps.db, [...keyIds]);
    for (const session of [...this.sessions.values()]) {
      if (session.keyId === null || usable.has(session.keyId)) continue;
      this.remove(session.id);
      await session.close().catch(() => undefined);
      this.emit('closed', session.id);
    }
  }

  get size(): number {
    return this.sessions.size;
  }

  add(session: McpSession): void {
    while (this.sessions.size >= this.maxSessions) {
      // Map order is insertion order and `get` re-inserts: the first entry is the least recently used.
      const [oldest] = this.sessions.values();
      if (!oldest) break;
      this.remove(oldest.id);
      void oldest.close().catch(() => undefined);
    }
    this.sessions.set(session.id, session);
  }

  /** The session, if this process holds it and it belongs to `keyId`; marks it used. */
  get(id: string, keyId: number | null): McpSession | undefined {
    const session = this.sessions.get(id);
    if (!session || session.keyId !== keyId) return undefined;
    session.lastSeen = Date.now();
    this.sessions.delete(id);
    this.sessions.set(id, session);
    return session;
  }

  remove(id: string): void {
    this.sessions.delete(id);
  }

  /** Tell every subscriber of the alert list, the alert or its payload. */
  alertEnriched(event: AlertEnrichedEvent): void {
    const uris = [
      'calseta://alerts',
      `calseta://alerts/${event.alert_uuid}`,
      `calseta://alerts/${event.alert_uuid}/context`,
    ];
    for (const session of this.sessions.values()) {
      for (const uri of uris) {
        if (!session.subscriptions.has(uri)) continue;
        // A client gone since its last request is found out here; its transport ends the session.
        session.server.server.sendResourceUpdated({ uri }).catch(() => undefined);
      }
    }
  }

  private sweep(now = Date.now()): void {
    for (const session of [...this.sessions.values()]) {
      const limit = session.subscriptions.size > 0 ? this.subscribedIdleMs : this.idleMs;
      if (now - session.lastSeen < limit) continue;
      this.remove(session.id);
      void session.close().catch(() => undefined);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.close().catch(() => undefined)));
  }
}
