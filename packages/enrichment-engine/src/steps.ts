import { authSentAsCredential, isRecord, resultSteps, stepName, stepUrlTemplate } from '@calseta/plugin-sdk';
import type { FailureReason, HttpConfig, HttpMethod, HttpStep, ProviderStepDebug } from '@calseta/schema';
import { isSensitiveName, maskHeaders, maskValue, secretForms, truncateBody } from './mask.js';
import type { HttpPort, HttpResponse, IndicatorRef } from './ports.js';
import { redactCredentials } from './redact.js';
import { encodeComponent, renderJson, renderTemplate, TemplateError, type TemplateScope } from './template.js';

export { resultSteps, stepName, stepUrlTemplate };

export const DEFAULT_STEP_TIMEOUT_MS = 30_000;
/** Pause applied after a 429 that carries no usable Retry-After. */
export const DEFAULT_RETRY_AFTER_MS = 60_000;
const RAW_TEXT_LIMIT = 2000;
/** Auth settings that are not secrets (they appear in answers): base URLs, domains, tenants, regions, ids. */
const PUBLIC_SETTING =
  /url|domain|host|tenant|region|org|realm|site|instance|endpoint|workspace|project|version|(^|_)id$/i;

export interface RunStepsInput {
  config: HttpConfig;
  indicator: IndicatorRef;
  auth: Readonly<Record<string, string>>;
  http: HttpPort;
  clock: () => Date;
  /** Aborted when the whole provider call must stop (per-call timeout). */
  signal?: AbortSignal;
  /** Collect per-step debug records (masked) for the provider test endpoint. */
  debug?: boolean;
}

export interface RateLimitHint {
  retryAfterMs: number;
}

interface OutcomeBase {
  /**
   * The result steps' bodies (authentication steps are never kept, see `resultSteps`), redacted of
   * credential material: one step's body, or `{ <step name>: body }` when the config has several steps.
   */
  raw: unknown;
  steps: ProviderStepDebug[];
  /** Set when any step answered 429 (even an optional one): the caller should pause the provider. */
  rateLimit: RateLimitHint | null;
}

export type StepsOutcome =
  | (OutcomeBase & { status: 'success' })
  | (OutcomeBase & { status: 'not_found'; step: string; httpStatus: number })
  | (OutcomeBase & { status: 'failed'; error: string; reason: StepFailure });

/** The failure reasons a step can cause (the rest come from the engine around the steps). */
export type StepFailure = Extract<
  FailureReason,
  'provider_http' | 'malformed_response' | 'transport' | 'timeout' | 'template'
>;

/** A step configuration that cannot produce a request (no URL for the type, invalid URL, bad header). */
class StepConfigError extends Error {}

interface BuiltRequest {
  method: HttpMethod;
  url: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** The body as a value, for debug output. */
  bodyValue: unknown;
}

export function stepTimeoutMs(step: HttpStep): number {
  if (step.timeout_ms !== undefined) return step.timeout_ms;
  if (step.timeout_seconds !== undefined) return Math.round(step.timeout_seconds * 1000);
  return DEFAULT_STEP_TIMEOUT_MS;
}

