import type { HttpConfig, HttpStep } from '@calseta/schema';
import { placeholdersOf, type TemplateRef } from './template.js';

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
 * The templates of a step that carry credentials when they reference something: headers, query
 * parameters (in `query_params` or after the `?` of a URL template) and bodies. A URL's path carries
 * identifiers (`/users/{{steps.user_lookup.id}}`), not credentials.
 */
export function credentialTemplates(step: HttpStep, extraUrls: readonly (string | undefined)[] = []): unknown[] {
  const urls = [step.url, ...Object.values(step.url_by_type ?? {}), ...extraUrls].filter(
    (u): u is string => typeof u === 'string',
  );
  const queries = urls.flatMap((url) => (url.includes('?') ? [url.slice(url.indexOf('?'))] : []));
  return [
    ...Object.values(step.headers),
    ...Object.values(step.query_params),
    ...queries,
    ...(step.json_body === undefined ? [] : [step.json_body]),
    ...Object.values(step.form_body ?? {}),
  ];
}

/** The references of some templates (an unparseable one is skipped: it fails when its step runs). */
function refsOf(templates: readonly unknown[]): TemplateRef[] {
  const refs: TemplateRef[] = [];
  for (const template of templates) {
    try {
      for (const { ref } of placeholdersOf(template)) refs.push(ref);
    } catch {
      // reported when the step runs
    }
  }
  return refs;
}

/** The `auth.*` values a config sends as credentials (in a header, a query parameter or a body). */
export function authSentAsCredential(config: HttpConfig): Set<string> {
  const keys = new Set<string>();
  const topUrls = Object.values(config.url_templates_by_type ?? {});
  config.steps.forEach((step, index) => {
    for (const ref of refsOf(credentialTemplates(step, index === 0 ? topUrls : [])))
      if (ref.ns === 'auth') keys.add(ref.key);
  });
  return keys;
}

/** Member names that hold a credential when a later step sends them (`session`, `sessionKey`, `client_token`, `key`). */
const CREDENTIAL_PARTS = [
  'token',
  'session',
  'secret',
  'passw',
  'apikey',
  'auth',
  'ticket',
  'cookie',
  'jwt',
  'credential',
  'bearer',
];
const CREDENTIAL_WORDS = new Set(['key', 'sid', 'code', 'sig', 'signature', 'assertion']);

function isCredentialPath(path: string | undefined): boolean {
  if (path === undefined) return true; // the whole body
  const leaf = (path.split('.').pop() ?? '').toLowerCase().replace(/[^a-z0-9]/g, '');
  return CREDENTIAL_WORDS.has(leaf) || CREDENTIAL_PARTS.some((part) => leaf.includes(part));
}

/**
 * Which steps' bodies form the provider's result (stored, returned, read by extractions and malice
 * rules). A step's own `result` flag decides; unset, a step is an authentication step, never kept,
 * when a later step sends its body in a header (`Authorization: Bearer {{steps.token.access_token}}`)
 * or sends a credential-named member of it in a query parameter or a body
 * (`?session={{steps.login.session}}`); every other step is a result (ids sent in a URL path or a
 * body: `{{steps.search.data.id}}`). Safe for providers written before the flag: their token steps
 * drop out, their lookup steps keep the names their extraction paths use.
 */
export function resultSteps(config: HttpConfig): boolean[] {
  const authentication = new Set<string>();
  for (const step of config.steps) {
    for (const ref of refsOf(Object.values(step.headers))) if (ref.ns === 'steps') authentication.add(ref.step);
    for (const ref of refsOf(credentialTemplates(step))) {
      if (ref.ns === 'steps' && isCredentialPath(ref.path)) authentication.add(ref.step);
    }
  }
  return config.steps.map((step, index) => step.result ?? !authentication.has(stepName(step, index)));
}
