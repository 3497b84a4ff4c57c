import type { ContextDocument, ContextDocumentSummary, ContextDocumentVersionSummary } from '@calseta/schema';
import type { List } from '../client.js';
import { resource } from './resource.js';

const docs = resource<ContextDocumentSummary, ContextDocument>('context-documents');
export const contextDocQueries = {
  ...docs,
  versions: (uuid: string) => docs.sub<List<ContextDocumentVersionSummary>>(uuid, 'versions'),
};
