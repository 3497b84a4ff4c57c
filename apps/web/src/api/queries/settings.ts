import type { ApiKey, IndicatorMapping, SourceIntegration } from '@calseta/schema';
import type { List } from '../client.js';
import { get, resource } from './resource.js';

export const apiKeyQueries = resource<ApiKey>('api-keys');
export const sourceQueries = resource<SourceIntegration>('sources');

const mappings = resource<IndicatorMapping>('indicator-mappings');
export const mappingQueries = {
  ...mappings,
  /** The fields each source plugin normalizes, for the mapping form. */
  sourceFields: () =>
    get<List<IndicatorMapping>>([...mappings.all, 'source-plugin-fields'], `${mappings.path()}/source-plugin-fields`),
};
