import type { HttpConfig, HttpStep } from '@calseta/schema';
import { placeholdersOf } from './template.js';

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

/**
 * Which steps' bodies form the provider's result (stored, returned, read by extractions and malice
 * rules). A step's own `result` flag decides; unset, a step whose body a later step's header reads
 * (`Authorization: Bearer {{steps.token.access_token}}`) is an authentication step and is never kept,
 * every other step is a result. Safe for providers written before the flag: their token steps drop
 * out, their lookup steps keep the names their extraction paths use.
 */
export function resultSteps(config: HttpConfig): boolean[] {
  const readByHeader = new Set<string>();
  for (const step of config.steps) {
    for (const template of Object.values(step.headers)) {
      try {
        for (const { ref } of placeholdersOf(template)) if (ref.ns === 'steps') readByHeader.add(ref.step);
      } catch {
        // an unparseable template fails when the step runs
      }
    }
  }
  return config.steps.map((step, index) => step.result ?? !readByHeader.has(stepName(step, index)));
}
