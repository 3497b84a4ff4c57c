import type { Notifications } from './notifications.js';

/** Notified (after commit) whenever a source integration changes, so every process drops its cache. */
export const SOURCES_CHANNEL = 'calseta_sources';
/** Even should a notification be lost, a process re-reads a source's row at least this often. */
const TTL_MS = 5_000;

/** What ingest reads of a source integration (its credentials still sealed). */
export interface SourceRow {
  uuid: string;
  is_active: boolean;
  auth_config: unknown;
}

/**
 * Source integration rows by source name (null: none configured), so a webhook costs no database
 * round trip. As for API keys (key-cache.ts), correctness rests on invalidation: every write
 * notifies SOURCES_CHANNEL after commit and every process clears; nothing is cached until the
 * listener is confirmed, nor while it is down. A read that started before a clear is not cached.
 */
export class SourceRowCache {
  private readonly entries = new Map<string, { row: SourceRow | null; at: number }>();
  private notifications: Notifications | undefined;
  private generation = 0;

  async attach(notifications: Notifications): Promise<void> {
    notifications.onReconnect(() => this.clear());
    await notifications.listen(SOURCES_CHANNEL, () => this.clear());
    this.notifications = notifications;
  }

  /** The cached row (null = none configured), or undefined when it must be read. */
  get(sourceName: string): SourceRow | null | undefined {
    if (!this.notifications?.connected) return undefined;
    const entry = this.entries.get(sourceName);
    if (!entry || Date.now() - entry.at > TTL_MS) return undefined;
    return entry.row;
  }

  /** Call before reading a row; pass the result to `set` with the row read. */
  reading(): number {
    return this.generation;
  }

  set(sourceName: string, row: SourceRow | null, readingSince: number): void {
    if (!this.notifications?.connected || readingSince !== this.generation) return;
    this.entries.set(sourceName, { row, at: Date.now() });
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
  }
}
