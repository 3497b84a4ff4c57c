import { z } from 'zod';
import { FindingSchema } from './alerts.js';
import { TimestampSchema, UuidSchema } from './common.js';
import { MaliceLevelSchema } from './enums.js';

/**
 * The agent payload (`calseta.alert.v1`): one document per alert for webhooks, REST and MCP. Its
 * parts are documented here; the builder lives in core (`packages/core/src/payload`).
 */
export const TrimNoteSchema = z
  .object({
    part: z.string().meta({ description: 'What was shortened or left out.' }),
    kept: z.string().meta({ description: 'What the payload keeps of it.' }),
    fetch: z.string().meta({ description: 'Where the whole of it is (a REST call).' }),
  })
  .meta({ id: 'PayloadTrimNote' });

export const AgentPayloadSchema = z
  .object({
    schema: z.literal('calseta.alert.v1'),
    notice: z.string().meta({ description: 'How untrusted text is delimited.' }),
    alert: z.record(z.string(), z.unknown()).meta({
      description:
        'The normalized alert: severity, status, times, verdict, tags, description and source fields. Text from the source is wrapped in <untrusted>…</untrusted>.',
    }),
    indicators: z.array(z.record(z.string(), z.unknown())).meta({
      description:
        'Worst first: type, value, verdict, why (provider, rule, field, value, fetch time), compact provider fields.',
    }),
    enrichment: z.record(z.string(), z.unknown()).optional(),
    mock_data: z.string().optional().meta({
      description:
        "Present when some verdicts came from Calseta's built-in mock providers (demo data, no real credentials): names them. Do not act on them as real intelligence.",
    }),
    detection_rule: z.record(z.string(), z.unknown()).nullable(),
    context_documents: z.array(z.record(z.string(), z.unknown())),
    related_alerts: z.array(z.record(z.string(), z.unknown())),
    workflows: z.array(z.record(z.string(), z.unknown())),
    links: z.record(z.string(), z.string()),
    trimmed: z.array(TrimNoteSchema),
    token_count: z.number().int().meta({ description: 'o200k tokens of this payload as compact JSON.' }),
  })
  .meta({ id: 'AgentPayload' });
export type AgentPayloadDoc = z.infer<typeof AgentPayloadSchema>;

export const TokenBudgetQuerySchema = z.object({
  token_budget: z.coerce.number().int().min(300).max(100_000).optional(),
  /** `standard`: documents as brief summaries with links to the whole; `full`: documents inlined. */
  detail: z.enum(['standard', 'full']).optional(),
});

export const RelatedAlertSchema = z
  .object({
    uuid: UuidSchema,
    title: z.string(),
    severity: z.string(),
    status: z.string(),
    close_classification: z.string().nullable(),
    /** When it was closed (null: still open). */
    closed_at: TimestampSchema.nullable(),
    occurred_at: TimestampSchema,
    malice: MaliceLevelSchema,
    shared_indicators: z.array(z.string()),
    findings: z.array(FindingSchema),
  })
  .meta({ id: 'RelatedAlert' });
export type RelatedAlert = z.infer<typeof RelatedAlertSchema>;
