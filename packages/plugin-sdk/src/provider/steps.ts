import type { HttpConfig, HttpStep } from '@calseta/schema';

/** A step's name: its own, or `step_<index>`. Later templates read its body as `{{steps.<name>.<path>}}`. */
export function stepName(step: HttpStep, index: number): string {
  return step.name ?? `step_${index}`;
}

/** The URL template of a step for an indicator type (reference: the top-level override applies to step 0 only). */
export function stepUrlTemplate(config: HttpConfig, index: number, type: string): string | undefined {
  const step = config.steps[index];
  if (step === undefined) return undefined;
  const top =
    index === 0 ? config.url_templates_by_type?.[type as keyof typeof config.url_templates_by_type] : undefined;
  return top ?? step.url_by_type?.[type as keyof typeof step.url_by_type] ?? step.url;
}
