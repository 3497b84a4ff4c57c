import type { Db } from '@calseta/db';
import {
  type ContextDocument,
  type ContextDocumentCreateInput,
  ContextDocumentCreateSchema,
  type ContextDocumentListQuery,
  type ContextDocumentMatch,
  type ContextDocumentPatch,
  ContextDocumentPatchSchema,
  type ContextDocumentSummary,
  type ContextDocumentType,
  type ContextDocumentVersion,
  type ContextDocumentVersionSummary,
  type PageQuery,
  type TargetingRule,
  type TargetingRules,
} from '@calseta/schema';
import { sql } from 'kysely';
import { hasScope } from '../auth/keys.js';
import { authorize } from '../auth/permissions.js';
import { activityRow } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { notFound, ServiceError, validationError } from '../infra/errors.js';
import { newUuid } from '../infra/ids.js';
import { csv, iso, paginate } from '../infra/serialize.js';
import type { TableCache } from '../infra/table-cache.js';
import { convertToMarkdown, type UploadedFile } from './convert.js';
import { actorLabel } from './detection-rules.js';
import { targetingSubjectOf } from './subject.js';
import { matchesTargeting, type TargetingSubject } from './targeting.js';

/** Serialized targeting rules are limited like every small JSON field (64 KB). */
const TARGETING_MAX_BYTES = 64 * 1024;

const SUMMARY_COLUMNS = [
  'id',
  'uuid',
  'title',
  'document_type',
  'is_global',
  'description',
  'tags',
  'version',
  'is_system',
  'created_at',
  'updated_at',
] as const;
const COLUMNS = [...SUMMARY_COLUMNS, 'content', 'targeting_rules'] as const;

type SummaryRow = {
  id: number;
  uuid: string;
  title: string;
  document_type: string;
  is_global: boolean;
  description: string | null;
  tags: string[];
  version: number;
  is_system: boolean;
  created_at: Date;
  updated_at: Date;
};
type Row = SummaryRow & { content: string; targeting_rules: Record<string, unknown> | null };

function toSummary(row: SummaryRow): ContextDocumentSummary {
  return {
    uuid: row.uuid,
    title: row.title,
    document_type: row.document_type as ContextDocumentType,
    is_global: row.is_global,
    description: row.description,
    tags: row.tags,
    version: row.version,
    is_system: row.is_system,
    created_at: iso(row.created_at),
    updated_at: iso(row.updated_at),
  };
}

function toDocument(row: Row): ContextDocument {
  return {
    ...toSummary(row),
    content: row.content,
    targeting_rules: row.targeting_rules as TargetingRules | null,
  };
}

function checkTargetingSize(rules: TargetingRules | null | undefined): void {
  if (rules == null) return;
  const bytes = Buffer.byteLength(JSON.stringify(rules));
  if (bytes > TARGETING_MAX_BYTES) {
    throw validationError('Invalid targeting rules.', [
      { path: 'targeting_rules', message: `exceeds maximum size of 64 KB (${bytes} bytes serialized)` },
    ]);
  }
}

/**
 * A global document reaches every agent as the operator's guidance (it is not wrapped as untrusted
 * in the agent payload): creating one, making a document global, changing or deleting a global
 * one needs `admin`. Targeted documents stay writable with `alerts:write`; their text reaches
 * agents wrapped as untrusted (docs/security.md).
 */
function requireGlobalWriter(ctx: Pick<ServiceContext, 'actor'>): void {
  if (ctx.actor.type === 'system' || hasScope(ctx.actor.key, ['admin'])) return;
  throw new ServiceError(
    'FORBIDDEN',
    'Global context documents reach every agent: creating, changing or deleting one needs the admin scope.',
    { required_scopes: ['admin'] },
  );
}

function documentActivity(
  ctx: ServiceContext,
  type: 'context_document_created' | 'context_document_updated' | 'context_document_deleted',
  row: Pick<SummaryRow, 'uuid' | 'title' | 'document_type'>,
  references: Record<string, unknown> = {},
) {
  return activityRow(ctx, {
    type,
    references: { document_uuid: row.uuid, title: row.title, document_type: row.document_type, ...references },
  });
}

