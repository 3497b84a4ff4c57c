/** Verbs of the enrichment provider and field extraction admin API. */
export {
  createFieldExtraction,
  createFieldExtractions,
  deleteFieldExtraction,
  getFieldExtraction,
  listFieldExtractions,
  updateFieldExtraction,
} from './admin-extractions.js';
export {
  createEnrichmentProvider,
  deleteEnrichmentProvider,
  getEnrichmentProvider,
  importEnrichmentProvider,
  listEnrichmentProviders,
  setEnrichmentProviderActive,
  testEnrichmentProvider,
  updateEnrichmentProvider,
} from './admin-providers.js';
