import { z } from 'zod';

export const UuidSchema = z.uuid();

/** ISO-8601 timestamp with offset, as every timestamp in the API is returned. */
export const TimestampSchema = z.string().meta({ format: 'date-time', example: '2026-03-01T16:42:18.000Z' });

export const PageQuerySchema = z.object({
  page: z.coerce.number().int().min(1).default(1),
  page_size: z.coerce.number().int().min(1).max(500).default(50),
});
export type PageQuery = z.infer<typeof PageQuerySchema>;

export const PageMetaSchema = z
  .object({
    total: z.number().int(),
    page: z.number().int(),
    page_size: z.number().int(),
    total_pages: z.number().int(),
  })
  .meta({ id: 'PageMeta' });
export type PageMeta = z.infer<typeof PageMetaSchema>;

/** `{ data, meta: {} }` — the envelope of every single-object response. */
export function dataEnvelope<T extends z.ZodType>(data: T) {
  return z.object({ data, meta: z.record(z.string(), z.unknown()) });
}

/** `{ data: [...], meta: { total, page, page_size, total_pages } }` — every paginated list. */
export function pageEnvelope<T extends z.ZodType>(item: T) {
  return z.object({ data: z.array(item), meta: PageMetaSchema });
}

/** `sort_order` of list endpoints. */
export const SortOrderSchema = z.enum(['asc', 'desc']);
