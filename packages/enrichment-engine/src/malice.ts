// Malice rule semantics live in @calseta/plugin-sdk (one implementation for the engine and the plugin
// conformance kit); re-exported for the engine.
export type { MaliceEvaluation, VerdictContext } from '@calseta/plugin-sdk';
export { evaluateMalice, jsonEqual, matchesOperator, notFoundVerdict } from '@calseta/plugin-sdk';
