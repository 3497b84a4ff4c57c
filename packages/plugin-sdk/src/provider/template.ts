import { boundedMemo, isRecord } from '../helpers.js';
import { resolvePath } from './path.js';

/**
 * The template language of provider `http_config` strings.
 *
 *   {{ expr }}                      whitespace inside the braces is ignored
 *   {{ expr | filter | filter }}    filters apply left to right
 *
 * Variables (anything else is an error, never an empty string):
 *   indicator.value, indicator.type   (shorthands: value, type)
 *   auth.<key>                        a credential field; missing → error `missing_credential`
 *   steps.<name>.<dot.path>           the JSON body of an earlier step (`steps.<name>` alone: the whole body);
 *                                     the reference spelling `steps.<name>.response.<path>` is accepted too
 *
 * Filters: urlencode (RFC 3986 component: only A-Z a-z 0-9 - . _ ~ stay), raw (no encoding), base64,
 * base64url (unpadded, e.g. VirusTotal URL ids), lower, upper, trim.
 *
 * Position decides the default encoding:
 *   - `url`: a value is percent-encoded as a path segment / query component unless its filters include
 *     `urlencode` (then encoded exactly there, not twice) or `raw` (inserted verbatim, e.g.
 *     `{{auth.base_url | raw}}/api/v1/ip/{{indicator.value}}`).
 *   - `text` (headers, query params, bodies): values are inserted as they are; query params and form
 *     bodies are encoded afterwards as a whole, by their position.
 */

export type TemplatePosition = 'url' | 'text';

export interface TemplateScope {
  indicator: { type: string; value: string };
  auth: Readonly<Record<string, string>>;
  /** Parsed bodies of the steps run so far, by step name. */
  steps: Readonly<Record<string, unknown>>;
}

export type TemplateErrorCode =
  | 'syntax'
  | 'unknown_variable'
  | 'unknown_filter'
  | 'missing_credential'
  | 'missing_value'
  /** A value that would change the request's path: a whole `.`/`..` segment (any encoding). */
  | 'unsafe_value';

export class TemplateError extends Error {
  readonly code: TemplateErrorCode;
  constructor(code: TemplateErrorCode, message: string) {
    super(message);
    this.name = 'TemplateError';
    this.code = code;
  }
}

/** What a masked render substitutes for every `auth.*` value. */
export const MASK = '***';

export const TEMPLATE_FILTERS = ['urlencode', 'raw', 'base64', 'base64url', 'lower', 'upper', 'trim'] as const;
export type TemplateFilter = (typeof TEMPLATE_FILTERS)[number];

export type TemplateRef =
  | { ns: 'indicator'; key: 'value' | 'type' }
  | { ns: 'auth'; key: string }
  | { ns: 'steps'; step: string; path: string | undefined };

export interface Placeholder {
  ref: TemplateRef;
  filters: TemplateFilter[];
  /** The placeholder as written, braces included. */
  source: string;
}

export type TemplateToken = string | Placeholder;

const PLACEHOLDER = /\{\{([\s\S]*?)\}\}/g;
const AUTH_REF = /^auth\.([A-Za-z0-9_]+)$/;
const STEP_REF = /^steps\.([A-Za-z_][A-Za-z0-9_-]*)(?:\.(\S+))?$/;

function isFilter(name: string): name is TemplateFilter {
  return (TEMPLATE_FILTERS as readonly string[]).includes(name);
}

function parseRef(expr: string): TemplateRef {
  if (expr === 'value' || expr === 'indicator.value') return { ns: 'indicator', key: 'value' };
  if (expr === 'type' || expr === 'indicator.type') return { ns: 'indicator', key: 'type' };
  const auth = AUTH_REF.exec(expr);
  if (auth?.[1] !== undefined) return { ns: 'auth', key: auth[1] };
  const step = STEP_REF.exec(expr);
  if (step?.[1] !== undefined) return { ns: 'steps', step: step[1], path: step[2] };
  throw new TemplateError('unknown_variable', `unknown template variable '${expr}'`);
}

