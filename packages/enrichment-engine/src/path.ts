// Dot paths are part of the provider-definition contract, so they live in @calseta/plugin-sdk (whose
// conformance kit evaluates definitions exactly as the engine does); re-exported for the engine.
export { resolvePath, resolveSegments, splitPath } from '@calseta/plugin-sdk';
