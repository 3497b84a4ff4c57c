import { type AlertSource, checkIndicator } from '@calseta/plugin-sdk';
import { NORMALIZED_INDICATOR_FIELDS, type NormalizedAlertInput } from '@calseta/schema';

/**
 * The indicator set a corpus payload yields at the plugin level, as `type value` strings: pass 1 (the
 * plugin) and pass 2 (the system mappings over the normalized fields), each value through the gate
 * that core applies (which may also rewrite it, e.g. a hash to lower case). For the sources' tests;
 * apps/api/test/corpus.test.ts checks the same files through the real pipeline.
 */
export function corpusIndicators(source: AlertSource, raw: unknown, alert: NormalizedAlertInput): string[] {
  const pass1 = source.extractIndicators(raw).map((i) => [i.type, i.value, i.source_field] as const);
  const pass2 = NORMALIZED_INDICATOR_FIELDS.map(([key, type]) => [type, alert[key], `normalized.${key}`] as const);
  const kept = new Set(
    [...pass1, ...pass2].flatMap(([type, value, field]) => {
      const checked = checkIndicator(type, value, field);
      return checked.ok ? [`${type} ${checked.value}`] : [];
    }),
  );
  return [...kept].sort();
}
