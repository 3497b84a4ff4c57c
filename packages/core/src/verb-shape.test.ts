import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * ADR 0001: every verb a transport calls is `verb(ctx, input)` — the context and at most one input
 * object. Read from the source: the functions REST, MCP and the CLI import from `@calseta/core`
 * whose first parameter is a ServiceContext.
 */
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TRANSPORTS = ['apps/api/src/routes', 'apps/mcp/src/tools', 'apps/mcp/src/resources', 'apps/cli/src'];

const sources = (dir: string): string[] =>
  readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sources(file);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [file] : [];
  });

const parse = (file: string) => ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);

/** Names the transports import from `@calseta/core`. */
function transportImports(): Set<string> {
  const names = new Set<string>();
  for (const file of TRANSPORTS.flatMap((dir) => sources(path.join(ROOT, dir)))) {
    for (const st of parse(file).statements) {
      const bindings = ts.isImportDeclaration(st) ? st.importClause?.namedBindings : undefined;
      if (!bindings || !ts.isNamedImports(bindings)) continue;
      if ((st as ts.ImportDeclaration).moduleSpecifier.getText().slice(1, -1) !== '@calseta/core') continue;
      for (const el of bindings.elements) names.add((el.propertyName ?? el.name).text);
    }
  }
  return names;
}

/** Core's exported functions whose first parameter is a ServiceContext: name → parameter texts. */
function contextFunctions(): Map<string, ts.ParameterDeclaration[]> {
  const found = new Map<string, ts.ParameterDeclaration[]>();
  for (const file of sources(path.join(ROOT, 'packages/core/src'))) {
    for (const st of parse(file).statements) {
      if (!ts.isFunctionDeclaration(st) || !st.name) continue;
      if (!st.modifiers?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)) continue;
      if (/ServiceContext/.test(st.parameters[0]?.type?.getText() ?? '')) found.set(st.name.text, [...st.parameters]);
    }
  }
  return found;
}

/** An object type as written: a literal, a named type, or a union or intersection of those. */
const isObjectType = (type: ts.TypeNode): boolean =>
  ts.isTypeLiteralNode(type) ||
  ts.isTypeReferenceNode(type) ||
  ((ts.isUnionTypeNode(type) || ts.isIntersectionTypeNode(type)) && type.types.every(isObjectType));

/** What breaks the shape: more than one input, or an input that is not an object. */
function violation(params: ts.ParameterDeclaration[]): string | null {
  if (params.length > 2) return `${params.length - 1} inputs`;
  const input = params[1];
  if (!input) return null;
  const isObject = ts.isObjectBindingPattern(input.name) || (input.type !== undefined && isObjectType(input.type));
  return isObject ? null : `input \`${input.getText()}\` is not an object`;
}

describe('verb shape (ADR 0001)', () => {
  it('every verb a transport calls is verb(ctx, input) with one input object', () => {
    const verbs = contextFunctions();
    const called = [...transportImports()].filter((name) => verbs.has(name));
    expect(called.length).toBeGreaterThan(60); // the scan found the verbs
    const broken = called.flatMap((name) => {
      const why = violation(verbs.get(name) ?? []);
      return why ? [`${name}: ${why}`] : [];
    });
    expect(broken).toEqual([]);
  });

  it('tells a second argument and a primitive input from one input object', () => {
    const params = (source: string) => {
      const [fn] = ts.createSourceFile('x.ts', source, ts.ScriptTarget.Latest, true).statements;
      return [...(fn as ts.FunctionDeclaration).parameters];
    };
    expect(violation(params('function f(ctx: ServiceContext, uuid: string, patch: P) {}'))).toBe('2 inputs');
    expect(violation(params('function f(ctx: ServiceContext, uuid: string) {}'))).toMatch(/not an object/);
    expect(violation(params('function f(ctx: ServiceContext, { uuid }: { uuid: string }) {}'))).toBeNull();
    expect(violation(params('function f(ctx: ServiceContext, query: AlertListInput) {}'))).toBeNull();
    expect(
      violation(params('function f(ctx: ServiceContext, by: { uuid: string } | { value: string }) {}')),
    ).toBeNull();
    expect(violation(params('function f(ctx: ServiceContext, id: string | number) {}'))).toMatch(/not an object/);
  });
});
