import { findIndicator, listProviderStatus } from '@calseta/core';
import { IndicatorTypeSchema } from '@calseta/schema';
import { type ResourceDefinition, variable } from '../define.js';

export const ENRICHMENT_RESOURCES: ResourceDefinition[] = [
  {
    name: 'enrichment',
    uri: 'calseta://enrichments/{type}/{value}',
    description:
      'What is stored about an indicator (verdict, explanation, per-provider results). Reading it calls no ' +
      'provider; use enrich_indicator with live: true to ask them.',
    permissions: ['indicators:read'],
    read: (ctx, { type, value }) =>
      findIndicator(ctx, { type: IndicatorTypeSchema.parse(variable(type)), value: variable(value) }),
  },
  {
    name: 'enrichment-providers',
    uri: 'calseta://enrichments/providers',
    description: 'Active enrichment providers, what they support and their quota.',
    permissions: ['enrichments:read'],
    read: async (ctx) => {
      const providers = await listProviderStatus(ctx);
      return { providers, count: providers.length };
    },
  },
];
