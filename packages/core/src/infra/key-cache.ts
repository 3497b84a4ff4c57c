import type { Notifications } from './notifications.js';

/** Notified (after commit) whenever any API key changes, so every process drops its cache. */
export const API_KEYS_CHANNEL = 'calseta_api_keys';
/** Even without notifications, a process re-reads a key at least this often. */
const TTL_MS = 60_000;

export interface CachedKey {
  id: number;
  uuid: string;
  name: string;
  key_prefix: string;
  scopes: string[];
  key_type: string;
  allowed_sources: string[] | null;
  is_active: boolean;
  revoked_at: Date | null;
  expires_at: Date | null;
  last_used_at: Date | null;
  /** A personal key's owner (issue 21): a user change notifies this channel too. */
  owner: CachedOwner | null;
}

export interface CachedOwner {
  id: number;
  uuid: string;
  email: string;
  disabled: boolean;
  roles: string[];
  /** Their last sign-in at the provider: a personal key stops when it is too old (keys.ts). */
  lastSignInAt: Date | null;
}

/**
 * Keys by hash, so authentication costs no database round trip on the hot path. Correctness
 * rests on invalidation: every key write notifies API_KEYS_CHANNEL after commit and every process
 * clears its cache; until the listener is confirmed (and after it is lost) nothing is cached.
 */
export class ApiKeyCache {
  private readonly entries = new Map<string, { row: CachedKey | null; at: number }>();
  private live = false;

  async attach(notifications: Notifications): Promise<void> {
    notifications.onReconnect(() => this.clear());
    await notifications.listen(API_KEYS_CHANNEL, () => this.clear());
    this.live = true;
  }

  /** The cached row (null = known not to exist), or undefined when it must be read. */
  get(hash: string): CachedKey | null | undefined {
    const entry = this.entries.get(hash);
    if (!entry || Date.now() - entry.at > TTL_MS) return undefined;
    return entry.row;
  }

  set(hash: string, row: CachedKey | null): void {
    if (!this.live) return;
    // Bound the memory unknown tokens can take: forget everything rather than grow without limit.
    if (this.entries.size >= 10_000) this.entries.clear();
    this.entries.set(hash, { row, at: Date.now() });
  }

  clear(): void {
    this.entries.clear();
  }
}

/**
 * Call `handler` whenever any process changes an API key (created, updated, revoked), and after the
 * listener reconnects (changes made meanwhile were not heard). Resolves once listening.
 */
export async function onApiKeysChanged(deps: { notifications: Notifications }, handler: () => void): Promise<void> {
  deps.notifications.onReconnect(handler);
  await deps.notifications.listen(API_KEYS_CHANNEL, handler);
}
