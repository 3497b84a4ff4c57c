import type { ExtractionValueType, FieldExtractionInput, IndicatorType, MaliceRulesInput } from '@calseta/schema';

export type { BuiltinAuthSpec, BuiltinProvider } from '@calseta/plugin-sdk';

/** One extraction row per indicator type (the engine applies a row only to its own type). */
export function extractionsFor(
  types: readonly IndicatorType[],
  rows: ReadonlyArray<readonly [target_key: string, source_path: string, value_type: ExtractionValueType]>,
): FieldExtractionInput[] {
  return types.flatMap((indicator_type) =>
    rows.map(([target_key, source_path, value_type]) => ({ indicator_type, source_path, target_key, value_type })),
  );
}

/**
 * Identity providers give context, not a verdict: a found account is `Context` (described, not
 * judged), an unknown one `Unknown`. The reference left both `Pending`, which then never changed.
 */
export const NO_VERDICT: MaliceRulesInput = { rules: [], default_verdict: 'Context', not_found_verdict: 'Unknown' };
