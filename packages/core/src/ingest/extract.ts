import type { AlertSource } from '@calseta/plugin-sdk';
import { getPath } from '@calseta/plugin-sdk';
import {
  type ExtractedIndicator,
  type ExtractionPass,
  type IndicatorType,
  IndicatorTypeSchema,
  type NormalizedAlert,
} from '@calseta/schema';
import type { SourceRegistry } from '../sources/registry.js';

/** An active indicator field mapping, as extraction needs it. */
export interface MappingRule {
  field_path: string;
  indicator_type: string;
  extraction_target: string;
}

export interface ExtractionResult {
  passes: ExtractionPass[];
  /** All passes merged, deduplicated by (type, value), first occurrence kept. */
  indicators: ExtractedIndicator[];
}

function fromMappings(
  target: unknown,
  rules: readonly MappingRule[],
  prefix: 'normalized' | 'raw_payload',
): ExtractedIndicator[] {
  const out: ExtractedIndicator[] = [];
  for (const rule of rules) {
    const type = IndicatorTypeSchema.safeParse(rule.indicator_type);
    if (!type.success) continue; // a mapping with an unknown type is ignored, not fatal
    for (const value of valuesAt(target, rule.field_path)) {
      out.push({ type: type.data as IndicatorType, value, source_field: `${prefix}.${rule.field_path}` });
    }
  }
  return out;
}

/** Non-blank strings at a path; an array of strings yields each member. */
function valuesAt(target: unknown, path: string): string[] {
  const found = getPath(target, path);
  const list = Array.isArray(found) ? found : [found];
  return list
    .filter((v): v is string => typeof v === 'string')
    .map((v) => v.trim())
    .filter(Boolean);
}

export function dedupeIndicators(lists: readonly ExtractedIndicator[][]): ExtractedIndicator[] {
  const seen = new Set<string>();
  const out: ExtractedIndicator[] = [];
  for (const item of lists.flat()) {
    const value = item.value.trim();
    if (!value) continue;
    const key = `${item.type}\u0000${value}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ ...item, value });
  }
  return out;
}

function runPass(name: ExtractionPass['pass_name'], label: string, run: () => ExtractedIndicator[]): ExtractionPass {
  try {
    return { pass_name: name, pass_label: label, indicators: run(), error: null };
  } catch (error) {
    return {
      pass_name: name,
      pass_label: label,
      indicators: [],
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

/**
 * Three-pass indicator extraction. Pass 1: the plugin's own extractor. Pass 2: mappings over the
 * normalized alert. Pass 3: mappings over the raw payload. Each pass fails alone; `normalized` is
 * null when normalization failed (pass 2 then reports that).
 */
export function extractIndicators(
  registry: SourceRegistry,
  source: AlertSource,
  raw: unknown,
  normalized: NormalizedAlert | null,
  rules: readonly MappingRule[],
  { rawPass = true }: { rawPass?: boolean } = {},
): ExtractionResult {
  const passes: ExtractionPass[] = [
    runPass('source_plugin', 'Source Plugin', () => registry.extractIndicators(source, raw)),
    runPass('normalized_mappings', 'Normalized Mappings', () => {
      if (!normalized) throw new Error('Normalization failed — cannot run Pass 2');
      const byTarget = rules.filter((r) => r.extraction_target === 'normalized');
      return fromMappings(normalized, byTarget, 'normalized');
    }),
  ];
  if (rawPass) {
    passes.push(
      runPass('raw_payload_mappings', 'Raw Payload Mappings', () =>
        fromMappings(
          raw,
          rules.filter((r) => r.extraction_target === 'raw_payload'),
          'raw_payload',
        ),
      ),
    );
  }
  return { passes, indicators: dedupeIndicators(passes.map((p) => p.indicators)) };
}