function hasHeader(headers: Record<string, string>, name: string): boolean {
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

function appendQuery(url: string, pairs: ReadonlyArray<readonly [string, string]>): string {
  if (pairs.length === 0) return url;
  const hash = url.indexOf('#');
  const base = hash === -1 ? url : url.slice(0, hash);
  const query = pairs.map(([k, v]) => `${encodeComponent(k)}=${encodeComponent(v)}`).join('&');
  const sep = !base.includes('?') ? '?' : /[?&]$/.test(base) ? '' : '&';
  return `${base}${sep}${query}`;
}

function buildRequest(
  config: HttpConfig,
  step: HttpStep,
  index: number,
  scope: TemplateScope,
  mask: boolean,
): BuiltRequest {
  const template = stepUrlTemplate(config, index, scope.indicator.type);
  if (template === undefined) throw new StepConfigError(`no URL for indicator type '${scope.indicator.type}'`);
  const text = (value: string | number | boolean) =>
    typeof value === 'string' ? renderTemplate(value, scope, { position: 'text', mask }) : String(value);

  const query = Object.entries(step.query_params).map(([k, v]) => [k, text(v)] as const);
  const url = appendQuery(renderTemplate(template, scope, { position: 'url', mask }), query);
  if (!mask) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new StepConfigError('the URL is not a valid absolute URL');
    }
    if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
      throw new StepConfigError(`URL scheme '${parsed.protocol}' is not http or https`);
    }
  }

  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(step.headers)) {
    const rendered = text(value);
    if (/[\r\n\0]/.test(rendered)) throw new StepConfigError(`header '${name}' would contain a line break`);
    headers[name] = rendered;
  }

  let body: string | undefined;
  let bodyValue: unknown = null;
  if (step.json_body !== undefined) {
    bodyValue = renderJson(step.json_body, scope, { mask });
    body = JSON.stringify(bodyValue);
    if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/json';
  } else if (step.form_body !== undefined) {
    const pairs = Object.entries(step.form_body).map(([k, v]) => [k, text(v)] as const);
    bodyValue = Object.fromEntries(pairs);
    body = new URLSearchParams(pairs.map(([k, v]): [string, string] => [k, v])).toString();
    if (!hasHeader(headers, 'content-type')) headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  return { method: step.method, url, headers, body, bodyValue };
}

type CallResult = { ok: true; response: HttpResponse } | { ok: false; error: string; reason: 'timeout' | 'transport' };

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/**
 * Call the port with a step timeout and the provider's outer signal. The port gets an AbortSignal;
 * whether or not it honours it, the engine stops waiting when the signal fires.
 */
async function callWithTimeout(
  http: HttpPort,
  request: BuiltRequest,
  timeoutMs: number,
  outer: AbortSignal | undefined,
): Promise<CallResult> {
  // One controller the outer signal aborts too (a listener, not AbortSignal.any: that one keeps weak
  // references for the GC to clear — measurable at a few calls per alert).
  const controller = new AbortController();
  const { signal } = controller;
  const forward = () => controller.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  let detach = () => outer?.removeEventListener('abort', forward);
  const aborted = new Promise<never>((_, reject) => {
    const onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      const detachOuter = detach;
      detach = () => {
        detachOuter();
        signal.removeEventListener('abort', onAbort);
      };
    }
  });
  aborted.catch(() => {});
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('step timeout'));
  }, timeoutMs);
  try {
    const wire = { method: request.method, url: request.url, headers: request.headers, timeoutMs, signal };
    const call = Promise.resolve().then(() =>
      http(request.body === undefined ? wire : { ...wire, body: request.body }),
    );
    call.catch(() => {});
    const response = await Promise.race([call, aborted]);
    return { ok: true, response };
  } catch (error) {
    if (timedOut) return { ok: false, error: `timed out after ${timeoutMs} ms`, reason: 'timeout' };
    if (outer?.aborted) return { ok: false, error: 'cancelled (provider call timed out)', reason: 'timeout' };
    return { ok: false, error: errorMessage(error), reason: 'transport' };
  } finally {
    clearTimeout(timer);
    detach();
  }
}

function isJsonContentType(headers: Readonly<Record<string, string>>): boolean {
  const type = Object.entries(headers).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  return /[/+]json\b/i.test(type);
}

type DecodedBody = { ok: true; value: unknown } | { ok: false; error: string };

/** Parse a response body: JSON (declared, or text that looks like it) or `{ _raw_text }`. */
export function decodeBody(response: Pick<HttpResponse, 'headers' | 'body'>): DecodedBody {
  const { body } = response;
  if (typeof body !== 'string') return { ok: true, value: body ?? null };
  const trimmed = body.trim();
  const declared = isJsonContentType(response.headers);
  if (declared && trimmed === '') return { ok: true, value: null };
  if (declared || trimmed.startsWith('{') || trimmed.startsWith('[')) {
    try {
      return { ok: true, value: JSON.parse(body) as unknown };
    } catch (error) {
      return { ok: false, error: `malformed JSON in response (${errorMessage(error)})` };
    }
  }
  return { ok: true, value: { _raw_text: body.slice(0, RAW_TEXT_LIMIT) } };
}

