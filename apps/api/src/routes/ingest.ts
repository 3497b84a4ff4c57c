import { ingestAlert } from '@calseta/core';
import { dataEnvelope, IngestAcceptedSchema } from '@calseta/schema';
import { OpenAPIHono, z } from '@hono/zod-openapi';
import { dataBody } from '../envelope.js';
import { apiRoute, errorContent } from '../route.js';
import type { AppEnv } from '../types.js';

export const ingestRoutes = new OpenAPIHono<AppEnv>();

ingestRoutes.openapi(
  apiRoute({
    method: 'post',
    path: '/v1/ingest/{source_name}',
    tags: ['Ingest'],
    summary: 'Receive an alert webhook from a source',
    description:
      "The body is the source's own alert format (Sentinel incident, Elastic alert, Splunk webhook, generic JSON). " +
      'When the source integration (`/v1/sources`) has a `webhook_secret`, or else `<SOURCE>_WEBHOOK_SECRET` is set, ' +
      'its signature header is verified over the raw body (HMAC-SHA256; Splunk: the shared-secret header). ' +
      'Keys with `allowed_sources` may ingest from those sources only. ' +
      '202 means the alert and its pipeline job are committed.',
    permission: 'alerts:ingest',
    request: {
      params: z.object({ source_name: z.string().min(1).max(100).openapi({ example: 'elastic' }) }),
      // A plain schema, not zod: the body is any JSON object, parsed once by readBody and checked by
      // core after the signature (non-object: 422 INVALID_PAYLOAD, as the reference orders it).
      // A zod record here re-parsed the text and copied every key of every alert.
      body: {
        required: true,
        content: {
          'application/json': {
            schema: { type: 'object', additionalProperties: {}, description: 'Source payload' },
          },
        },
      },
    },
    responses: {
      202: {
        description: 'Stored and queued (or counted on a duplicate).',
        content: { 'application/json': { schema: dataEnvelope(IngestAcceptedSchema) } },
      },
      400: errorContent('Body is not JSON (`INVALID_JSON`).'),
      401: errorContent(
        'Missing or invalid API key, or missing / wrong webhook signature (`INVALID_SIGNATURE`; nothing is stored).',
      ),
      403: errorContent(
        "Missing scope (`FORBIDDEN`), a source outside the key's `allowed_sources` or a disabled integration (`SOURCE_NOT_ALLOWED`).",
      ),
      404: errorContent('Unknown source (`UNKNOWN_SOURCE`).'),
      413: errorContent('Body over the ingest size limit (`PAYLOAD_TOO_LARGE`).'),
      415: errorContent('Body is not JSON (`UNSUPPORTED_MEDIA_TYPE`).'),
    },
  }),
  async (c) => {
    const accepted = await ingestAlert(c.get('ctx'), {
      sourceName: c.req.valid('param').source_name,
      payload: c.get('body'),
      webhook: { rawBody: new Uint8Array(await c.req.arrayBuffer()), headers: c.req.header() },
    });
    return c.json(dataBody(accepted), 202);
  },
);
