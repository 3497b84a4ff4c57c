/** Detection rules and context documents: request and response schemas. */
import { z } from 'zod';
import { SortOrderSchema, TimestampSchema, UuidSchema } from './common.js';
import { TargetingRuleSchema, TargetingRulesSchema } from './targeting.js';

// ---------------------------------------------------------------- MITRE ATT&CK

/** Enterprise ATT&CK tactics, compared without case, spaces, dashes or underscores. */
export const MITRE_TACTICS = [
  'Reconnaissance',
  'ResourceDevelopment',
  'InitialAccess',
  'Execution',
  'Persistence',
  'PrivilegeEscalation',
  'DefenseEvasion',
  'CredentialAccess',
  'Discovery',
  'LateralMovement',
  'Collection',
  'CommandAndControl',
  'Exfiltration',
  'Impact',
] as const;

const tacticKey = (v: string) => v.toLowerCase().replace(/[\s_-]+/g, '');
const TACTIC_KEYS = new Set(MITRE_TACTICS.map(tacticKey));

/** A tactic name (`InitialAccess`, `Initial Access`, `initial-access`) or id (`TA0001`). */
export const MitreTacticSchema = z
  .string()
  .trim()
  .refine((v) => /^TA\d{4}$/.test(v) || TACTIC_KEYS.has(tacticKey(v)), {
    message: 'must be an ATT&CK tactic name (e.g. InitialAccess) or id (TA0001)',
  });
/** `T1110` or `T1110.001`. */
export const MitreTechniqueSchema = z
  .string()
  .trim()
  .regex(/^T\d{4}(\.\d{3})?$/, 'must be an ATT&CK technique id (T1110 or T1110.001)');
/** `T1110.001`. */
export const MitreSubtechniqueSchema = z
  .string()
  .trim()
  .regex(/^T\d{4}\.\d{3}$/, 'must be an ATT&CK sub-technique id (T1110.001)');

const shortText = (max: number) => z.string().trim().min(1).max(max);
const list = <T extends z.ZodType>(item: T) => z.array(item).max(100);

// ---------------------------------------------------------------- detection rules

/** Markdown of a rule's documentation (ADS template) or of a context document: 2 MB of text at most. */
const MARKDOWN_MAX = 2_000_000;

export const DetectionRuleCreateSchema = z
  .object({
    name: shortText(500),
    source_rule_id: shortText(500).nullable().optional(),
    source_name: shortText(100).nullable().optional(),
    /** Free text (sources use their own scales). */
    severity: shortText(50).nullable().optional(),
    is_active: z.boolean().default(true),
    mitre_tactics: list(MitreTacticSchema).default([]),
    mitre_techniques: list(MitreTechniqueSchema).default([]),
    mitre_subtechniques: list(MitreSubtechniqueSchema).default([]),
    data_sources: list(shortText(200)).default([]),
    /** How often the rule runs, e.g. `5m`. */
    run_frequency: shortText(50).nullable().optional(),
    /** Defaults to the caller's key prefix. */
    created_by: shortText(255).nullable().optional(),
    /** Markdown, ideally the ADS template (Goal, Strategy Abstract, Blind Spots, False Positives, …). */
    documentation: z.string().max(MARKDOWN_MAX).nullable().optional(),
  })
  .strict()
  .meta({ id: 'DetectionRuleCreate' });
export type DetectionRuleCreate = z.infer<typeof DetectionRuleCreateSchema>;
export type DetectionRuleCreateInput = z.input<typeof DetectionRuleCreateSchema>;

/**
 * Omitted fields are unchanged; `null` clears `severity`, `run_frequency` and `documentation`.
 * The source identity (`source_name`, `source_rule_id`) and `created_by` cannot change.
 */
export const DetectionRulePatchSchema = z
  .object({
    name: shortText(500).optional(),
    severity: shortText(50).nullable().optional(),
    is_active: z.boolean().optional(),
    mitre_tactics: list(MitreTacticSchema).optional(),
    mitre_techniques: list(MitreTechniqueSchema).optional(),
    mitre_subtechniques: list(MitreSubtechniqueSchema).optional(),
    data_sources: list(shortText(200)).optional(),
    run_frequency: shortText(50).nullable().optional(),
    documentation: z.string().max(MARKDOWN_MAX).nullable().optional(),
  })
  .strict()
  .meta({ id: 'DetectionRulePatch' });