/** Retry-After in ms (delta-seconds or HTTP-date), or null when absent/unusable. */
export function parseRetryAfter(value: string | undefined, now: Date): number | null {
  if (value === undefined) return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now.getTime());
}

function header(headers: Readonly<Record<string, string>>, name: string): string | undefined {
  return Object.entries(headers).find(([k]) => k.toLowerCase() === name)?.[1];
}

/**
 * What the authentication steps issued (their bodies' long unbroken strings: tokens, session ids),
 * so a result that echoes one (`"X-Auth-Token": …`, a URL with `?session=…`) loses it whatever the
 * member is called. Bounded walk.
 */
function issuedValues(config: HttpConfig, results: readonly boolean[], bodies: Record<string, unknown>): string[] {
  const found: string[] = [];
  const walk = (value: unknown, depth: number): void => {
    if (found.length >= 100 || depth > 8) return;
    if (typeof value === 'string') {
      if (value.length >= 16 && !/\s/.test(value)) found.push(value);
    } else if (Array.isArray(value)) for (const item of value) walk(item, depth + 1);
    else if (isRecord(value)) for (const item of Object.values(value)) walk(item, depth + 1);
  };
  config.steps.forEach((step, index) => {
    const name = stepName(step, index);
    if (results[index] !== true && Object.hasOwn(bodies, name)) walk(bodies[name], 0);
  });
  return found;
}

/**
 * What a run keeps: only the result steps' bodies (an access token lives in `bodies` for later
 * templates, never here), redacted of credential material and of the provider's own secrets. The
 * shape keeps the step names when the config has several steps, so extraction paths stay the same.
 */
function assembleRaw(
  config: HttpConfig,
  results: readonly boolean[],
  bodies: Record<string, unknown>,
  configured: readonly string[],
): unknown {
  const issued = issuedValues(config, results, bodies);
  const secrets =
    issued.length === 0
      ? configured
      : [...configured, ...secretForms(Object.fromEntries(issued.map((value, i) => [i, value])))].sort(
          (a, b) => b.length - a.length,
        );
  if (config.steps.length === 1) {
    const [only] = Object.values(bodies);
    return results[0] === true ? redactCredentials(only ?? null, { secrets }) : null;
  }
  const kept: Record<string, unknown> = {};
  config.steps.forEach((step, index) => {
    const name = stepName(step, index);
    if (results[index] === true && Object.hasOwn(bodies, name)) kept[name] = bodies[name];
  });
  return redactCredentials(kept, { secrets });
}

/**
 * Run the steps of an http_config in order. Never throws: every problem becomes a `failed` outcome
 * (required step) or a skipped step (optional step).
 */
