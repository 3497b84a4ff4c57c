import type { ApiKey, IndicatorMapping, SourceIntegration } from '@calseta/schema';
import type { List } from '../client.js';
import { get, type Resource, resource } from './resource.js';

export const apiKeyQueries = resource<ApiKey>('api-keys');
/** The signed-in person's own keys (single sign-on). */
export const personalKeyQueries = resource<ApiKey>('users/me/api-keys');
export type KeyResource = Resource<ApiKey>;
export const sourceQueries = resource<SourceIntegration>('sources');

const mappings = resource<IndicatorMapping>('indicator-mappings');
export const mappingQueries = {
  ...mappings,
  /** The fields each source plugin normalizes, for the mapping form. */
  sourceFields: () =>
    get<List<IndicatorMapping>>([...mappings.all, 'source-plugin-fields'], `${mappings.path()}/source-plugin-fields`),
};
