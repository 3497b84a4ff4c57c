import {
  type ContextDocumentUploadFields,
  createContextDocument,
  createContextDocumentFromUpload,
  deleteContextDocument,
  getContextDocument,
  getContextDocumentVersion,
  listContextDocuments,
  listContextDocumentVersions,
  type UploadedFile,
  updateContextDocument,
} from '@calseta/core';
import {
  type ContextDocumentCreateInput,
  ContextDocumentCreateSchema,
  ContextDocumentListQuerySchema,
  ContextDocumentPatchSchema,
  ContextDocumentSchema,
  ContextDocumentSummarySchema,
  ContextDocumentUploadSchema,
  ContextDocumentVersionSchema,
  ContextDocumentVersionSummarySchema,
  dataEnvelope,
  PageQuerySchema,
  pageEnvelope,
  UuidSchema,
} from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { dataBody, pageBody } from '../envelope.js';
import { acceptMultipart } from '../middleware/request.js';
import { apiRoute, body, errorContent, json } from '../route.js';
import type { AppEnv } from '../types.js';

const DocumentParams = z.object({ doc_uuid: UuidSchema });
const VersionParams = DocumentParams.extend({ version: z.coerce.number().int().min(1).max(1_000_000) });
const tags = ['Context documents'];
const documentEnvelope = dataEnvelope(ContextDocumentSchema);

export const contextDocumentRoutes = new OpenAPIHono<AppEnv>();

contextDocumentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/context-documents',
    tags,
    summary: 'List context documents (without content)',
    description:
      'Filters: `document_type` (comma-separated), `is_global`. Sort by `title`, `document_type`, `updated_at` or `created_at` (default `created_at desc`).',
    permission: 'context_documents:read',
    request: { query: ContextDocumentListQuerySchema.extend(PageQuerySchema.shape) },
    responses: { 200: json(pageEnvelope(ContextDocumentSummarySchema), 'A page of documents.') },
  }),
  async (c) => c.json(pageBody(await listContextDocuments(c.get('ctx'), c.req.valid('query'))), 200),
);

acceptMultipart('POST', '/v1/context-documents');

contextDocumentRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/context-documents',
    tags,
    summary: 'Create a context document (JSON, or a file upload converted to markdown)',
    description:
      'JSON: the document with markdown `content`. `multipart/form-data`: the same fields as text (`tags` a JSON array or comma-separated, `targeting_rules` JSON, `is_global` `true|1|yes`) plus `file` — PDF, DOCX, HTML, plain text or Markdown, converted to markdown (the file itself is not kept). Other formats, or files without extractable text, are 422 `UNSUPPORTED_FORMAT`. Non-global documents apply only to alerts their `targeting_rules` match.',
    permission: 'context_documents:write',
    request: {
      body: {
        required: false,
        content: {
          'application/json': { schema: ContextDocumentCreateSchema },
          'multipart/form-data': { schema: ContextDocumentUploadSchema },
        },
      },
    },
    responses: {
      201: json(documentEnvelope, 'Created.'),
      422: errorContent(
        'Invalid fields (`VALIDATION_ERROR`) or a file that cannot be converted (`UNSUPPORTED_FORMAT`).',
      ),
    },
  }),
  async (c) => {
    const ctx = c.get('ctx');
    const type = c.req.header('content-type') ?? '';
    if (/^multipart\/form-data/i.test(type)) {
      const form = await c.req.parseBody();
      const text = (key: string) => (typeof form[key] === 'string' ? (form[key] as string) : undefined);
      const fields: ContextDocumentUploadFields = {
        title: text('title'),
        document_type: text('document_type'),
        is_global: text('is_global'),
        description: text('description'),
        tags: text('tags'),
        targeting_rules: text('targeting_rules'),
      };
      const part = form.file;
      const file: UploadedFile | undefined =
        part instanceof File
          ? { filename: part.name, contentType: part.type, bytes: new Uint8Array(await part.arrayBuffer()) }
          : undefined;
      return c.json(dataBody(await createContextDocumentFromUpload(ctx, { input: fields, file })), 201);
    }
    return c.json(
      dataBody(
        await createContextDocument(
          ctx,
          // Validated as JSON above (the union type also covers the form branch).
          c.req.valid('json') as ContextDocumentCreateInput,
        ),
      ),
      201,
    );
  },
);

contextDocumentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/context-documents/{doc_uuid}',
    tags,
    summary: 'Get a context document with its content',
    permission: 'context_documents:read',
    request: { params: DocumentParams },
    responses: { 200: json(documentEnvelope, 'The document.'), 404: errorContent('No such document.') },
  }),
  async (c) => c.json(dataBody(await getContextDocument(c.get('ctx'), { uuid: c.req.valid('param').doc_uuid })), 200),
);

contextDocumentRoutes.openapi(
  apiRoute({
    method: 'patch',
    path: '/v1/context-documents/{doc_uuid}',
    tags,
    summary: 'Update a context document (a content change is a new version)',
    description:
      'Omitted fields are unchanged; `null` clears `description` and `targeting_rules`. When `content` changes, the previous content is kept as a version and `version` increases by one.',
    permission: 'context_documents:write',
    request: { params: DocumentParams, body: body(ContextDocumentPatchSchema) },
    responses: { 200: json(documentEnvelope, 'The updated document.'), 404: errorContent('No such document.') },
  }),
  async (c) =>
    c.json(
      dataBody(
        await updateContextDocument(c.get('ctx'), {
          uuid: c.req.valid('param').doc_uuid,
          patch: c.req.valid('json'),
        }),
      ),
      200,
    ),
);

contextDocumentRoutes.openapi(
  apiRoute({
    method: 'delete',
    path: '/v1/context-documents/{doc_uuid}',
    tags,
    summary: 'Delete a context document and its versions',
    permission: 'context_documents:write',
    request: { params: DocumentParams },
    responses: { 204: { description: 'Deleted.' }, 404: errorContent('No such document.') },
  }),
  async (c) => {
    await deleteContextDocument(c.get('ctx'), { uuid: c.req.valid('param').doc_uuid });
    return c.body(null, 204);
  },
);

contextDocumentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/context-documents/{doc_uuid}/versions',
    tags,
    summary: 'List the versions of a document, newest (current) first, without content',
    permission: 'context_documents:read',
    request: { params: DocumentParams },
    responses: {
      200: json(z.object({ data: z.array(ContextDocumentVersionSummarySchema), meta: z.object({}) }), 'Versions.'),
      404: errorContent('No such document.'),
    },
  }),
  async (c) =>
    c.json(dataBody(await listContextDocumentVersions(c.get('ctx'), { uuid: c.req.valid('param').doc_uuid })), 200),
);

contextDocumentRoutes.openapi(
  apiRoute({
    method: 'get',
    path: '/v1/context-documents/{doc_uuid}/versions/{version}',
    tags,
    summary: 'Get one version of a document, with its content',
    permission: 'context_documents:read',
    request: { params: VersionParams },
    responses: {
      200: json(dataEnvelope(ContextDocumentVersionSchema), 'The version.'),
      404: errorContent('No such document or version.'),
    },
  }),
  async (c) => {
    const { doc_uuid, version } = c.req.valid('param');
    return c.json(dataBody(await getContextDocumentVersion(c.get('ctx'), { uuid: doc_uuid, version })), 200);
  },
);