export async function runSteps(input: RunStepsInput): Promise<StepsOutcome> {
  const { config, indicator, auth, http, clock, signal, debug = false } = input;
  const masks = debug ? secretForms(auth) : [];
  // Auth values are redacted from results unless they are public settings — a tenant, a domain, a base
  // URL (Entra's `tenant_id` in a URL path, Okta's `domain`) appear in legitimate answers (a UPN, a link)
  // — that the config does not send as a credential (a header, a query parameter, a body). A key under
  // any other name (`auth.license` in `/v1/{{auth.license}}/…`) is a secret.
  const sent = authSentAsCredential(config);
  const secrets = secretForms(
    Object.fromEntries(
      Object.entries(auth).filter(([key]) => isSensitiveName(key) || sent.has(key) || !PUBLIC_SETTING.test(key)),
    ),
  );
  const steps: ProviderStepDebug[] = [];
  const bodies: Record<string, unknown> = {};
  const results = resultSteps(config);
  /** What the run keeps of the bodies so far (see `assembleRaw`). */
  const raw = () => assembleRaw(config, results, bodies, secrets);
  const scope: TemplateScope = { indicator, auth, steps: bodies };
  let rateLimit: RateLimitHint | null = null;

  for (const [index, step] of config.steps.entries()) {
    const name = stepName(step, index);
    const started = performance.now();
    const record: ProviderStepDebug = {
      step_name: name,
      step_index: index,
      method: step.method,
      url: null,
      request_headers: {},
      request_body: null,
      status: null,
      response_headers: {},
      response_body: null,
      duration_ms: 0,
      outcome: 'ok',
      error: null,
    };
    if (debug) steps.push(record);

    const finish = (outcome: ProviderStepDebug['outcome'], error: string | null, durationMs?: number) => {
      record.outcome = outcome;
      record.error = error;
      record.duration_ms = durationMs ?? Math.round(performance.now() - started);
    };
    const fail = (error: string, reason: StepFailure, durationMs?: number): StepsOutcome => {
      finish('failed', error, durationMs);
      return { status: 'failed', error, reason, raw: raw(), steps, rateLimit };
    };

    if (debug) {
      try {
        const masked = buildRequest(config, step, index, scope, true);
        record.url = masked.url;
        record.request_headers = maskHeaders(masked.headers, masks);
        record.request_body = maskValue(masked.bodyValue, masks);
      } catch {
        // The real build below reports the problem.
      }
    }

    let request: BuiltRequest;
    try {
      request = buildRequest(config, step, index, scope, false);
    } catch (error) {
      const known = error instanceof TemplateError || error instanceof StepConfigError;
      const message = `Step '${name}': ${known ? error.message : `cannot build the request (${errorMessage(error)})`}`;
      if (step.optional) {
        finish('skipped', message);
        continue;
      }
      return fail(message, 'template');
    }

    const timeoutMs = stepTimeoutMs(step);
    const call = await callWithTimeout(http, request, timeoutMs, signal);
    if (!call.ok) {
      const message = `Step '${name}' failed: ${call.error}`;
      if (step.optional) {
        finish('skipped', message);
        continue;
      }
      return fail(message, call.reason);
    }

    const { response } = call;
    record.status = response.status;
    if (debug) record.response_headers = maskHeaders(response.headers, masks);
    const durationMs = Number.isFinite(response.durationMs) ? response.durationMs : undefined;

    if (step.not_found_status.includes(response.status)) {
      bodies[name] = { status_code: response.status };
      finish('not_found', null, durationMs);
      return {
        status: 'not_found',
        step: name,
        httpStatus: response.status,
        raw: raw(),
        steps,
        rateLimit,
      };
    }

    if (!step.expected_status.includes(response.status)) {
      if (response.status === 429) {
        const retryAfterMs = parseRetryAfter(header(response.headers, 'retry-after'), clock());
        rateLimit = { retryAfterMs: retryAfterMs ?? DEFAULT_RETRY_AFTER_MS };
      }
      if (debug) {
        const decoded = decodeBody(response);
        record.response_body = truncateBody(
          maskValue(redactCredentials(decoded.ok ? decoded.value : response.body), masks),
        );
      }
      const message = `Step '${name}' returned HTTP ${response.status}`;
      if (step.optional) {
        finish('skipped', message, durationMs);
        continue;
      }
      return fail(message, 'provider_http', durationMs);
    }

    const decoded = decodeBody(response);
    if (!decoded.ok) {
      const message = `Step '${name}' returned ${decoded.error}`;
      if (step.optional) {
        finish('skipped', message, durationMs);
        continue;
      }
      return fail(message, 'malformed_response', durationMs);
    }
    if (debug) record.response_body = truncateBody(maskValue(redactCredentials(decoded.value), masks));
    bodies[name] = decoded.value;
    finish('ok', null, durationMs);
  }

  return { status: 'success', raw: raw(), steps, rateLimit };
}
