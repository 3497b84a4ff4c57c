import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { committedParityPage, type OpenApiDocument, parity, referenceOperations } from '../../../scripts/api-parity.js';
import { API_REFERENCE_PAGE, apiReferenceMarkdown, committedPage } from '../../../scripts/reference-docs.js';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
let doc: OpenApiDocument;
beforeAll(async () => {
  h = await createHarness();
  const res = await h.request('GET', '/openapi.json');
  expect(res.status).toBe(200);
  doc = res.body as OpenApiDocument;
});
afterAll(() => h.close());

describe('REST parity with the reference', () => {
  it('has every one of the reference’s operations', () => {
    const report = parity(doc);
    expect(referenceOperations()).toHaveLength(92); // 91 in its OpenAPI + /health
    expect(report.missing.map((op) => `${op.n}. ${op.method} ${op.path}`)).toEqual([]);
  });

  it('the committed docs/api/parity.md is what the script generates (pnpm api:parity)', () => {
    const { markdown } = parity(doc);
    expect(committedParityPage(markdown)).toBe(markdown);
  });

  it('finds a missing operation (the check can fail)', () => {
    const trimmed: OpenApiDocument = { paths: { ...doc.paths } };
    delete trimmed.paths['/v1/alerts/{alert_uuid}/findings'];
    const missing = parity(trimmed).missing.map((op) => `${op.method} ${op.path}`);
    expect(missing).toEqual(['POST /v1/alerts/{alert_uuid}/findings', 'GET /v1/alerts/{alert_uuid}/findings']);
  });

  it('the committed docs/api/reference.md is what the script generates (pnpm docs:reference)', () => {
    const markdown = apiReferenceMarkdown(doc as Parameters<typeof apiReferenceMarkdown>[0]);
    expect(markdown).toContain('| POST | `/v1/ingest/{source_name}` |');
    expect(committedPage(API_REFERENCE_PAGE, markdown)).toBe(markdown);
  });
});
