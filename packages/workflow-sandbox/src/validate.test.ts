import { describe, expect, it } from 'vitest';
import { formatValidationError, validateWorkflowCode } from './validate.js';

function errorsOf(code: string) {
  const result = validateWorkflowCode(code);
  return result.ok ? [] : result.errors;
}

describe('validateWorkflowCode', () => {
  it('accepts the forms of an exported run', () => {
    for (const code of [
      'export async function run(ctx) { return WorkflowResult.ok("x"); }',
      'export function run(ctx) { return WorkflowResult.ok(); }',
      'export const run = async (ctx) => WorkflowResult.ok();',
      'export const run = async function (ctx) { return WorkflowResult.ok(); };',
      'async function main(ctx) { return WorkflowResult.ok(); }\nexport { main as run };',
      'const helper = 1;\nexport async function run(ctx) { const x = { process: 1, eval: 2 }; return WorkflowResult.ok(x.process + helper); }',
      'export async function run(ctx) { const r = await ctx.http.get("https://a.test"); return WorkflowResult.ok("s", r.json()); }',
    ]) {
      expect(validateWorkflowCode(code), code).toEqual({ ok: true });
    }
  });

  it('reports syntax errors with 1-based line and column', () => {
    expect(errorsOf('export async function run(ctx) {\n  const x = ;\n}')).toEqual([
      { message: 'Syntax error: Unexpected token', line: 2, column: 13 },
    ]);
  });

  it('requires an exported function named run', () => {
    expect(errorsOf('async function run(ctx) {}')).toEqual([
      { message: "Workflow code must export a function named 'run'", line: 1, column: 1 },
    ]);
    expect(errorsOf('export const run = 5;')).toEqual([
      { message: "'run' must be declared as a function (or a const holding a function)", line: 1, column: 14 },
    ]);
    expect(errorsOf('export function* run() {}')[0]?.message).toBe("'run' must be a function, not a generator");
    expect(errorsOf('export default async function run() {}')[0]?.message).toContain('export default is not allowed');
  });

  it('refuses imports, dynamic import and re-exports', () => {
    const errors = errorsOf(
      [
        "import fs from 'fs';",
        "export * from 'os';",
        'export async function run(ctx) {',
        "  const m = await import('child_process');",
        '  return WorkflowResult.ok();',
        '}',
      ].join('\n'),
    );
    expect(errors).toEqual([
      { message: "import of 'fs' is not allowed (workflows cannot import modules; use ctx)", line: 1, column: 1 },
      { message: "re-export from 'os' is not allowed", line: 2, column: 1 },
      { message: 'dynamic import() is not allowed', line: 4, column: 19 },
    ]);
  });

  it('refuses forbidden identifiers wherever they are references, not property names', () => {
    const code = [
      'export async function run(ctx) {',
      '  eval("1");',
      '  const f = new Function("return 1");',
      '  const g = globalThis;',
      '  const p = process.env;',
      "  const r = require('fs');",
      '  const ok = { eval: 1, process: 2 }.process + ctx.log.global;',
      '  return WorkflowResult.ok();',
      '}',
    ].join('\n');
    expect(errorsOf(code).map(formatValidationError)).toEqual([
      "Line 2, column 3: use of 'eval' is not allowed",
      "Line 3, column 17: use of 'Function' is not allowed",
      "Line 4, column 13: use of 'globalThis' is not allowed",
      "Line 5, column 13: use of 'process' is not allowed",
      "Line 6, column 13: use of 'require' is not allowed",
    ]);
  });

  it('refuses prototype tricks: __proto__, accessors, constructor.constructor', () => {
    const code = [
      'export async function run(ctx) {',
      '  ({}).__proto__.x = 1;',
      "  ({})['__proto__'];",
      '  const o = { __proto__: null };',
      '  ctx.constructor.constructor("return this")();',
      '  ({}).__defineGetter__("a", () => 1);',
      '  return WorkflowResult.ok();',
      '}',
    ].join('\n');
    expect(errorsOf(code).map(formatValidationError)).toEqual([
      "Line 2, column 8: access to '__proto__' is not allowed",
      "Line 3, column 8: access to '__proto__' is not allowed",
      "Line 4, column 15: access to '__proto__' is not allowed",
      "Line 5, column 19: 'constructor.constructor' is not allowed (it reaches the Function constructor)",
      "Line 6, column 8: access to '__defineGetter__' is not allowed",
    ]);
  });

  it('refuses shorthand references and declarations of forbidden names', () => {
    expect(
      errorsOf('export async function run(ctx) { const o = { globalThis }; return WorkflowResult.ok(); }'),
    ).toEqual([{ message: "use of 'globalThis' is not allowed", line: 1, column: 46 }]);
    expect(
      errorsOf('export async function run(ctx) { let require = 1; return WorkflowResult.ok(); }')[0]?.message,
    ).toBe("use of 'require' is not allowed");
  });

  it('refuses oversized code', () => {
    const code = `export async function run() { return WorkflowResult.ok(); }\n//${'x'.repeat(300 * 1024)}`;
    expect(errorsOf(code)[0]?.message).toMatch(/exceeds \d+ bytes/);
  });
});
