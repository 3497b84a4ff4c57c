// Field extraction semantics live in @calseta/plugin-sdk (one implementation for the engine and the
// plugin conformance kit); re-exported for the engine.
export type { Coerced } from '@calseta/plugin-sdk';
export { coerce, extractFields, toFloat } from '@calseta/plugin-sdk';
