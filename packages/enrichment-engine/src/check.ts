// Static checks of provider templates live in @calseta/plugin-sdk (the conformance kit runs them too);
// re-exported for the engine.
export { checkHttpConfig, requiredAuthKeys } from '@calseta/plugin-sdk';
