import { enrichOnDemand, findIndicator, patchIndicator, ServiceError } from '@calseta/core';
import { IndicatorSchema, IndicatorTypeSchema, MaliceLevelSchema, OnDemandEnrichmentSchema } from '@calseta/schema';
import { z } from 'zod';
import { defineTool, UUID } from '../define.js';

export const updateIndicatorMalice = defineTool({
  name: 'update_indicator_malice',
  description: 'Set an analyst verdict on an indicator, or back to the providers’ verdict (malice: null).',
  inputSchema: { indicator_uuid: UUID, malice: MaliceLevelSchema.nullable() },
  outputSchema: {
    indicator_uuid: z.string(),
    malice: MaliceLevelSchema,
    malice_source: z.string(),
    updated_at: z.string(),
  },
  permissions: ['alerts:write'],
  writes: ({ indicator_uuid }) => indicator_uuid,
  run: async (ctx, { indicator_uuid, malice }) => {
    const indicator = await patchIndicator(ctx, { uuid: indicator_uuid, patch: { malice } });
    return {
      indicator_uuid,
      malice: indicator.malice,
      malice_source: indicator.malice_source,
      updated_at: indicator.updated_at,
    };
  },
});

const EnrichOutputSchema = z.object({
  /** `stored`: what the pipeline recorded (no provider called); `live`: the providers were asked. */
  source: z.enum(['stored', 'live']),
  indicator: IndicatorSchema.nullable(),
  live: OnDemandEnrichmentSchema.nullable(),
});

export const enrichIndicator = defineTool({
  name: 'enrich_indicator',
  description:
    'Enrichment of an indicator. Default: what is stored for indicator_uuid, or for type + value (no ' +
    'provider is called, no quota spent). live: true asks the providers for type + value (cache first; ' +
    'bypass_cache forces fresh answers).',
  inputSchema: {
    indicator_uuid: z.string().optional(),
    type: IndicatorTypeSchema.optional(),
    value: z.string().optional(),
    live: z.boolean().default(false),
    bypass_cache: z.boolean().default(false),
  },
  outputSchema: EnrichOutputSchema.shape,
  // Stored results; `live: true` also needs enrichments:read (checked by the verb).
  permissions: ['indicators:read'],
  // A live lookup is REST's on-demand enrichment, and spends its budget.
  restTwin: (args) => (args.live === true ? ['POST', '/v1/enrichments'] : undefined),
  run: async (ctx, { indicator_uuid, type, value, live, bypass_cache }) => {
    if (live) {
      if (type === undefined || value === undefined) {
        throw new ServiceError('VALIDATION_ERROR', 'A live enrichment needs type and value.');
      }
      const answer = await enrichOnDemand(ctx, { type, value, bypass_cache });
      return { source: 'live' as const, indicator: null, live: answer };
    }
    if (indicator_uuid !== undefined) {
      return { source: 'stored' as const, indicator: await findIndicator(ctx, { uuid: indicator_uuid }), live: null };
    }
    if (type !== undefined && value !== undefined) {
      return { source: 'stored' as const, indicator: await findIndicator(ctx, { type, value }), live: null };
    }
    throw new ServiceError(
      'VALIDATION_ERROR',
      'Pass indicator_uuid, or type and value, for the stored results; add live: true to ask the providers.',
    );
  },
});
