import { z } from 'zod';
import { ExtractedIndicatorSchema, RefusedIndicatorSchema } from './alert.js';
import { TimestampSchema, UuidSchema } from './common.js';
import { IndicatorMappingTargetSchema, IndicatorTypeSchema } from './enums.js';

const FieldPathSchema = z
  .string()
  .trim()
  .min(1)
  .max(500)
  .regex(/^[^.\s][^\s]*[^.\s]$|^[^.\s]$/, 'field_path is a dotted path without spaces');

export const IndicatorMappingCreateSchema = z
  .object({
    source_name: z.string().min(1).max(100).nullable().default(null),
    field_path: FieldPathSchema,
    indicator_type: IndicatorTypeSchema,
    extraction_target: IndicatorMappingTargetSchema.default('raw_payload'),
    is_active: z.boolean().default(true),
    description: z.string().max(2000).nullable().default(null),
  })
  .strict()
  .meta({ id: 'IndicatorMappingCreate' });
export type IndicatorMappingCreate = z.infer<typeof IndicatorMappingCreateSchema>;

export const IndicatorMappingUpdateSchema = z
  .object({
    source_name: z.string().min(1).max(100).nullable().optional(),
    field_path: FieldPathSchema.optional(),
    indicator_type: IndicatorTypeSchema.optional(),
    extraction_target: IndicatorMappingTargetSchema.optional(),
    is_active: z.boolean().optional(),
    description: z.string().max(2000).nullable().optional(),
  })
  .strict()
  .meta({ id: 'IndicatorMappingUpdate' });
export type IndicatorMappingUpdate = z.infer<typeof IndicatorMappingUpdateSchema>;

export const IndicatorMappingSchema = z
  .object({
    uuid: UuidSchema,
    source_name: z.string().nullable(),
    field_path: z.string(),
    indicator_type: IndicatorTypeSchema,
    extraction_target: z.enum(['normalized', 'raw_payload', 'source_plugin']),
    is_system: z.boolean(),
    is_active: z.boolean(),
    description: z.string().nullable(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: 'IndicatorMapping' });
export type IndicatorMapping = z.infer<typeof IndicatorMappingSchema>;

export const IndicatorMappingListQuerySchema = z.object({
  source_name: z.string().max(100).optional(),
  is_system: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  is_active: z
    .enum(['true', 'false'])
    .transform((v) => v === 'true')
    .optional(),
  extraction_target: IndicatorMappingTargetSchema.optional(),
});

export const TestExtractionRequestSchema = z
  .object({
    source_name: z.string().min(1).max(100),
    raw_payload: z.record(z.string(), z.unknown()),
  })
  .strict()
  .meta({ id: 'TestExtractionRequest' });

export const ExtractionPassSchema = z.object({
  pass_name: z.enum(['source_plugin', 'normalized_mappings', 'raw_payload_mappings']),
  pass_label: z.string(),
  indicators: z.array(ExtractedIndicatorSchema),
  error: z.string().nullable(),
});
export type ExtractionPass = z.infer<typeof ExtractionPassSchema>;

export const TestExtractionResultSchema = z
  .object({
    success: z.boolean(),
    source_name: z.string(),
    passes: z.array(ExtractionPassSchema),
    deduplicated: z.array(ExtractedIndicatorSchema),
    deduplicated_count: z.number().int(),
    /** Ours: candidates the per-type validation refused, with the reason (first 100 listed). */
    refused: z.array(RefusedIndicatorSchema),
    /** Ours: how many candidates were refused in all. */
    refused_count: z.number().int(),
    /** Ours: valid indicators beyond the per-alert cap (500), which would not be stored. */
    indicators_over_cap: z.number().int(),
    normalization_preview: z.record(z.string(), z.unknown()).nullable(),
    error_message: z.string().nullable(),
    duration_ms: z.number(),
  })
  .meta({ id: 'TestExtractionResult' });
export type TestExtractionResult = z.infer<typeof TestExtractionResultSchema>;