export function parsePlaceholder(inner: string, source = `{{${inner}}}`): Placeholder {
  const [head = '', ...rest] = inner.split('|').map((part) => part.trim());
  if (head === '') throw new TemplateError('syntax', `empty placeholder ${source}`);
  const ref = parseRef(head);
  const filters = rest.map((name) => {
    if (name === '') throw new TemplateError('syntax', `empty filter in ${source}`);
    if (!isFilter(name)) throw new TemplateError('unknown_filter', `unknown template filter '${name}' in ${source}`);
    return name;
  });
  return { ref, filters, source };
}

/**
 * Parsed templates by text: a provider's templates are parsed on every call (several per step for
 * the credential analysis), and a config holds few. Templates up to 2,048 characters, 2,000 of them;
 * failures are not kept (they are reported when the step runs).
 */
const parseOnce = boundedMemo(parse, 2_000, 2_048);

/** Split a template into literal text and placeholders (frozen: shared between calls). Throws `TemplateError` on bad syntax. */
export function parseTemplate(template: string): readonly TemplateToken[] {
  return parseOnce(template);
}

function parse(template: string): readonly TemplateToken[] {
  const tokens: TemplateToken[] = [];
  let last = 0;
  const literal = (text: string) => {
    if (text.includes('{{')) throw new TemplateError('syntax', `unclosed '{{' in template '${template}'`);
    if (text !== '') tokens.push(text);
  };
  for (const match of template.matchAll(PLACEHOLDER)) {
    literal(template.slice(last, match.index));
    tokens.push(parsePlaceholder(match[1] ?? '', match[0]));
    last = match.index + match[0].length;
  }
  literal(template.slice(last));
  for (const token of tokens) {
    if (typeof token === 'string') continue;
    Object.freeze(token.ref);
    Object.freeze(token.filters);
    Object.freeze(token);
  }
  return Object.freeze(tokens);
}