export type DetectionRulePatch = z.infer<typeof DetectionRulePatchSchema>;

export const DetectionRuleSchema = z
  .object({
    uuid: UuidSchema,
    name: z.string(),
    source_rule_id: z.string().nullable(),
    source_name: z.string().nullable(),
    severity: z.string().nullable(),
    is_active: z.boolean(),
    mitre_tactics: z.array(z.string()),
    mitre_techniques: z.array(z.string()),
    mitre_subtechniques: z.array(z.string()),
    data_sources: z.array(z.string()),
    run_frequency: z.string().nullable(),
    created_by: z.string().nullable(),
    documentation: z.string().nullable(),
    /** Seeded by Calseta (demo / sandbox rules). */
    is_system: z.boolean(),
    created_at: TimestampSchema,
    updated_at: TimestampSchema,
  })
  .meta({ id: 'DetectionRule' });
export type DetectionRule = z.infer<typeof DetectionRuleSchema>;

const csvParam = z.string().max(1000).optional();
const boolParam = z
  .enum(['true', 'false'])
  .transform((v) => v === 'true')
  .optional();

export const DetectionRuleListQuerySchema = z.object({
  /** Case-insensitive substring of the rule's name. */
  name: z.string().trim().min(1).max(200).optional(),
  /** A MITRE ATT&CK tactic the rule lists (exact, e.g. `TA0001` or `Initial Access`). */
  mitre_tactic: z.string().trim().min(1).max(100).optional(),
  /** A MITRE ATT&CK technique or sub-technique the rule lists (exact, e.g. `T1566` or `T1566.001`). */
  mitre_technique: z.string().trim().min(1).max(100).optional(),
  /** Comma-separated. */
  source_name: csvParam,
  /** Comma-separated (compared case-insensitively). */
  severity: csvParam,
  is_active: boolParam,
  sort_by: z.enum(['name', 'source_name', 'severity', 'created_at']).optional(),
  sort_order: SortOrderSchema.optional(),
});
export type DetectionRuleListQuery = z.infer<typeof DetectionRuleListQuerySchema>;

// ---------------------------------------------------------------- context documents

export const ContextDocumentTypeSchema = z
  .enum(['runbook', 'ir_plan', 'sop', 'playbook', 'detection_guide', 'other'])
  .meta({ id: 'ContextDocumentType' });
export type ContextDocumentType = z.infer<typeof ContextDocumentTypeSchema>;

export const ContextDocumentCreateSchema = z
  .object({
    title: shortText(500),
    document_type: ContextDocumentTypeSchema,
    /** Global documents apply to every alert; others only where `targeting_rules` match. */
    is_global: z.boolean().default(false),
    description: z.string().max(5000).nullable().optional(),
    /** Markdown. */
    content: z.string().min(1).max(MARKDOWN_MAX),
    tags: list(shortText(100)).default([]),
    /** Which alerts a non-global document applies to; without rules it applies to none. */
    targeting_rules: TargetingRulesSchema.nullable().optional(),
  })
  .strict()
  .meta({ id: 'ContextDocumentCreate' });
export type ContextDocumentCreate = z.infer<typeof ContextDocumentCreateSchema>;
export type ContextDocumentCreateInput = z.input<typeof ContextDocumentCreateSchema>;

/**
 * Omitted fields are unchanged; `null` clears `description` and `targeting_rules`. A change of
 * `content` stores the previous version and increments `version`.
 */
export const ContextDocumentPatchSchema = z
  .object({
    title: shortText(500).optional(),
    document_type: ContextDocumentTypeSchema.optional(),
    is_global: z.boolean().optional(),
    description: z.string().max(5000).nullable().optional(),
    content: z.string().min(1).max(MARKDOWN_MAX).optional(),
    tags: list(shortText(100)).optional(),
    targeting_rules: TargetingRulesSchema.nullable().optional(),
  })
  .strict()
  .meta({ id: 'ContextDocumentPatch' });
