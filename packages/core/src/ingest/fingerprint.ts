import { createHash } from 'node:crypto';
import type { ExtractedIndicator } from '@calseta/schema';

/**
 * The dedup fingerprint: MD5 of title, source and the sorted indicator set, exactly as the
 * reference computes it, so fingerprints stay stable across implementations.
 */
export function fingerprint(
  title: string,
  sourceName: string,
  indicators: readonly Pick<ExtractedIndicator, 'type' | 'value'>[],
): string {
  const pairs = indicators
    .map((i) => [i.type, i.value] as const)
    .sort(([at, av], [bt, bv]) => (at === bt ? compare(av, bv) : compare(at, bt)))
    .map(([t, v]) => `${t}:${v}`);
  return createHash('md5')
    .update(`${title}\u0000${sourceName}\u0000${pairs.join('|')}`)
    .digest('hex');
}

// Code-point order, as Python sorts strings (localeCompare would not match the reference).
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
