/**
 * @calseta/plugin-sdk/testing — the conformance kit a plugin author runs in their own tests.
 *
 * Two ways to use it, both free of any test-runner import:
 *
 * - `alertSourceConformance(source, suite, { describe, it })` / `enrichmentProviderConformance(...)`
 *   register one test per check with the runner's `describe` and `it` (vitest, node:test, jest, mocha);
 *   a failing check throws an `Error` listing every problem.
 * - `checkAlertSource(source, suite)` / `checkEnrichmentProvider(provider, suite)` return a plain
 *   `ConformanceReport` (`{ ok, checks: [{ name, ok, problems }] }`) for any other use (a CLI, CI).
 *
 * Every check is what core enforces at runtime (or what makes a plugin useful): validated with the
 * same schemas and evaluated with the same malice-rule, extraction and template code as the engine.
 */
import {
  type AlertSeverity,
  DetectionRuleRefSchema,
  ExtractedIndicatorSchema,
  type IndicatorType,
  IndicatorTypeSchema,
  type MaliceLevel,
  NormalizedAlertSchema,
  type ProviderImport,
  ProviderImportSchema,
} from '@calseta/schema';
import type { AlertSource } from './alert-source.js';
import { checkHttpConfig } from './provider/check.js';
import { coerce, extractFields } from './provider/extract.js';
import { evaluateMalice, jsonEqual } from './provider/malice.js';
import { resolvePath } from './provider/path.js';
import { placeholdersOf } from './provider/template.js';

// ------------------------------------------------------------------ reports and runner

export interface ConformanceCheck {
  name: string;
  ok: boolean;
  problems: string[];
}

export interface ConformanceReport {
  /** True when every check passed. */
  ok: boolean;
  checks: ConformanceCheck[];
}

/** The two functions of a test runner the kit registers tests with (vitest's, node:test's, jest's…). */
export interface TestRunner {
  describe(name: string, body: () => void): unknown;
  it(name: string, body: () => void): unknown;
}

interface NamedCheck {
  name: string;
  run(): string[];
}

function runCheck(check: NamedCheck): ConformanceCheck {
  let problems: string[];
  try {
    problems = check.run();
  } catch (error) {
    problems = [`the check itself threw: ${describeError(error)}`];
  }
  return { name: check.name, ok: problems.length === 0, problems };
}

function report(checks: readonly NamedCheck[]): ConformanceReport {
  const results = checks.map(runCheck);
  return { ok: results.every((c) => c.ok), checks: results };
}

function register(title: string, checks: readonly NamedCheck[], runner: TestRunner): void {
  runner.describe(title, () => {
    for (const check of checks) {
      runner.it(check.name, () => {
        const result = runCheck(check);
        if (!result.ok) throw new Error(`${check.name}:\n  - ${result.problems.join('\n  - ')}`);
      });
    }
  });
}

