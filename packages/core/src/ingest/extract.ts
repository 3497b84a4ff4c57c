import type { AlertSource } from '@calseta/plugin-sdk';
import { checkIndicator, getPath, MAX_INDICATORS_PER_ALERT } from '@calseta/plugin-sdk';
import {
  type ExtractedIndicator,
  type ExtractionPass,
  type IndicatorType,
  IndicatorTypeSchema,
  type NormalizedAlert,
  type RefusedIndicator,
} from '@calseta/schema';
import type { MappingRule } from '../infra/mapping-rules.js';
import type { SourceRegistry } from '../infra/source-registry.js';

export interface ExtractionResult {
  passes: ExtractionPass[];
  /** All passes merged, deduplicated by (type, value), first occurrence kept, at most MAX_INDICATORS_PER_ALERT. */
  indicators: ExtractedIndicator[];
  /** Candidates the per-type validation refused, with the reason (the first REFUSED_LISTED of them). */
  refused: RefusedIndicator[];
  refusedCount: number;
  /** Valid indicators beyond the per-alert cap: counted, not stored. */
  overCap: number;
}

/** Refused candidates listed per extraction (all are counted); values shown are cut to 256 characters. */
const REFUSED_LISTED = 100;

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

interface CheckedPass {
  pass: ExtractionPass;
  refused: RefusedIndicator[];
}

/**
 * Run one pass and put every candidate through the per-type validation: this is the one gate between
 * any extraction (plugin, system mapping, custom mapping) and storage.
 */
function runPass(name: ExtractionPass['pass_name'], label: string, run: () => ExtractedIndicator[]): CheckedPass {
  let candidates: ExtractedIndicator[];
  try {
    candidates = run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { pass: { pass_name: name, pass_label: label, indicators: [], error: message }, refused: [] };
  }
  const indicators: ExtractedIndicator[] = [];
  const refused: RefusedIndicator[] = [];
  for (const candidate of candidates) {
    const check = checkIndicator(candidate.type, candidate.value, candidate.source_field);
    if (check.ok) {
      indicators.push({ ...candidate, value: check.value });
    } else {
      const value = candidate.value.length > 256 ? `${candidate.value.slice(0, 256)}…` : candidate.value;
      refused.push({
        type: candidate.type,
        value,
        field: candidate.source_field,
        pass_name: name,
        reason: check.reason,
        detail: check.detail,
      });
    }
  }
  return { pass: { pass_name: name, pass_label: label, indicators, error: null }, refused };
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
  const checked: CheckedPass[] = [
    runPass('source_plugin', 'Source Plugin', () => registry.extractIndicators(source, raw)),
    runPass('normalized_mappings', 'Normalized Mappings', () => {
      if (!normalized) throw new Error('Normalization failed — cannot run Pass 2');
      const byTarget = rules.filter((r) => r.extraction_target === 'normalized');
      return fromMappings(normalized, byTarget, 'normalized');
    }),
  ];
  if (rawPass) {
    checked.push(
      runPass('raw_payload_mappings', 'Raw Payload Mappings', () =>
        fromMappings(
          raw,
          rules.filter((r) => r.extraction_target === 'raw_payload'),
          'raw_payload',
        ),
      ),
    );
  }
  const passes = checked.map((c) => c.pass);
  const refused = checked.flatMap((c) => c.refused);
  const all = dedupeIndicators(passes.map((p) => p.indicators));
  return {
    passes,
    indicators: all.slice(0, MAX_INDICATORS_PER_ALERT),
    refused: refused.slice(0, REFUSED_LISTED),
    refusedCount: refused.length,
    overCap: Math.max(0, all.length - MAX_INDICATORS_PER_ALERT),
  };
}
