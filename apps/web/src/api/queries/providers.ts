import type { Extraction, Provider } from '@calseta/schema';
import { resource } from './resource.js';

export const providerQueries = resource<Provider>('enrichment-providers');
export const extractionQueries = resource<Extraction>('enrichment-field-extractions');