/** A readable summary of a report: one line per check, problems indented below failed ones. */
export function formatReport(result: ConformanceReport): string {
  return result.checks
    .map((c) => `${c.ok ? 'ok  ' : 'FAIL'} ${c.name}${c.problems.map((p) => `\n       - ${p}`).join('')}`)
    .join('\n');
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function show(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Call a plugin method; a throw becomes a problem (plugins must never throw). */
function guarded<T>(problems: string[], label: string, call: () => T): { ok: true; value: T } | { ok: false } {
  try {
    return { ok: true, value: call() };
  } catch (error) {
    problems.push(`${label} threw: ${describeError(error)}`);
    return { ok: false };
  }
}

function zodProblems(label: string, issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): string[] {
  return issues.map((i) => `${label}${i.path.length ? `.${i.path.map(String).join('.')}` : ''}: ${i.message}`);
}

// ------------------------------------------------------------------ alert sources

export interface ExpectedIndicator {
  type: IndicatorType;
  value: string;
}

/** A real (recorded or documented) payload the source must accept, and what it must make of it. */
export interface AlertSourceCase {
  name: string;
  payload: unknown;
  expect?: {
    title?: string;
    severity?: AlertSeverity;
    /** ISO-8601 UTC, or null when the payload carries no usable time. */
    occurred_at?: string | null;
    /** Indicators that must be extracted (others may be too). */
    indicators?: readonly ExpectedIndicator[];
    /** The detection rule id (`source_rule_id`); null when the payload names no rule. */
    detection_rule_id?: string | null;
    tags?: readonly string[];
  };
}

export interface AlertSourceSuite {
  /** At least one; use realistic payloads (fixtures/). */
  valid: readonly AlertSourceCase[];
  /** Payloads that must be rejected with issues. Junk (null, numbers, strings, arrays, {}) is always tried. */
  invalid?: ReadonlyArray<{ name: string; payload: unknown }>;
  /** Severity mapping table: each payload must normalize to `severity`. */
  severities?: ReadonlyArray<{ name: string; payload: unknown; severity: AlertSeverity }>;
  /**
   * When the source verifies webhook signatures: how a sender signs a body. The kit checks that a
   * signed body is accepted and that a tampered body, a wrong secret and missing headers are refused.
   */
  signature?: {
    secret: string;
    sign(rawBody: Uint8Array, secret: string): Record<string, string>;
    /** False for sources that send the shared secret itself (nothing binds it to the body). Default true. */
    coversBody?: boolean;
  };
}

const JUNK: ReadonlyArray<[string, unknown]> = [
  ['null', null],
  ['a number', 42],
  ['a string', 'not an alert'],
  ['a boolean', true],
  ['an array', [{ title: 'x' }]],
  ['an empty object', {}],
];

const SOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function validationProblems(result: unknown, label: string, want: boolean): string[] {
  if (typeof result !== 'object' || result === null || typeof (result as { ok?: unknown }).ok !== 'boolean') {
    return [`${label}: validate returned ${show(result)}, not { ok: boolean }`];
  }
  const r = result as { ok: boolean; issues?: unknown };
  if (r.ok !== want) {
    const why = r.ok ? '' : ` (issues: ${show(r.issues)})`;
    return [`${label}: validate said ok=${r.ok}, expected ok=${want}${why}`];
  }
  if (r.ok) return [];
  if (!Array.isArray(r.issues) || r.issues.length === 0) return [`${label}: rejected without issues`];
  const bad = r.issues.filter(
    (i: unknown) =>
      typeof i !== 'object' ||
      i === null ||
      typeof (i as { path?: unknown }).path !== 'string' ||
      typeof (i as { message?: unknown }).message !== 'string' ||
      (i as { message: string }).message.trim() === '',
  );
  return bad.length > 0 ? [`${label}: issues must be { path: string, message: string }: ${show(bad)}`] : [];
}

/** The checks of an alert source, in order. */
function alertSourceChecks(source: AlertSource, suite: AlertSourceSuite): NamedCheck[] {
  const checks: NamedCheck[] = [
    {
      name: 'declares a valid name, display name and documented extractions',
      run: () => {
        const problems: string[] = [];
        if (!SOURCE_NAME.test(source.name)) problems.push(`name "${source.name}" must match ${SOURCE_NAME}`);
        if (typeof source.displayName !== 'string' || !source.displayName.trim()) problems.push('displayName is empty');
        if (!Array.isArray(source.documentedExtractions)) problems.push('documentedExtractions is not an array');
        for (const [i, e] of (source.documentedExtractions ?? []).entries()) {
          if (!e.field_path?.trim()) problems.push(`documentedExtractions[${i}].field_path is empty`);
          if (!IndicatorTypeSchema.safeParse(e.indicator_type).success) {
            problems.push(`documentedExtractions[${i}].indicator_type "${e.indicator_type}" is not an indicator type`);
          }
          if (!e.description?.trim()) problems.push(`documentedExtractions[${i}].description is empty`);
        }
        if (suite.valid.length === 0) problems.push('the suite needs at least one valid payload');
        return problems;
      },
    },
    {
      name: 'accepts every valid payload',
      run: () =>
        suite.valid.flatMap((c) => {
          const problems: string[] = [];
          const result = guarded(problems, `${c.name}: validate`, () => source.validate(c.payload));
          return result.ok ? validationProblems(result.value, c.name, true) : problems;
        }),
    },
    {
      name: 'rejects junk and invalid payloads with issues, without throwing',
      run: () => {
        const cases = [
          ...JUNK.map(([name, payload]) => ({ name: `junk (${name})`, payload })),
          ...(suite.invalid ?? []),
        ];
        return cases.flatMap((c) => {
          const problems: string[] = [];
          const result = guarded(problems, `${c.name}: validate`, () => source.validate(c.payload));
          return result.ok ? validationProblems(result.value, c.name, false) : problems;
        });
      },
    },
    {
      name: 'normalizes every valid payload to the agent-native alert schema, deterministically',
      run: () =>
        suite.valid.flatMap((c) => {
          const problems: string[] = [];
          const first = guarded(problems, `${c.name}: normalize`, () => source.normalize(c.payload));
          if (!first.ok) return problems;
          const parsed = NormalizedAlertSchema.safeParse(first.value);
          if (!parsed.success) return zodProblems(`${c.name}: normalized`, parsed.error.issues);
          const second = guarded(problems, `${c.name}: normalize (again)`, () => source.normalize(c.payload));
          if (
            second.ok &&
            !jsonEqual(JSON.parse(JSON.stringify(first.value)), JSON.parse(JSON.stringify(second.value)))
          ) {
            problems.push(`${c.name}: normalize gave different results for the same payload`);
          }
          const e = c.expect;
          if (e?.title !== undefined && parsed.data.title !== e.title) {
            problems.push(`${c.name}: title ${show(parsed.data.title)}, expected ${show(e.title)}`);
          }
          if (e?.severity !== undefined && parsed.data.severity !== e.severity) {
            problems.push(`${c.name}: severity ${parsed.data.severity}, expected ${e.severity}`);
          }
          if (e?.occurred_at !== undefined && parsed.data.occurred_at !== e.occurred_at) {
            problems.push(`${c.name}: occurred_at ${show(parsed.data.occurred_at)}, expected ${show(e.occurred_at)}`);
          }
          for (const tag of e?.tags ?? []) {
            if (!parsed.data.tags.includes(tag)) problems.push(`${c.name}: tag ${show(tag)} missing`);
          }
          return problems;
        }),
    },
    {
      name: 'extracts well-formed, deduplicated indicators (and the expected ones)',
      run: () =>
        suite.valid.flatMap((c) => {
          const problems: string[] = [];
          const result = guarded(problems, `${c.name}: extractIndicators`, () => source.extractIndicators(c.payload));
          if (!result.ok) return problems;
          if (!Array.isArray(result.value)) return [`${c.name}: extractIndicators returned ${show(result.value)}`];
          const seen = new Set<string>();
          for (const [i, item] of result.value.entries()) {
            const parsed = ExtractedIndicatorSchema.safeParse(item);
            if (!parsed.success) {
              problems.push(...zodProblems(`${c.name}: indicator[${i}]`, parsed.error.issues));
              continue;
            }
            if (parsed.data.value !== parsed.data.value.trim() || parsed.data.value === '') {
              problems.push(`${c.name}: indicator[${i}] value ${show(parsed.data.value)} is not trimmed`);
            }
            if (!parsed.data.source_field?.trim()) problems.push(`${c.name}: indicator[${i}] has no source_field`);
            const key = `${parsed.data.type}\u0000${parsed.data.value}`;
            if (seen.has(key)) problems.push(`${c.name}: ${parsed.data.type} ${parsed.data.value} extracted twice`);
            seen.add(key);
          }
          for (const want of c.expect?.indicators ?? []) {
            if (!seen.has(`${want.type}\u0000${want.value}`)) {
              problems.push(`${c.name}: expected indicator ${want.type} ${want.value} was not extracted`);
            }
          }
          return problems;
        }),
    },
    {
      name: 'names its detection rule in the schema shape',
      run: () =>
        suite.valid.flatMap((c) => {
          if (source.detectionRule === undefined) {
            return c.expect?.detection_rule_id ? [`${c.name}: expects a rule but the source has no detectionRule`] : [];
          }
          const problems: string[] = [];
          const result = guarded(problems, `${c.name}: detectionRule`, () => source.detectionRule?.(c.payload));
          if (!result.ok) return problems;
          const ref = result.value ?? null;
          if (ref !== null) {
            const parsed = DetectionRuleRefSchema.safeParse(ref);
            if (!parsed.success) problems.push(...zodProblems(`${c.name}: detection rule`, parsed.error.issues));
          }
          const want = c.expect?.detection_rule_id;
          if (want !== undefined && (ref?.source_rule_id ?? null) !== want) {
            problems.push(`${c.name}: detection rule id ${show(ref?.source_rule_id ?? null)}, expected ${show(want)}`);
          }
          return problems;
        }),
    },
  ];
  if (suite.severities !== undefined) {
    const severities = suite.severities;
    checks.push({
      name: 'maps source severities',
      run: () =>
        severities.flatMap((c) => {
          const problems: string[] = [];
          const result = guarded(problems, `${c.name}: normalize`, () => source.normalize(c.payload));
          if (!result.ok) return problems;
          const got = (result.value as { severity?: unknown }).severity;
          return got === c.severity ? [] : [`${c.name}: severity ${show(got)}, expected ${c.severity}`];
        }),
    });
  }
  if (suite.signature !== undefined || source.verifySignature !== undefined) {
    const signature = suite.signature;
    checks.push({
      name: 'verifies webhook signatures',
      run: () => {
        if (source.verifySignature === undefined)
          return ['the suite signs requests but the source has no verifySignature'];
        if (signature === undefined) return ['the source verifies signatures: give the suite a `signature` signer'];
        const verify = source.verifySignature.bind(source);
        const body = new TextEncoder().encode(JSON.stringify(suite.valid[0]?.payload ?? {}));
        const headers = signature.sign(body, signature.secret);
        const tampered = new TextEncoder().encode(`${JSON.stringify(suite.valid[0]?.payload ?? {})} `);
        const problems: string[] = [];
        const attempt = (label: string, request: Parameters<typeof verify>[0], want: boolean) => {
          const result = guarded(problems, `verifySignature (${label})`, () => verify(request));
          if (result.ok && result.value !== want) problems.push(`verifySignature (${label}) returned ${result.value}`);
        };
        attempt('signed body', { headers, rawBody: body, secret: signature.secret }, true);
        if (signature.coversBody !== false) {
          attempt('tampered body', { headers, rawBody: tampered, secret: signature.secret }, false);
        }
        attempt('wrong secret', { headers, rawBody: body, secret: `${signature.secret}-wrong` }, false);
        attempt('no headers', { headers: {}, rawBody: body, secret: signature.secret }, false);
        return problems;
      },
    });
  }
  return checks;
}

/** Run every alert-source check and return the results. */
export function checkAlertSource(source: AlertSource, suite: AlertSourceSuite): ConformanceReport {
  return report(alertSourceChecks(source, suite));
}

/** Register the alert-source checks with a test runner: `alertSourceConformance(src, suite, { describe, it })`. */
export function alertSourceConformance(source: AlertSource, suite: AlertSourceSuite, runner: TestRunner): void {
  register(`alert source "${source.name}" conformance`, alertSourceChecks(source, suite), runner);
}

// ------------------------------------------------------------------ enrichment providers

/** A recorded provider response and what the provider must make of it. */
export interface RecordedResponse {
  name: string;
  indicator: { type: IndicatorType; value: string };
  /**
   * The raw response as the engine sees it: the parsed JSON body for a one-step provider; for several
   * steps an object of bodies by step name (`{ lookup: {...}, details: {...} }`).
   */
  response: unknown;
  /** The verdict the malice rules must give. */
  verdict: MaliceLevel;
  /** The extracted fields, exactly (omit to only check the extractions run). */
  fields?: Record<string, unknown>;
}

export interface EnrichmentProviderSuite {
  /** At least one; recorded from the real API (fixtures/), secrets removed. */
  responses: readonly RecordedResponse[];
  /**
   * Require every malice rule to decide at least one recorded response and every active extraction to
   * find a value in one (default true): an untested rule or path is a guess about the vendor's API.
   */
  coverage?: boolean;
}

/** Every string inside a JSON value (each parsed on its own, so one bad template hides nothing). */
function templateStrings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(templateStrings);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(templateStrings);
  return [];
}

function maliceNumeric(operator: string): boolean {
  return ['>', '>=', '<', '<='].includes(operator);
}

/** The checks of an enrichment provider (the import-file shape), in order. */
function providerChecks(input: unknown, suite: EnrichmentProviderSuite): NamedCheck[] {
  const parsed = ProviderImportSchema.safeParse(input);
  const provider: ProviderImport | undefined = parsed.success ? parsed.data : undefined;
  const needProvider = (run: (p: ProviderImport) => string[]) => () =>
    provider === undefined ? ['skipped: the definition does not validate'] : run(provider);
  const coverage = suite.coverage ?? true;
  return [
    {
      name: 'validates against the provider import schema',
      run: () => {
        if (!parsed.success) return zodProblems('provider file', parsed.error.issues);
        const problems: string[] = [];
        const p = parsed.data;
        if (p.provider.auth_config !== null)
          problems.push('provider.auth_config: credentials must not ship with a plugin');
        for (const [i, e] of p.field_extractions.entries()) {
          if (e.provider_name !== undefined && e.provider_name !== p.provider.provider_name) {
            problems.push(`field_extractions[${i}].provider_name must be "${p.provider.provider_name}" or omitted`);
          }
          if (!p.provider.supported_indicator_types.includes(e.indicator_type)) {
            problems.push(`field_extractions[${i}]: ${e.indicator_type} is not a supported indicator type`);
          }
        }
        const keys = new Set<string>();
        for (const e of p.field_extractions) {
          const key = `${e.indicator_type}.${e.target_key}`;
          if (keys.has(key))
            problems.push(`field_extractions: target_key "${e.target_key}" twice for ${e.indicator_type}`);
          keys.add(key);
        }
        if (suite.responses.length === 0) problems.push('the suite needs at least one recorded response');
        return problems;
      },
    },
    {
      name: 'uses only known template variables and filters, steps in order',
      run: needProvider((p) => {
        const problems = checkHttpConfig(p.provider.http_config).map((x) => `http_config.${x}`);
        const used = new Set<string>();
        for (const template of templateStrings(p.provider.http_config)) {
          try {
            for (const { ref } of placeholdersOf(template)) if (ref.ns === 'auth') used.add(ref.key);
          } catch {
            // reported by checkHttpConfig
          }
        }
        const mapping = p.provider.env_var_mapping;
        if (mapping !== null) {
          for (const key of used) {
            if (!Object.hasOwn(mapping, key)) {
              problems.push(`auth.${key} is used but env_var_mapping does not map it to an environment variable`);
            }
          }
          for (const key of Object.keys(mapping)) {
            if (!used.has(key)) problems.push(`env_var_mapping maps "${key}", which no template uses`);
          }
        }
        if (used.size > 0 && p.provider.auth_type === 'no_auth') {
          problems.push(`templates use ${[...used].map((k) => `auth.${k}`).join(', ')} but auth_type is no_auth`);
        }
        return problems;
      }),
    },
    {
      name: 'has well-formed malice rules',
      run: needProvider((p) => {
        const rules = p.provider.malice_rules;
        if (rules === null) return [];
        const problems: string[] = [];
        for (const [i, rule] of rules.rules.entries()) {
          if (maliceNumeric(rule.operator) && coerce(rule.value, 'float').ok === false) {
            problems.push(`malice_rules.rules[${i}]: ${rule.operator} needs a numeric value, got ${show(rule.value)}`);
          }
          const earlier = rules.rules
            .slice(0, i)
            .findIndex((r) => r.field === rule.field && r.operator === rule.operator && jsonEqual(r.value, rule.value));
          if (earlier >= 0) problems.push(`malice_rules.rules[${i}] repeats rules[${earlier}] and can never decide`);
        }
        return problems;
      }),
    },
    {
      name: 'gives the expected verdict for every recorded response',
      run: needProvider((p) =>
        suite.responses.flatMap((r) => {
          const problems: string[] = [];
          if (!p.provider.supported_indicator_types.includes(r.indicator.type)) {
            problems.push(`${r.name}: ${r.indicator.type} is not a supported indicator type`);
          }
          const { verdict, explanation } = evaluateMalice(p.provider.malice_rules, r.response, {
            provider: p.provider.provider_name,
            fetchedAt: null,
          });
          if (verdict !== r.verdict) {
            const why =
              explanation.reason === 'rule'
                ? `rule ${explanation.rule_index} (${explanation.field})`
                : explanation.reason;
            problems.push(`${r.name}: verdict ${verdict} by ${why}, expected ${r.verdict}`);
          }
          return problems;
        }),
      ),
    },
    {
      name: 'extracts the expected fields from every recorded response',
      run: needProvider((p) => {
        return suite.responses.flatMap((r) => {
          const got = extractFields(r.response, p.field_extractions, r.indicator.type);
          if (r.fields === undefined || jsonEqual(got, r.fields)) return [];
          return [`${r.name}: extracted ${show(got)}, expected ${show(r.fields)}`];
        });
      }),
    },
    ...(coverage
      ? [
          {
            name: 'every malice rule and extraction is exercised by a recorded response',
            run: needProvider((p) => {
              const problems: string[] = [];
              const decided = new Set<number>();
              for (const r of suite.responses) {
                const { explanation } = evaluateMalice(p.provider.malice_rules, r.response, {
                  provider: p.provider.provider_name,
                  fetchedAt: null,
                });
                if (explanation.rule_index !== null) decided.add(explanation.rule_index);
              }
              for (const [i, rule] of (p.provider.malice_rules?.rules ?? []).entries()) {
                if (!decided.has(i)) {
                  problems.push(
                    `malice_rules.rules[${i}] (${rule.field} ${rule.operator} ${show(rule.value)}) decides no recorded response`,
                  );
                }
              }
              for (const [i, e] of p.field_extractions.entries()) {
                if (!e.is_active) continue;
                const found = suite.responses.some((r) => {
                  if (r.indicator.type !== e.indicator_type) return false;
                  const value = resolvePath(r.response, e.source_path);
                  return value !== undefined && value !== null && coerce(value, e.value_type).ok;
                });
                if (!found) {
                  problems.push(
                    `field_extractions[${i}] (${e.indicator_type} ${e.source_path}) finds no value in any recorded ${e.indicator_type} response`,
                  );
                }
              }
              return problems;
            }),
          },
        ]
      : []),
  ];
}

/** Run every enrichment-provider check on a provider (as `defineEnrichmentProvider` returns, or a parsed JSON file). */
export function checkEnrichmentProvider(provider: unknown, suite: EnrichmentProviderSuite): ConformanceReport {
  return report(providerChecks(provider, suite));
}

/** Register the provider checks with a test runner: `enrichmentProviderConformance(p, suite, { describe, it })`. */
export function enrichmentProviderConformance(
  provider: unknown,
  suite: EnrichmentProviderSuite,
  runner: TestRunner,
): void {
  const name =
    typeof provider === 'object' && provider !== null
      ? String((provider as { provider?: { provider_name?: unknown } }).provider?.provider_name ?? '(unnamed)')
      : '(unnamed)';
  register(`enrichment provider "${name}" conformance`, providerChecks(provider, suite), runner);
}
