/**
 * The HTTP client a vendor client is handed: core's SSRF-guarded fetch (`SafeFetch`), described here by
 * the part the clients use so this package never imports core. A client never calls `fetch` itself.
 */
export interface GuardedRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  /** Whole-request budget (core's default applies when absent). */
  timeoutMs?: number;
}

export interface GuardedResponse {
  readonly status: number;
  readonly ok: boolean;
  /** The body as received (bounded by core's policy). */
  readonly bytes: Uint8Array;
  text(): Promise<string>;
  json(): Promise<unknown>;
}

export type GuardedFetch = (url: string, init?: GuardedRequestInit) => Promise<GuardedResponse>;
