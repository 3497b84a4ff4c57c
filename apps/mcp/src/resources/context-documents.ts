import { getContextDocument, listContextDocuments } from '@calseta/core';
import { catalogue } from '../define.js';

export const CONTEXT_DOCUMENT_RESOURCES = catalogue({
  name: 'context-documents',
  item: 'context-document',
  permissions: ['context_documents:read'],
  description: {
    collection: 'Context documents, without content (max 500).',
    item: 'One context document with its content and targeting rules.',
  },
  list: listContextDocuments,
  get: getContextDocument,
  title: (document) => document.title,
});