export async function listContextDocuments(ctx: ServiceContext, query: ContextDocumentListQuery & PageQuery) {
  authorize(ctx, 'context_documents:read');
  let base = ctx.db.selectFrom('context_documents');
  const types = csv(query.document_type);
  if (types) base = base.where('document_type', 'in', types);
  if (query.is_global !== undefined) base = base.where('is_global', '=', query.is_global);
  const sortBy = query.sort_by ?? 'created_at';
  const direction = query.sort_order ?? 'desc';
  return paginate(
    base,
    query,
    (q) =>
      q
        .select(SUMMARY_COLUMNS)
        .orderBy(sql.ref(`context_documents.${sortBy}`), direction)
        .orderBy('id', direction),
    toSummary,
  );
}

async function findDocument(db: Db, uuid: string, lock = false): Promise<Row> {
  let query = db.selectFrom('context_documents').select(COLUMNS).where('uuid', '=', uuid);
  if (lock) query = query.forUpdate();
  const row = await query.executeTakeFirst();
  if (!row) throw notFound('Context document');
  return row;
}

export async function getContextDocument(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<ContextDocument> {
  authorize(ctx, 'context_documents:read');
  return toDocument(await findDocument(ctx.db, uuid));
}

async function insertDocument(
  ctx: ServiceContext,
  input: ContextDocumentCreateInput,
  options: { isSystem?: boolean; references?: Record<string, unknown> } = {},
): Promise<Row> {
  const data = ContextDocumentCreateSchema.parse(input);
  checkTargetingSize(data.targeting_rules);
  if (data.is_global) requireGlobalWriter(ctx);
  return ctx.db.transaction().execute(async (trx) => {
    const created = await trx
      .insertInto('context_documents')
      .values({
        uuid: newUuid(),
        title: data.title,
        document_type: data.document_type,
        is_global: data.is_global,
        description: data.description ?? null,
        content: data.content,
        tags: data.tags,
        targeting_rules: data.targeting_rules == null ? null : JSON.stringify(data.targeting_rules),
        is_system: options.isSystem ?? false,
      })
      .returning(COLUMNS)
      .executeTakeFirstOrThrow();
    await trx
      .insertInto('activity_events')
      .values(documentActivity(ctx, 'context_document_created', created, options.references))
      .execute();
    return created;
  });
}

export async function createContextDocument(
  ctx: ServiceContext,
  input: ContextDocumentCreateInput,
): Promise<ContextDocument> {
  authorize(ctx, 'context_documents:write');
  return toDocument(await insertDocument(ctx, input));
}

/** The text fields of a multipart upload (`file` comes separately). */
export interface ContextDocumentUploadFields {
  title?: string | undefined;
  document_type?: string | undefined;
  is_global?: string | undefined;
  description?: string | undefined;
  tags?: string | undefined;
  targeting_rules?: string | undefined;
}

function parseUploadFields(fields: ContextDocumentUploadFields, file: UploadedFile | undefined) {
  const errors: Array<{ path: string; message: string }> = [];
  if (!fields.title?.trim()) errors.push({ path: 'title', message: 'required' });
  if (!fields.document_type?.trim()) errors.push({ path: 'document_type', message: 'required' });
  if (!file) errors.push({ path: 'file', message: 'required (the document to convert to markdown)' });
  let isGlobal = false;
  const flag = fields.is_global?.trim().toLowerCase();
  if (flag !== undefined && flag !== '') {
    if (['true', '1', 'yes'].includes(flag)) isGlobal = true;
    else if (!['false', '0', 'no'].includes(flag)) errors.push({ path: 'is_global', message: 'must be true or false' });
  }
  let tags: unknown = [];
  const rawTags = fields.tags?.trim();
  if (rawTags) {
    if (rawTags.startsWith('[')) {
      try {
        tags = JSON.parse(rawTags);
      } catch {
        errors.push({ path: 'tags', message: 'not a valid JSON array' });
      }
    } else {
      tags = rawTags
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean);
    }
  }
  let targeting: unknown;
  const rawRules = fields.targeting_rules?.trim();
  if (rawRules) {
    try {
      targeting = JSON.parse(rawRules);
    } catch {
      errors.push({ path: 'targeting_rules', message: 'not valid JSON' });
    }
  }
  if (errors.length > 0) throw validationError('Invalid document upload.', errors);
  return {
    title: fields.title ?? '',
    document_type: fields.document_type?.trim() ?? '',
    is_global: isGlobal,
    description: fields.description?.trim() ? fields.description : null,
    tags,
    targeting_rules: targeting,
  };
}

/**
 * Create a document from an uploaded file (multipart form): the file is converted to markdown
 * (`convertToMarkdown`); the other fields are validated like a JSON create.
 */
