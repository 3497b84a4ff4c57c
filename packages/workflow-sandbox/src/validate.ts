/**
 * Save-time validation of workflow code (reference §7.3, ported to JavaScript). The runtime isolation
 * (sandbox.ts) is the real guard; this is the early, line-pointing error an author sees when saving.
 */
import { type Node, parse } from 'acorn';

/** One problem; `line` and `column` are 1-based (what editors show). */
export interface ValidationError {
  message: string;
  line: number;
  column: number;
}

export type ValidationResult = { ok: true } | { ok: false; errors: ValidationError[] };

/** Largest accepted source, in UTF-8 bytes. */
export const MAX_CODE_BYTES = 256 * 1024;

/**
 * Names that may not be referenced (or declared) anywhere: they either do not exist in the sandbox
 * and signal code written for another runtime (`require`, `process`, `module`…), or they are ways to
 * compile code at run time or reach the global object (`eval`, `Function`, `globalThis`…).
 */
export const FORBIDDEN_IDENTIFIERS: ReadonlySet<string> = new Set([
  'eval',
  'Function',
  'AsyncFunction',
  'GeneratorFunction',
  'globalThis',
  'global',
  'window',
  'self',
  'process',
  'require',
  'module',
  'exports',
  '__dirname',
  '__filename',
  'Deno',
  'Bun',
  'WebAssembly',
]);

/** Property names that reach prototypes or define accessors behind the language's back. */
export const FORBIDDEN_PROPERTIES: ReadonlySet<string> = new Set([
  '__proto__',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
]);

/** Formats an error the way the API reports it: `Line 3, column 7: use of 'eval' is not allowed`. */
export function formatValidationError(error: ValidationError): string {
  return `Line ${error.line}, column ${error.column}: ${error.message}`;
}

type AnyNode = Node & Record<string, unknown>;

function isNode(value: unknown): value is AnyNode {
  return typeof value === 'object' && value !== null && typeof (value as { type?: unknown }).type === 'string';
}

function propertyName(node: AnyNode, computed: boolean): string | null {
  const key = node as { type: string; name?: string; value?: unknown };
  if (!computed && key.type === 'Identifier') return key.name ?? null;
  if (key.type === 'Literal' && typeof key.value === 'string') return key.value;
  return null;
}

/** Validates workflow source: parses as an ES module, exports `run`, uses no forbidden construct. */
export function validateWorkflowCode(code: string): ValidationResult {
  if (typeof code !== 'string')
    return { ok: false, errors: [{ message: 'Workflow code must be a string', line: 1, column: 1 }] };
  if (Buffer.byteLength(code, 'utf8') > MAX_CODE_BYTES) {
    return { ok: false, errors: [{ message: `Workflow code exceeds ${MAX_CODE_BYTES} bytes`, line: 1, column: 1 }] };
  }
  let program: AnyNode;
  try {
    program = parse(code, { ecmaVersion: 'latest', sourceType: 'module', locations: true }) as unknown as AnyNode;
  } catch (error) {
    const loc = (error as { loc?: { line: number; column: number } }).loc;
    const message = (error instanceof Error ? error.message : String(error)).replace(/ \(\d+:\d+\)$/, '');
    return {
      ok: false,
      errors: [{ message: `Syntax error: ${message}`, line: loc?.line ?? 1, column: (loc?.column ?? 0) + 1 }],
    };
  }

  const errors: ValidationError[] = [];
  const report = (node: Node, message: string) => {
    errors.push({ message, line: node.loc?.start.line ?? 1, column: (node.loc?.start.column ?? 0) + 1 });
  };

  // Top-level declarations that are functions, by name (for `export { run }`).
  const topLevelFunctions = new Set<string>();
  const body = (program.body as AnyNode[]) ?? [];
  const isFunctionInit = (init: unknown) =>
    isNode(init) && (init.type === 'FunctionExpression' || init.type === 'ArrowFunctionExpression');
  for (const statement of body) {
    const declaration =
      statement.type === 'ExportNamedDeclaration' ? (statement.declaration as AnyNode | null) : statement;
    if (!declaration) continue;
    if (declaration.type === 'FunctionDeclaration') {
      const id = declaration.id as { name: string } | null;
      if (id) topLevelFunctions.add(id.name);
    }
    if (declaration.type === 'VariableDeclaration' && declaration.kind === 'const') {
      for (const declarator of declaration.declarations as AnyNode[]) {
        const id = declarator.id as AnyNode;
        if (id.type === 'Identifier' && isFunctionInit(declarator.init)) topLevelFunctions.add(id.name as string);
      }
    }
  }

  let runExports = 0;
  for (const statement of body) {
    if (statement.type === 'ImportDeclaration') {
      const source = (statement.source as { value: unknown }).value;
      report(statement, `import of '${String(source)}' is not allowed (workflows cannot import modules; use ctx)`);
    } else if (statement.type === 'ExportAllDeclaration') {
      report(statement, `re-export from '${String((statement.source as { value: unknown }).value)}' is not allowed`);
    } else if (statement.type === 'ExportDefaultDeclaration') {
      report(statement, "export default is not allowed: export a function named 'run'");
    } else if (statement.type === 'ExportNamedDeclaration') {
      if (statement.source) {
        report(statement, `re-export from '${String((statement.source as { value: unknown }).value)}' is not allowed`);
        continue;
      }
      const declaration = statement.declaration as AnyNode | null;
      if (declaration?.type === 'FunctionDeclaration' && (declaration.id as { name: string }).name === 'run') {
        if (declaration.generator) report(declaration, "'run' must be a function, not a generator");
        else runExports++;
      } else if (declaration?.type === 'VariableDeclaration') {
        for (const declarator of declaration.declarations as AnyNode[]) {
          const id = declarator.id as AnyNode;
          if (id.type !== 'Identifier' || id.name !== 'run') continue;
          if (
            declaration.kind === 'const' &&
            isFunctionInit(declarator.init) &&
            !(declarator.init as AnyNode).generator
          ) {
            runExports++;
          } else {
            report(declarator, "'run' must be declared as a function (or a const holding a function)");
          }
        }
      }
      for (const specifier of (statement.specifiers as AnyNode[]) ?? []) {
        const exported = propertyName(specifier.exported as AnyNode, false);
        const local = propertyName(specifier.local as AnyNode, false);
        if (exported !== 'run') continue;
        if (local !== null && topLevelFunctions.has(local)) runExports++;
        else report(specifier, "'run' must refer to a top-level function");
      }
    }
  }
  if (runExports === 0 && !errors.some((e) => e.message.includes("'run'"))) {
    errors.push({ message: "Workflow code must export a function named 'run'", line: 1, column: 1 });
  }

  walk(program, null, null, report);
  errors.sort((a, b) => a.line - b.line || a.column - b.column);
  return errors.length === 0 ? { ok: true } : { ok: false, errors };
}

