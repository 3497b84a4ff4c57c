import type { Notifications } from './notifications.js';

/** Channel of migration 0016's triggers: the payload is the name of a table a statement changed. */
export const TABLE_CHANGED_CHANNEL = 'calseta_table_changed';

/** What the cache needs of the process's LISTEN connection. */
type Listener = Pick<Notifications, 'listen' | 'onReconnect'> & { readonly connected?: boolean };

/** Tables whose rows may be cached in process (0016 puts a trigger on each). */
export type CachedTable = 'agent_registrations' | 'workflows' | 'context_documents';

/**
 * Rarely changing configuration read on the hot path (the active agents, workflows, targeted
 * documents), kept in process until its table changes: every change, by any process or by hand,
 * NOTIFYs (0016's statement triggers) and drops the table's entries. While this process has no
 * listener (not yet, or after a lost connection, when notifications may have been missed) nothing
 * is kept. A load running when the table changes is not kept either.
 */
export class TableCache {
  private readonly entries = new Map<CachedTable, Map<string, Promise<unknown>>>();
  /** Bumped by every change of the table: a load that started before a change is not kept. */
  private readonly versions = new Map<CachedTable, number>();
  private listening = false;
  /** Settles once this cache listens (or could not: then nothing is ever kept). */
  readonly ready: Promise<void>;

  constructor(private readonly notifications: Listener) {
    notifications.onReconnect(() => this.clear());
    this.ready = notifications
      .listen(TABLE_CHANGED_CHANNEL, (table) => this.changed(table as CachedTable))
      .then(
        () => {
          this.listening = true;
        },
        () => undefined, // no listener: nothing is cached
      );
  }

  /** `load()`'s answer for (`table`, `key`), cached until the table changes. */
  get<T>(table: CachedTable, key: string, load: () => Promise<T>): Promise<T> {
    if (!this.listening) return load();
    if (this.notifications.connected === false) {
      // Lost until it reconnects: changes go unheard; what was kept may be stale already.
      this.clear();
      return load();
    }
    let forTable = this.entries.get(table);
    if (forTable === undefined) {
      forTable = new Map();
      this.entries.set(table, forTable);
    }
    const hit = forTable.get(key);
    if (hit !== undefined) return hit as Promise<T>;
    const version = this.versions.get(table) ?? 0;
    const loading = load();
    forTable.set(key, loading);
    const kept = forTable;
    loading.then(
      () => {
        if ((this.versions.get(table) ?? 0) !== version && kept.get(key) === loading) kept.delete(key);
      },
      () => {
        if (kept.get(key) === loading) kept.delete(key);
      },
    );
    return loading;
  }

  private changed(table: CachedTable): void {
    this.versions.set(table, (this.versions.get(table) ?? 0) + 1);
    this.entries.delete(table);
  }

  private clear(): void {
    for (const table of [...this.entries.keys()]) this.changed(table);
  }
}

const caches = new WeakMap<object, TableCache>();

/** The process's table cache, on its LISTEN connection. */
export function tableCacheOf(notifications: Listener): TableCache {
  let cache = caches.get(notifications);
  if (cache === undefined) {
    cache = new TableCache(notifications);
    caches.set(notifications, cache);
  }
  return cache;
}