export async function createContextDocumentFromUpload(
  ctx: ServiceContext,
  { input: fields, file }: { input: ContextDocumentUploadFields; file: UploadedFile | undefined },
): Promise<ContextDocument> {
  authorize(ctx, 'context_documents:write');
  const parsed = parseUploadFields(fields, file);
  if (parsed.is_global) requireGlobalWriter(ctx);
  // Validate the metadata before spending time on conversion.
  ContextDocumentCreateSchema.parse({ ...parsed, content: 'x' });
  const { format, markdown } = await convertToMarkdown(file as UploadedFile);
  const row = await insertDocument(ctx, { ...parsed, content: markdown } as ContextDocumentCreateInput, {
    references: { uploaded_file: (file as UploadedFile).filename, format },
  });
  return toDocument(row);
}

/** Apply a patch; a change of content snapshots the previous version and bumps `version`. */
async function patchDocument(
  ctx: ServiceContext,
  trx: Db,
  current: Row,
  patch: ContextDocumentPatch,
  references: Record<string, unknown> = {},
): Promise<Row> {
  const fields = Object.keys(patch).filter((k) => (patch as Record<string, unknown>)[k] !== undefined);
  if (fields.length === 0) return current;
  const contentChanged = patch.content !== undefined && patch.content !== current.content;
  if (contentChanged) {
    await trx
      .insertInto('context_document_versions')
      .values({
        document_id: current.id,
        version: current.version,
        title: current.title,
        content: current.content,
        targeting_rules: current.targeting_rules === null ? null : JSON.stringify(current.targeting_rules),
        saved_by: actorLabel(ctx),
      })
      .execute();
  }
  const { targeting_rules, ...rest } = patch;
  const updated = await trx
    .updateTable('context_documents')
    .set({
      ...rest,
      ...(targeting_rules === undefined
        ? {}
        : { targeting_rules: targeting_rules === null ? null : JSON.stringify(targeting_rules) }),
      ...(contentChanged ? { version: current.version + 1 } : {}),
      updated_at: new Date(),
    })
    .where('id', '=', current.id)
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  await trx
    .insertInto('activity_events')
    .values(
      documentActivity(ctx, 'context_document_updated', updated, {
        fields,
        version: updated.version,
        content_changed: contentChanged,
        ...references,
      }),
    )
    .execute();
  return updated;
}

/**
 * Update a document. Omitted fields are unchanged, `null` clears `description` and
 * `targeting_rules`; changed `content` stores the previous version (see the versions verbs).
 */
export async function updateContextDocument(
  ctx: ServiceContext,
  { uuid, patch: input }: { uuid: string; patch: ContextDocumentPatch },
): Promise<ContextDocument> {
  authorize(ctx, 'context_documents:write');
  const patch = ContextDocumentPatchSchema.parse(input);
  checkTargetingSize(patch.targeting_rules);
  const row = await ctx.db.transaction().execute(async (trx) => {
    const current = await findDocument(trx, uuid, true);
    if (current.is_global || patch.is_global === true) requireGlobalWriter(ctx);
    return patchDocument(ctx, trx, current, patch);
  });
  return toDocument(row);
}

export async function deleteContextDocument(ctx: ServiceContext, { uuid }: { uuid: string }): Promise<void> {
  authorize(ctx, 'context_documents:write');
  await ctx.db.transaction().execute(async (trx) => {
    const current = await findDocument(trx, uuid, true);
    if (current.is_global) requireGlobalWriter(ctx);
    // Stored versions go with it (ON DELETE CASCADE).
    await trx.deleteFrom('context_documents').where('id', '=', current.id).execute();
    await trx
      .insertInto('activity_events')
      .values(documentActivity(ctx, 'context_document_deleted', current, { version: current.version }))
      .execute();
  });
}

type VersionRow = {
  version: number;
  title: string;
  content: string;
  targeting_rules: Record<string, unknown> | null;
  saved_at: Date;
  saved_by: string | null;
};

/**
 * Every version of a document, newest first: the document itself (`is_current`), then the stored
 * snapshots. A snapshot of version N is saved when version N+1 is written, so version N's author
 * and time are those of snapshot N-1 (the document's creation for version 1).
 */
