import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * Fixed "now" for every generated timestamp, so that a value's response never depends on the
 * wall clock: 2026-03-02T00:00:00Z, the day after the fixture alerts.
 */
export const MOCK_NOW_MS = Date.UTC(2026, 2, 2, 0, 0, 0);
export const MOCK_NOW_S = Math.floor(MOCK_NOW_MS / 1000);
const DAY_S = 86_400;

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
export function sha1Hex(text: string): string {
  return createHash('sha1').update(text).digest('hex');
}
export function md5Hex(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** A small deterministic PRNG (mulberry32) seeded from a hash of the given parts. */
export class Rng {
  private state: number;

  constructor(...parts: string[]) {
    this.state = createHash('sha256').update(parts.join('\u0000')).digest().readUInt32LE(0);
  }

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [min, max] (inclusive). */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from empty list');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** `n` distinct items, in random order. */
  sample<T>(items: readonly T[], n: number): T[] {
    return this.shuffle(items).slice(0, Math.min(n, items.length));
  }

  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = out[i] as T;
      out[i] = out[j] as T;
      out[j] = tmp;
    }
    return out;
  }

  chars(alphabet: string, n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[Math.floor(this.next() * alphabet.length)];
    return s;
  }

  hex(n: number): string {
    return this.chars('0123456789abcdef', n);
  }

  digits(n: number): string {
    return this.chars('123456789', 1) + this.chars('0123456789', n - 1);
  }

  upper(n: number): string {
    return this.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ', n);
  }

  lower(n: number): string {
    return this.chars('abcdefghijklmnopqrstuvwxyz', n);
  }

  alnum(n: number): string {
    return this.chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', n);
  }

  /** A unix timestamp (seconds) between `minDaysAgo` and `maxDaysAgo` before MOCK_NOW. */
  pastUnix(minDaysAgo: number, maxDaysAgo: number): number {
    return MOCK_NOW_S - this.int(Math.round(minDaysAgo * DAY_S), Math.round(maxDaysAgo * DAY_S));
  }

  /** An ISO timestamp between `minDaysAgo` and `maxDaysAgo` before MOCK_NOW (millisecond precision zeroed). */
  pastIso(minDaysAgo: number, maxDaysAgo: number): string {
    return isoFromUnix(this.pastUnix(minDaysAgo, maxDaysAgo));
  }

  uuid(): string {
    const h = this.hex(32).split('');
    h[12] = '4';
    h[16] = '89ab'[Math.floor(this.next() * 4)] as string;
    const s = h.join('');
    return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20)}`;
  }
}

export function isoFromUnix(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

/** Graph-style timestamp: `2026-03-01T14:38:47Z` (no milliseconds). */
export function graphTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

/** AbuseIPDB-style timestamp: `2026-03-01T14:38:47+00:00`. */
export function abuseTime(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace('.000Z', '+00:00');
}

export function ipVersion(value: string): 0 | 4 | 6 {
  return isIP(value) as 0 | 4 | 6;
}

export const HASH_RE = /^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$/i;
export const DOMAIN_RE =
  /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9-]{1,63}(?<!-))*\.[a-z][a-z0-9-]{0,62}$/i;

export function hashKind(value: string): 'md5' | 'sha1' | 'sha256' | null {
  if (!HASH_RE.test(value)) return null;
  return value.length === 32 ? 'md5' : value.length === 40 ? 'sha1' : 'sha256';
}

/** VirusTotal URL identifier: unpadded base64url of the URL. */
export function vtUrlId(url: string): string {
  return Buffer.from(url, 'utf8').toString('base64url');
}

export function wrapText(lines: (string | null | false | undefined)[]): string {
  return lines.filter((l): l is string => typeof l === 'string').join('\n');
}
