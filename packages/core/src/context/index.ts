/** Detection rules, context documents and the targeting rules that attach them to alerts. */

export { convertToMarkdown, type DocumentFormat, detectFormat, type UploadedFile } from './convert.js';
export {
  actorLabel,
  createDetectionRule,
  deleteDetectionRule,
  getDetectionRule,
  listDetectionRules,
  type SystemDetectionRule,
  seedSystemDetectionRules,
  updateDetectionRule,
} from './detection-rules.js';
export {
  type ContextDocumentUploadFields,
  contextDocumentsFor,
  createContextDocument,
  createContextDocumentFromUpload,
  deleteContextDocument,
  getContextDocument,
  getContextDocumentVersion,
  listContextDocuments,
  listContextDocumentVersions,
  type SystemContextDocument,
  seedSystemContextDocuments,
  updateContextDocument,
} from './documents.js';
export { targetingSubjectOf } from './subject.js';