async function documentVersions(db: Db, uuid: string): Promise<ContextDocumentVersion[]> {
  const current = await findDocument(db, uuid);
  const snapshots: VersionRow[] = await db
    .selectFrom('context_document_versions')
    .select(['version', 'title', 'content', 'targeting_rules', 'saved_at', 'saved_by'])
    .where('document_id', '=', current.id)
    .orderBy('version', 'asc')
    .execute();
  const byVersion = new Map(snapshots.map((s) => [s.version, s]));
  const all: VersionRow[] = [
    ...snapshots,
    {
      version: current.version,
      title: current.title,
      content: current.content,
      targeting_rules: current.targeting_rules,
      saved_at: current.updated_at,
      saved_by: null,
    },
  ];
  return all
    .map((v) => {
      const previous = byVersion.get(v.version - 1);
      const isCurrent = v.version === current.version;
      return {
        version: v.version,
        title: v.title,
        is_current: isCurrent,
        created_at: iso(previous ? previous.saved_at : current.created_at),
        created_by: previous?.saved_by ?? null,
        superseded_at: isCurrent ? null : iso(v.saved_at),
        content_length: v.content.length,
        content: v.content,
        targeting_rules: v.targeting_rules as TargetingRules | null,
      };
    })
    .sort((a, b) => b.version - a.version);
}

export async function listContextDocumentVersions(
  ctx: ServiceContext,
  { uuid }: { uuid: string },
): Promise<ContextDocumentVersionSummary[]> {
  authorize(ctx, 'context_documents:read');
  return (await documentVersions(ctx.db, uuid)).map(({ content: _c, targeting_rules: _t, ...summary }) => summary);
}

export async function getContextDocumentVersion(
  ctx: ServiceContext,
  { uuid, version }: { uuid: string; version: number },
): Promise<ContextDocumentVersion> {
  authorize(ctx, 'context_documents:read');
  const found = (await documentVersions(ctx.db, uuid)).find((v) => v.version === version);
  if (!found) throw notFound(`Version ${version} of this context document`);
  return found;
}

/** The rules of `rules` that `subject` satisfies (all of them when the set matched). */
function matchedRules(rules: TargetingRules, subject: Parameters<typeof matchesTargeting>[1]): TargetingRule[] {
  const any = (rules.match_any ?? []).filter((rule) => matchesTargeting({ match_all: [rule] }, subject));
  return [...any, ...(rules.match_all ?? [])];
}

const byTypeThenTitle = (a: { document_type: string; title: string }, b: { document_type: string; title: string }) =>
  a.document_type < b.document_type
    ? -1
    : a.document_type > b.document_type
      ? 1
      : a.title.localeCompare(b.title, 'en', { sensitivity: 'base' });

/** A document that applies to an alert, as `applicableDocuments` loads it. */
export interface ApplicableDocument extends ContextDocumentMatch {
  is_system: boolean;
  /** The whole content's length in characters (`content` may be only its start). */
  length: number;
}

/**
 * The context documents that apply to an alert, for agents and the alert views:
 * 1. every global document (`matched_by: 'global'`; its targeting rules are ignored);
 * 2. every non-global document whose targeting rules match the alert (`matched_by`: the rules
 *    that matched). A non-global document without rules applies to no alert (reference quirk 22
 *    fixed).
 * Global documents come first, then targeted ones; each group ordered by `document_type`, then
 * `title`. An unknown alert has none. Content is markdown. `limit` loads only the first documents
 * and `contentChars` only the start of each (the agent payload shows no more); `total` counts all.
 */
