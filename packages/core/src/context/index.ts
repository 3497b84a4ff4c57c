/** Detection rules, context documents and the targeting rules that attach them to alerts. */
export { targetingSubjectOf } from './subject.js';
