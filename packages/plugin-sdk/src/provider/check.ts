import type { HttpConfig, HttpStep, IndicatorType } from '@calseta/schema';
import { resultSteps, stepName, stepUrlTemplate } from './steps.js';
import { type Placeholder, placeholdersOf, TemplateError } from './template.js';

/** Every template of a step, labelled for error messages. */
function stepTemplates(config: HttpConfig, index: number, step: HttpStep): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  if (step.url !== undefined) out.push(['url', step.url]);
  for (const [type, url] of Object.entries(step.url_by_type ?? {})) out.push([`url_by_type.${type}`, url]);
  if (index === 0) {
    for (const [type, url] of Object.entries(config.url_templates_by_type ?? {})) {
      out.push([`url_templates_by_type.${type}`, url]);
    }
  }
  for (const [name, value] of Object.entries(step.headers)) out.push([`headers.${name}`, value]);
  for (const [name, value] of Object.entries(step.query_params)) out.push([`query_params.${name}`, value]);
  if (step.json_body !== undefined) out.push(['json_body', step.json_body]);
  for (const [name, value] of Object.entries(step.form_body ?? {})) out.push([`form_body.${name}`, value]);
  return out;
}

/**
 * Static checks of an http_config's templates (the schema checks shape only): syntax, unknown
 * variables and filters, and `steps.<name>` references to steps that do not run earlier. Returns
 * human-readable problems; empty means valid. Core can run this on provider create/patch.
 */
export function checkHttpConfig(config: HttpConfig): string[] {
  const problems: string[] = [];
  const earlier = new Set<string>();
  config.steps.forEach((step, index) => {
    const name = stepName(step, index);
    for (const [label, template] of stepTemplates(config, index, step)) {
      let placeholders: Placeholder[];
      try {
        placeholders = placeholdersOf(template);
      } catch (error) {
        problems.push(
          `steps[${index}] (${name}) ${label}: ${error instanceof TemplateError ? error.message : String(error)}`,
        );
        continue;
      }
      for (const { ref, source } of placeholders) {
        if (ref.ns === 'steps' && !earlier.has(ref.step)) {
          problems.push(
            `steps[${index}] (${name}) ${label}: ${source} refers to step '${ref.step}', which does not run before it`,
          );
        }
      }
    }
    earlier.add(name);
  });
  if (!resultSteps(config).some(Boolean)) {
    problems.push('no step is a result: mark the lookup step `"result": true` (authentication steps are never kept)');
  }
  return problems;
}

/**
 * The `auth.*` keys a provider cannot run without for an indicator type: those referenced by its
 * required steps (optional steps may reference optional credentials). Unparseable templates are
 * ignored here; running them reports the error.
 */
export function requiredAuthKeys(config: HttpConfig, type: IndicatorType): string[] {
  const keys = new Set<string>();
  config.steps.forEach((step, index) => {
    if (step.optional) return;
    const templates: unknown[] = [stepUrlTemplate(config, index, type)];
    for (const [label, template] of stepTemplates(config, index, step)) {
      if (!label.startsWith('url')) templates.push(template);
    }
    for (const template of templates) {
      try {
        for (const { ref } of placeholdersOf(template)) if (ref.ns === 'auth') keys.add(ref.key);
      } catch {
        // reported when the step runs
      }
    }
  });
  return [...keys];
}