export type ContextDocumentPatch = z.infer<typeof ContextDocumentPatchSchema>;

/**
 * The form fields of a file upload (`multipart/form-data`): `file` is converted to markdown
 * (PDF, DOCX, HTML, plain text, Markdown). `tags` is a JSON array or a comma-separated list,
 * `targeting_rules` a JSON object, `is_global` `true|1|yes`.
 */
export const ContextDocumentUploadSchema = z
  .object({
    title: z.string(),
    document_type: z.string(),
    is_global: z.string().optional(),
    description: z.string().optional(),
    tags: z.string().optional(),
    targeting_rules: z.string().optional(),
    file: z.any().meta({ type: 'string', format: 'binary' }),
  })
  .partial()
  .meta({ id: 'ContextDocumentUpload' });

const documentSummaryShape = {
  uuid: UuidSchema,
  title: z.string(),
  document_type: ContextDocumentTypeSchema,
  is_global: z.boolean(),
  description: z.string().nullable(),
  tags: z.array(z.string()),
  version: z.number().int(),
  is_system: z.boolean(),
  created_at: TimestampSchema,
  updated_at: TimestampSchema,
};

export const ContextDocumentSummarySchema = z.object(documentSummaryShape).meta({ id: 'ContextDocumentSummary' });
export type ContextDocumentSummary = z.infer<typeof ContextDocumentSummarySchema>;

export const ContextDocumentSchema = z
  .object({
    ...documentSummaryShape,
    content: z.string(),
    targeting_rules: TargetingRulesSchema.nullable(),
  })
  .meta({ id: 'ContextDocument' });
export type ContextDocument = z.infer<typeof ContextDocumentSchema>;

export const ContextDocumentListQuerySchema = z.object({
  /** Comma-separated. */
  document_type: csvParam,
  is_global: boolParam,
  sort_by: z.enum(['title', 'document_type', 'updated_at', 'created_at']).optional(),
  sort_order: SortOrderSchema.optional(),
});
export type ContextDocumentListQuery = z.infer<typeof ContextDocumentListQuerySchema>;

/** One version of a document's content; the newest is the document itself (`is_current`). */
export const ContextDocumentVersionSummarySchema = z
  .object({
    version: z.number().int(),
    title: z.string(),
    is_current: z.boolean(),
    /** When this version's content was saved. */
    created_at: TimestampSchema,
    /** Key prefix of whoever saved this content (unknown for version 1). */
    created_by: z.string().nullable(),
    /** When a newer version replaced it (null for the current one). */
    superseded_at: TimestampSchema.nullable(),
    content_length: z.number().int(),
  })
  .meta({ id: 'ContextDocumentVersionSummary' });
export type ContextDocumentVersionSummary = z.infer<typeof ContextDocumentVersionSummarySchema>;

export const ContextDocumentVersionSchema = z
  .object({
    ...ContextDocumentVersionSummarySchema.shape,
    content: z.string(),
    targeting_rules: TargetingRulesSchema.nullable(),
  })
  .meta({ id: 'ContextDocumentVersion' });
export type ContextDocumentVersion = z.infer<typeof ContextDocumentVersionSchema>;

/**
 * A document that applies to an alert (`contextDocumentsFor`): what agent payloads carry.
 * `matched_by` is `'global'`, or the targeting rules that matched the alert.
 */
export const ContextDocumentMatchSchema = z
  .object({
    uuid: UuidSchema,
    title: z.string(),
    document_type: ContextDocumentTypeSchema,
    description: z.string().nullable(),
    is_global: z.boolean(),
    tags: z.array(z.string()),
    version: z.number().int(),
    updated_at: TimestampSchema,
    /** Markdown. */
    content: z.string(),
    matched_by: z.union([z.literal('global'), z.array(TargetingRuleSchema)]),
  })
  .meta({ id: 'ContextDocumentMatch' });
export type ContextDocumentMatch = z.infer<typeof ContextDocumentMatchSchema>;
