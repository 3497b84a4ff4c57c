/**
 * Tool schemas every MCP client can take. zod's JSON Schema spells a nullable field `type: [X, "null"]`
 * and an unknown value `{}`: both legal, but a client mapping tool schemas onto a single-`type`
 * dialect (e.g. the OpenAPI subset of Gemini function declarations) rejects the tool or drops the
 * constraint (the MCP Inspector's `--strict` schema-portability check flags them). This rewrites
 * them, without changing what validates: a type union becomes `anyOf` of single-type branches, a
 * free `additionalProperties: {}` becomes `true`, and any other keyword-less schema becomes `anyOf`
 * of the JSON types.
 */

type Schema = Record<string, unknown>;

/** Keywords that describe but do not constrain. */
const ANNOTATIONS = new Set([
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
  '$comment',
  '$id',
  '$schema',
]);
const ANY_JSON_VALUE = ['string', 'number', 'boolean', 'object', 'array', 'null'].map((type) => ({ type }));
/** Keywords holding one schema, a list of schemas, or a map of schemas. */
const ONE = ['items', 'not', 'if', 'then', 'else', 'contains', 'propertyNames', 'unevaluatedItems'];
const MANY = ['anyOf', 'oneOf', 'allOf', 'prefixItems'];
const MAP = ['properties', 'patternProperties', 'definitions', '$defs', 'dependentSchemas'];

const isSchema = (value: unknown): value is Schema =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

function split(entries: Schema): [annotations: Schema, constraints: Schema] {
  const annotations: Schema = {};
  const constraints: Schema = {};
  for (const [key, value] of Object.entries(entries)) (ANNOTATIONS.has(key) ? annotations : constraints)[key] = value;
  return [annotations, constraints];
}

/** `type: [A, B, "null"]` → `anyOf: [{type: A, …}, {type: B, …}, {type: "null"}]`. */
function splitTypeUnion(node: Schema, types: unknown[]): Schema {
  const { type: _type, ...rest } = node;
  const [annotations, constraints] = split(rest);
  const branches = types.map((type) => {
    if (type === 'null') return { type };
    const branch: Schema = { type, ...constraints };
    // `enum: ["a", null]` belongs to the null branch for its null.
    if (Array.isArray(branch.enum)) branch.enum = branch.enum.filter((v) => v !== null);
    return branch;
  });
  return branches.length === 1 ? { ...annotations, ...branches[0] } : { ...annotations, anyOf: branches };
}

/** A portable copy of `schema` (the input is not changed). */
export function portableSchema(schema: unknown, keyword?: string): unknown {
  if (!isSchema(schema)) return schema;
  const node: Schema = { ...schema };
  for (const key of ONE) if (isSchema(node[key])) node[key] = portableSchema(node[key], key);
  for (const key of MANY) {
    if (Array.isArray(node[key])) node[key] = (node[key] as unknown[]).map((s) => portableSchema(s, key));
  }
  for (const key of MAP) {
    if (!isSchema(node[key])) continue;
    node[key] = Object.fromEntries(Object.entries(node[key]).map(([name, s]) => [name, portableSchema(s, key)]));
  }
  if (isSchema(node.additionalProperties)) {
    const [, constraints] = split(node.additionalProperties);
    node.additionalProperties =
      Object.keys(constraints).length === 0 ? true : portableSchema(node.additionalProperties, 'additionalProperties');
  }
  if (Array.isArray(node.type)) return splitTypeUnion(node, node.type);
  const [annotations, constraints] = split(node);
  // Keyword-less: any JSON value, said with keywords (`not`'s operand `{}` means "nothing" and stays).
  if (Object.keys(constraints).length === 0 && keyword !== 'not') return { ...annotations, anyOf: ANY_JSON_VALUE };
  return node;
}