export async function applicableDocuments(
  db: Db,
  alertId: number,
  options: {
    limit?: number;
    contentChars?: number;
    /** The alert's targeting facts when the caller holds them (the pipeline): not read again. */
    subject?: TargetingSubject;
    /** Keeps the candidate documents in process until the table changes. */
    cache?: TableCache;
  } = {},
): Promise<{ total: number; documents: ApplicableDocument[] }> {
  const subject = options.subject ?? (await targetingSubjectOf(db, alertId));
  if (subject === null) return { total: 0, documents: [] };
  const loadCandidates = () =>
    db
      .selectFrom('context_documents')
      .select(['id', 'title', 'document_type', 'is_global', 'targeting_rules'])
      .where((eb) => eb.or([eb('is_global', '=', true), eb('targeting_rules', 'is not', null)]))
      .orderBy('id')
      .execute();
  const candidates = await (options.cache?.get('context_documents', 'candidates', loadCandidates) ?? loadCandidates());
  const matched = new Map<number, 'global' | TargetingRule[]>();
  for (const doc of candidates) {
    if (doc.is_global) {
      matched.set(doc.id, 'global');
      continue;
    }
    const rules = doc.targeting_rules as TargetingRules | null;
    if (rules && matchesTargeting(rules, subject)) matched.set(doc.id, matchedRules(rules, subject));
  }
  const ordered = candidates.filter((c) => matched.has(c.id));
  const globals = ordered.filter((c) => matched.get(c.id) === 'global').sort(byTypeThenTitle);
  const targeted = ordered.filter((c) => matched.get(c.id) !== 'global').sort(byTypeThenTitle);
  const chosen = [...globals, ...targeted].slice(0, options.limit ?? ordered.length).map((c) => c.id);
  if (chosen.length === 0) return { total: ordered.length, documents: [] };
  const chars = options.contentChars;
  const rows = await db
    .selectFrom('context_documents')
    .select([
      'id',
      'uuid',
      'title',
      'document_type',
      'description',
      'is_global',
      'is_system',
      'tags',
      'version',
      'updated_at',
      chars === undefined ? 'content' : sql<string>`substr(content, 1, ${chars})`.as('content'),
      sql<number>`length(content)`.as('length'),
    ])
    .where('id', 'in', chosen)
    .execute();
  const byId = new Map(rows.map((r) => [r.id, r]));
  const documents = chosen.flatMap((id) => {
    const r = byId.get(id);
    if (!r) return [];
    return [
      {
        uuid: r.uuid,
        title: r.title,
        document_type: r.document_type as ContextDocumentType,
        description: r.description,
        // A document made global after matching is reported as global.
        is_global: r.is_global,
        is_system: r.is_system,
        tags: r.tags,
        version: r.version,
        updated_at: iso(r.updated_at),
        content: r.content,
        length: Number(r.length),
        matched_by: matched.get(r.id) as 'global' | TargetingRule[],
      },
    ];
  });
  return { total: ordered.length, documents };
}

/** Every context document that applies to an alert (see applicableDocuments), whole. */
export async function contextDocumentsFor(db: Db, alertId: number): Promise<ContextDocumentMatch[]> {
  const { documents } = await applicableDocuments(db, alertId);
  return documents.map(({ is_system: _s, length: _l, ...match }) => match);
}

/** JSON with object keys sorted (jsonb does not keep key order). */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** A document shipped with Calseta (demo / sandbox runbooks). */
export type SystemContextDocument = ContextDocumentCreateInput;

/**
 * Seed shipped documents as `is_system` rows, identified by title (idempotent): missing ones are
 * created; an existing system document whose fields differ is updated (a content change is a new
 * version, so edits stay recoverable). Documents users created are never touched.
 */
export async function seedSystemContextDocuments(
  ctx: ServiceContext,
  documents: readonly SystemContextDocument[],
): Promise<Array<{ uuid: string; title: string; outcome: 'created' | 'updated' | 'unchanged' }>> {
  const results: Array<{ uuid: string; title: string; outcome: 'created' | 'updated' | 'unchanged' }> = [];
  for (const input of documents) {
    const data = ContextDocumentCreateSchema.parse(input);
    const existing = await ctx.db
      .selectFrom('context_documents')
      .select('uuid')
      .where('is_system', '=', true)
      .where('title', '=', data.title)
      .orderBy('id')
      .executeTakeFirst();
    if (!existing) {
      const row = await insertDocument(ctx, data, { isSystem: true, references: { seeded: true } });
      results.push({ uuid: row.uuid, title: row.title, outcome: 'created' });
      continue;
    }
    const outcome = await ctx.db.transaction().execute(async (trx) => {
      const current = await findDocument(trx, existing.uuid, true);
      const wanted = {
        document_type: data.document_type,
        is_global: data.is_global,
        description: data.description ?? null,
        content: data.content,
        tags: data.tags,
        targeting_rules: data.targeting_rules ?? null,
      };
      const patch: ContextDocumentPatch = {};
      for (const [key, value] of Object.entries(wanted)) {
        if (canonical((current as Record<string, unknown>)[key]) !== canonical(value)) {
          (patch as Record<string, unknown>)[key] = value;
        }
      }
      if (Object.keys(patch).length === 0) return 'unchanged' as const;
      await patchDocument(ctx, trx, current, patch, { seeded: true });
      return 'updated' as const;
    });
    results.push({ uuid: existing.uuid, title: data.title, outcome });
  }
  return results;
}
