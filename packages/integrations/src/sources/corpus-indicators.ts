import { readdirSync, readFileSync } from 'node:fs';
import { type AlertSource, checkIndicator } from '@calseta/plugin-sdk';
import { NORMALIZED_INDICATOR_FIELDS, type NormalizedAlertInput, NormalizedAlertSchema } from '@calseta/schema';
import { describe, expect, it } from 'vitest';

/**
 * The indicator set a corpus payload yields at the plugin level, as `type value` strings: pass 1 (the
 * plugin) and pass 2 (the system mappings over the normalized fields), each value through the gate
 * that core applies (which may also rewrite it, e.g. a hash to lower case).
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

/**
 * The corpus of one source (`corpus/<folder>/<name>.json` + `.expected.json`) checked at the plugin
 * level: accepted, normalized to the expected title and severity, and the exact indicator set a person
 * reads off it. For the sources' own tests; apps/api/test/corpus.test.ts checks the same files through
 * the real pipeline.
 */
export function describeCorpus(folder: string, source: AlertSource, atLeast: number): void {
  describe(`${folder}: corpus`, () => {
    const dir = new URL(`../../corpus/${folder}/`, import.meta.url);
    const names = readdirSync(dir)
      .filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
      .map((f) => f.slice(0, -'.json'.length));

    it('holds its payloads', () => {
      expect(names.length).toBeGreaterThanOrEqual(atLeast);
    });

    it.each(names)('%s', (file) => {
      const raw = JSON.parse(readFileSync(new URL(`${file}.json`, dir), 'utf8')) as unknown;
      const expected = JSON.parse(readFileSync(new URL(`${file}.expected.json`, dir), 'utf8')) as {
        origin: string;
        title: string;
        severity: string;
        indicators: Array<{ type: string; value: string }>;
      };
      expect(expected.origin.length).toBeGreaterThan(10);
      expect(source.validate(raw)).toEqual({ ok: true });
      const alert = source.normalize(raw);
      expect(() => NormalizedAlertSchema.parse(alert)).not.toThrow();
      expect(alert.title).toBe(expected.title);
      expect(alert.severity).toBe(expected.severity);
      expect(corpusIndicators(source, raw, alert)).toEqual(
        expected.indicators.map((i) => `${i.type} ${i.value}`).sort(),
      );
    });
  });
}
