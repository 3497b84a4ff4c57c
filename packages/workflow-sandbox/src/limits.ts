/** Per-run hard limits and their defaults. */

export interface SandboxLimits {
  /** Wall-clock deadline of a run (module load + `run()` + awaited host calls), ms. */
  timeoutMs: number;
  /**
   * Memory cap, bytes. At the sandbox level it sizes each module's own `WebAssembly.Memory`
   * (rounded up to 64 KiB pages, at least 16 MiB); per run it can only lower QuickJS's own
   * accounting limit (`setMemoryLimit`), never raise the module cap.
   */
  memoryBytes: number;
  /** QuickJS stack size limit, bytes. */
  stackBytes: number;
  /** Host calls of any kind (logs, secrets, http, integrations). */
  maxHostCalls: number;
  /** `ctx.http` requests. */
  maxHttpCalls: number;
  /** Request bodies sent plus response bodies received through `ctx.http`, UTF-8 bytes. */
  maxHttpBytes: number;
  /** Serialised `{success, message, data}` of the result, UTF-8 bytes. */
  maxOutputBytes: number;
  /** Log messages (+ their `extra` as JSON), UTF-8 bytes. */
  maxLogBytes: number;
}

export const MIB = 1024 * 1024;
/**
 * Smallest per-run QuickJS memory limit: below ~16 KB QuickJS fails to create a context, and below
 * that it can even trap on a null pointer; 1 MiB leaves a margin for the prelude.
 */
export const MIN_RUN_MEMORY_BYTES = MIB;
/** Smallest module memory: the QuickJS build's initial memory (256 pages). */
export const MIN_MEMORY_BYTES = 16 * MIB;

export const DEFAULT_LIMITS: Readonly<SandboxLimits> = Object.freeze({
  timeoutMs: 30_000,
  memoryBytes: 64 * MIB,
  stackBytes: 256 * 1024,
  maxHostCalls: 10_000,
  maxHttpCalls: 50,
  maxHttpBytes: 10 * MIB,
  maxOutputBytes: 256 * 1024,
  maxLogBytes: 256 * 1024,
});

/** Which limit ended a run. */
export type LimitName =
  | 'timeout'
  | 'memory'
  | 'stack'
  | 'host_calls'
  | 'http_calls'
  | 'http_bytes'
  | 'output_bytes'
  | 'log_bytes';

/** Merges overrides onto a base, refusing nonsense (non-positive, non-finite). */
export function resolveLimits(base: SandboxLimits, overrides: Partial<SandboxLimits> | undefined): SandboxLimits {
  const out: SandboxLimits = { ...base };
  for (const [key, value] of Object.entries(overrides ?? {}) as [keyof SandboxLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_LIMITS)) throw new TypeError(`Unknown sandbox limit '${key}'`);
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
      throw new TypeError(`Sandbox limit '${key}' must be a positive number`);
    }
    out[key] = value;
  }
  return out;
}

/** `1.5 seconds`, `30 seconds`, `0.25 seconds` (reference message: "timed out after N seconds"). */
export function formatSeconds(ms: number): string {
  const seconds = Math.round(ms) / 1000;
  return `${seconds} second${seconds === 1 ? '' : 's'}`;
}

/** `64 MB`, `1.5 MB`, `256 KB`, `100 bytes`. */
export function formatBytes(bytes: number): string {
  if (bytes >= MIB) return `${Math.round((bytes / MIB) * 10) / 10} MB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KB`;
  return `${bytes} bytes`;
}