/** Percent-encode as an RFC 3986 path segment / query component (unreserved characters stay). */
export function encodeComponent(text: string): string {
  try {
    return encodeURIComponent(text).replace(
      /[!'()*]/g,
      (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`,
    );
  } catch {
    throw new TemplateError('syntax', 'value is not valid Unicode and cannot be URL-encoded');
  }
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return JSON.stringify(value);
}

function describe(ref: TemplateRef): string {
  if (ref.ns === 'indicator') return `indicator.${ref.key}`;
  if (ref.ns === 'auth') return `auth.${ref.key}`;
  return ref.path === undefined ? `steps.${ref.step}` : `steps.${ref.step}.${ref.path}`;
}

/** The value a reference points at, or a `TemplateError` when it has none. */
export function lookup(ref: TemplateRef, scope: TemplateScope): unknown {
  if (ref.ns === 'indicator') return scope.indicator[ref.key];
  if (ref.ns === 'auth') {
    if (!Object.hasOwn(scope.auth, ref.key)) {
      throw new TemplateError('missing_credential', `credential 'auth.${ref.key}' is not configured`);
    }
    return scope.auth[ref.key];
  }
  if (!Object.hasOwn(scope.steps, ref.step)) {
    throw new TemplateError(
      'missing_value',
      `step '${ref.step}' has no response (not defined before this one, skipped or failed)`,
    );
  }
  const body = scope.steps[ref.step];
  let path = ref.path;
  // Reference spelling `steps.<name>.response.<path>`, unless the body really has a `response` key.
  if (path !== undefined && /^response(\.|$)/.test(path) && !(isRecord(body) && Object.hasOwn(body, 'response'))) {
    path = path === 'response' ? undefined : path.slice('response.'.length);
  }
  const value = path === undefined ? body : resolvePath(body, path);
  if (value === undefined || value === null) {
    throw new TemplateError('missing_value', `'${describe(ref)}' is missing in the response of step '${ref.step}'`);
  }
  return value;
}

function applyFilter(filter: TemplateFilter, text: string): string {
  switch (filter) {
    case 'urlencode':
      return encodeComponent(text);
    case 'raw':
      return text;
    case 'base64':
      return Buffer.from(text, 'utf8').toString('base64');
    case 'base64url':
      return Buffer.from(text, 'utf8').toString('base64url');
    case 'lower':
      return text.toLowerCase();
    case 'upper':
      return text.toUpperCase();
    case 'trim':
      return text.trim();
  }
}

export interface RenderOptions {
  position: TemplatePosition;
  /** Substitute `***` for every `auth.*` value (for debug output). */
  mask?: boolean;
}

function renderPlaceholder(placeholder: Placeholder, scope: TemplateScope, options: RenderOptions): string {
  if (options.mask === true && placeholder.ref.ns === 'auth') return MASK;
  let text = stringify(lookup(placeholder.ref, scope));
  for (const filter of placeholder.filters) text = applyFilter(filter, text);
  const explicit = placeholder.filters.includes('urlencode') || placeholder.filters.includes('raw');
  return options.position === 'url' && !explicit ? encodeComponent(text) : text;
}

/**
 * `.`, `..` and their percent-encoded forms: URL parsers (WHATWG, so Node and undici) remove such a
 * path segment and the one before it even when encoded as `%2e`, so no encoding keeps it a value.
 */
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/**
 * Render a template string. Throws `TemplateError` (syntax, unknown variable/filter, missing value,
 * and in a URL path a value that is a dot segment: `/api/v1/users/{{indicator.value}}` with `..`
 * would otherwise ask for `/api/v1/` — e.g. Okta's list of every user).
 */
export function renderTemplate(template: string, scope: TemplateScope, options: RenderOptions): string {
  let out = '';
  let inPath = options.position === 'url';
  for (const token of parseTemplate(template)) {
    if (typeof token === 'string') {
      out += token;
      if (inPath && (token.includes('?') || token.includes('#'))) inPath = false;
      continue;
    }
    const text = renderPlaceholder(token, scope, options);
    // An empty value from a response drops its segment just the same (Okta `/users/` lists every user).
    if (inPath && token.ref.ns === 'steps' && text === '') {
      throw new TemplateError('unsafe_value', `'${describe(token.ref)}' is empty, which would change the request path`);
    }
    if (inPath && DOT_SEGMENT.test(text)) {
      throw new TemplateError(
        'unsafe_value',
        `'${describe(token.ref)}' is '${text}', a URL dot segment that would change the request path`,
      );
    }
    out += text;
    if (inPath && (text.includes('?') || text.includes('#'))) inPath = false;
  }
  return out;
}

/**
 * Render every string inside a JSON value (`json_body`). Keys are not templated. A string that is
 * exactly one placeholder without filters becomes the referenced value with its JSON type
 * (`"{{steps.a.ids}}"` → the array), so bodies can carry numbers, lists and objects.
 */
export function renderJson(value: unknown, scope: TemplateScope, options: { mask?: boolean } = {}): unknown {
  if (typeof value === 'string') {
    const tokens = parseTemplate(value);
    const [only] = tokens;
    if (tokens.length === 1 && typeof only === 'object' && only.filters.length === 0) {
      if (options.mask === true && only.ref.ns === 'auth') return MASK;
      return lookup(only.ref, scope);
    }
    return renderTemplate(value, scope, { position: 'text', mask: options.mask ?? false });
  }
  if (Array.isArray(value)) return value.map((item) => renderJson(item, scope, options));
  if (isRecord(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = renderJson(item, scope, options);
    return out;
  }
  return value;
}

/** Every placeholder in a template or in the strings of a JSON value (parse errors propagate). */
export function placeholdersOf(value: unknown): Placeholder[] {
  if (typeof value === 'string') return parseTemplate(value).filter((t): t is Placeholder => typeof t !== 'string');
  if (Array.isArray(value)) return value.flatMap(placeholdersOf);
  if (isRecord(value)) return Object.values(value).flatMap(placeholdersOf);
  return [];
}