/**
 * Depth-first walk flagging forbidden constructs. `parent`/`key` tell whether an Identifier is a
 * reference (flagged when forbidden) or a property name / label (never flagged).
 */
function walk(
  node: AnyNode,
  parent: AnyNode | null,
  key: string | null,
  report: (node: Node, message: string) => void,
) {
  switch (node.type) {
    case 'Identifier': {
      const name = node.name as string;
      const isPropertyName =
        parent !== null &&
        ((parent.type === 'MemberExpression' && key === 'property' && !parent.computed) ||
          ((parent.type === 'Property' || parent.type === 'MethodDefinition' || parent.type === 'PropertyDefinition') &&
            key === 'key' &&
            !parent.computed) ||
          ((parent.type === 'ExportSpecifier' || parent.type === 'ImportSpecifier') && key === 'exported') ||
          parent.type === 'LabeledStatement' ||
          parent.type === 'BreakStatement' ||
          parent.type === 'ContinueStatement' ||
          parent.type === 'MetaProperty');
      if (!isPropertyName && FORBIDDEN_IDENTIFIERS.has(name)) report(node, `use of '${name}' is not allowed`);
      return;
    }
    case 'ImportExpression':
      report(node, 'dynamic import() is not allowed');
      break;
    case 'WithStatement':
      report(node, "'with' is not allowed");
      break;
    case 'MemberExpression': {
      const name = propertyName(node.property as AnyNode, Boolean(node.computed));
      if (name !== null && FORBIDDEN_PROPERTIES.has(name))
        report(node.property as AnyNode, `access to '${name}' is not allowed`);
      if (name === 'constructor') {
        const object = node.object as AnyNode;
        const inner =
          object.type === 'MemberExpression'
            ? propertyName(object.property as AnyNode, Boolean(object.computed))
            : null;
        if (inner === 'constructor') {
          report(
            node.property as AnyNode,
            "'constructor.constructor' is not allowed (it reaches the Function constructor)",
          );
        }
      }
      break;
    }
    case 'Property': {
      const name = propertyName(node.key as AnyNode, Boolean(node.computed));
      if (name === '__proto__' && !node.computed) report(node.key as AnyNode, "access to '__proto__' is not allowed");
      break;
    }
    default:
      break;
  }
  for (const [childKey, value] of Object.entries(node)) {
    if (childKey === 'loc' || childKey === 'start' || childKey === 'end') continue;
    if (Array.isArray(value)) {
      for (const item of value) if (isNode(item)) walk(item, node, childKey, report);
    } else if (isNode(value)) {
      walk(value, node, childKey, report);
    }
  }
}
