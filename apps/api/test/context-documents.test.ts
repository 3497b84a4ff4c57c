import { crc32 } from 'node:zlib';
import { contextDocumentsFor } from '@calseta/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from './fixtures.js';
import { createHarness, type Harness } from './harness.js';

let h: Harness;
let readKey: string;
let writeKey: string;
beforeAll(async () => {
  h = await createHarness();
  readKey = await h.createKey({ scopes: ['alerts:read'] });
  writeKey = await h.createKey({ scopes: ['alerts:write'] });
});
afterAll(() => h.close());

interface DocView {
  uuid: string;
  title: string;
  document_type: string;
  is_global: boolean;
  version: number;
  content: string;
  targeting_rules: unknown;
  [key: string]: unknown;
}

const SENTINEL_RULES = {
  match_any: [
    { field: 'source_name', op: 'eq', value: 'sentinel' },
    { field: 'tags', op: 'contains', value: 'IdentityThreat' },
  ],
};

async function create(extra: Record<string, unknown> = {}, key = writeKey): Promise<DocView> {
  const res = await h.request('POST', '/v1/context-documents', {
    key,
    json: { title: 'Doc', document_type: 'runbook', content: '# Doc\n\nSteps.', ...extra },
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.data;
}

const errorPaths = (body: { error: { details?: { errors?: Array<{ path: string }> } } }) =>
  (body.error.details?.errors ?? []).map((e) => e.path);

// ------------------------------------------------------------------ tiny real files

/** A one-page PDF (Helvetica text lines), with a correct cross-reference table. */
function tinyPdf(lines: string[]): Uint8Array {
  const text = lines.map((l, i) => `BT /F1 12 Tf 72 ${720 - i * 20} Td (${l}) Tj ET`).join('\n');
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${text.length} >>\nstream\n${text}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(pdf.length);
    pdf += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const offset of offsets) pdf += `${String(offset).padStart(10, '0')} 00000 n \n`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new TextEncoder().encode(pdf);
}

/** A zip of stored (uncompressed) entries. */
function zip(files: Record<string, string>): Uint8Array {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of Object.entries(files)) {
    const data = Buffer.from(content, 'utf8');
    const nameBytes = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0, 6);
    local.writeUInt16LE(0, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(33, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(0, 28);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(33, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(nameBytes.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, nameBytes, data);
    centrals.push(central, nameBytes);
    offset += local.length + nameBytes.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(Object.keys(files).length, 8);
  end.writeUInt16LE(Object.keys(files).length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return new Uint8Array(Buffer.concat([...locals, cd, end]));
}

/** A minimal valid .docx: a "Heading 1" paragraph and a paragraph with bold text. */
function tinyDocx(heading: string, before: string, bold: string): Uint8Array {
  const W = 'http://schemas.openxmlformats.org/wordprocessingml/2006/main';
  const R = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
  return zip({
    '[Content_Types].xml':
      '<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/word/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.styles+xml"/></Types>',
    '_rels/.rels': `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${R}/officeDocument" Target="word/document.xml"/></Relationships>`,
    'word/_rels/document.xml.rels': `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="${R}/styles" Target="styles.xml"/></Relationships>`,
    'word/styles.xml': `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:styles xmlns:w="${W}"><w:style w:type="paragraph" w:styleId="Heading1"><w:name w:val="heading 1"/></w:style></w:styles>`,
    'word/document.xml': `<?xml version="1.0" encoding="UTF-8" standalone="yes"?><w:document xmlns:w="${W}"><w:body><w:p><w:pPr><w:pStyle w:val="Heading1"/></w:pPr><w:r><w:t>${heading}</w:t></w:r></w:p><w:p><w:r><w:t xml:space="preserve">${before} </w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>${bold}</w:t></w:r></w:p></w:body></w:document>`,
  });
}

async function upload(
  fields: Record<string, string>,
  file?: { name: string; type: string; bytes: Uint8Array | string },
  key = writeKey,
) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  if (file) form.set('file', new File([file.bytes], file.name, { type: file.type }));
  const response = await fetch(`${h.baseUrl}/v1/context-documents`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}` },
    body: form,
  });
  return { status: response.status, body: (await response.json()) as any };
}

// ------------------------------------------------------------------ CRUD

describe('context document CRUD', () => {
  it('creates from JSON, reads back in full and lists without content', async () => {
    const doc = await create({
      title: 'Identity runbook',
      description: 'For identity alerts',
      tags: ['identity'],
      targeting_rules: SENTINEL_RULES,
    });
    expect(doc).toMatchObject({
      title: 'Identity runbook',
      document_type: 'runbook',
      is_global: false,
      is_system: false,
      version: 1,
      tags: ['identity'],
      description: 'For identity alerts',
      content: '# Doc\n\nSteps.',
      targeting_rules: SENTINEL_RULES,
    });
    const got = await h.request('GET', `/v1/context-documents/${doc.uuid}`, { key: readKey });
    expect(got.status).toBe(200);
    expect(got.body.data).toEqual(doc);

    const list = await h.request('GET', '/v1/context-documents', { key: readKey });
    const item = (list.body.data as DocView[]).find((d) => d.uuid === doc.uuid);
    expect(item).toBeDefined();
    expect(item).not.toHaveProperty('content');
    expect(item).not.toHaveProperty('targeting_rules');

    const events = await h.query(
      `SELECT 1 FROM activity_events WHERE event_type = 'context_document_created' AND "references"->>'document_uuid' = $1`,
      [doc.uuid],
    );
    expect(events).toHaveLength(1);
  });

  it('deletes with 204 (versions go too) and answers 404 afterwards', async () => {
    const doc = await create();
    await h.request('PATCH', `/v1/context-documents/${doc.uuid}`, { json: { content: 'v2' } });
    const res = await h.request('DELETE', `/v1/context-documents/${doc.uuid}`, { key: writeKey });
    expect(res.status).toBe(204);
    expect(res.body).toBeNull();
    expect((await h.request('GET', `/v1/context-documents/${doc.uuid}`)).status).toBe(404);
    expect((await h.request('DELETE', `/v1/context-documents/${doc.uuid}`)).status).toBe(404);
    expect(
      await h.query(
        'SELECT 1 FROM context_document_versions v WHERE v.document_id NOT IN (SELECT id FROM context_documents)',
      ),
    ).toEqual([]);
  });

  it('filters by type (multi) and is_global, sorts and paginates', async () => {
    const tag = `sort-${Date.now()}`;
    // Global documents need admin (docs/security.md); targeted ones alerts:write.
    const a = await create({ title: `${tag} b`, document_type: 'sop', is_global: true }, h.adminKey);
    const b = await create({ title: `${tag} a`, document_type: 'playbook' });
    const c = await create({ title: `${tag} c`, document_type: 'detection_guide' });
    const uuids = async (query: string) => {
      const res = await h.request('GET', `/v1/context-documents?${query}`, { key: readKey });
      expect(res.status).toBe(200);
      return (res.body.data as DocView[]).filter((d) => d.title.startsWith(tag)).map((d) => d.uuid);
    };
    expect(await uuids('document_type=sop,playbook')).toEqual([b.uuid, a.uuid]);
    expect(await uuids('is_global=true')).toEqual([a.uuid]);
    expect(await uuids('sort_by=title&sort_order=asc')).toEqual([b.uuid, a.uuid, c.uuid]);
    expect(await uuids('sort_by=document_type&sort_order=asc')).toEqual([c.uuid, b.uuid, a.uuid]);
    const page = await h.request('GET', '/v1/context-documents?page_size=1&page=2');
    expect(page.body.data).toHaveLength(1);
    expect(page.body.meta.page).toBe(2);
    expect((await h.request('GET', '/v1/context-documents?sort_by=content')).status).toBe(422);
    expect((await h.request('GET', '/v1/context-documents?document_type=runbook&page_size=501')).status).toBe(422);
  });
});

describe('validation', () => {
  it.each([
    ['missing title', { title: undefined }, ['title']],
    ['unknown type', { document_type: 'novel' }, ['document_type']],
    ['empty content', { content: '' }, ['content']],
    ['rules without rules', { targeting_rules: {} }, ['targeting_rules']],
    [
      'rules with unknown key',
      { targeting_rules: { match_any: [{ field: 'tags', op: 'contains', value: 'x' }], match_some: [] } },
      ['targeting_rules'],
    ],
    [
      'unknown field in a rule',
      { targeting_rules: { match_any: [{ field: 'hostname', op: 'eq', value: 'x' }] } },
      ['targeting_rules.match_any.0.field'],
    ],
    [
      "'in' without a list",
      { targeting_rules: { match_all: [{ field: 'severity', op: 'in', value: 'High' }] } },
      ['targeting_rules.match_all.0.value'],
    ],
  ])('refuses %s with 422 and the path', async (_label, override, paths) => {
    const res = await h.request('POST', '/v1/context-documents', {
      json: { title: 'T', document_type: 'runbook', content: 'c', ...override },
    });
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
    expect(errorPaths(res.body)).toEqual(paths);
  });

  it('refuses targeting rules over 64 KB', async () => {
    const big = { match_any: [{ field: 'title', op: 'contains', value: 'x'.repeat(70_000) }] };
    const res = await h.request('POST', '/v1/context-documents', {
      json: { title: 'T', document_type: 'runbook', content: 'c', targeting_rules: big },
    });
    expect(res.status).toBe(422);
    expect(errorPaths(res.body)).toEqual(['targeting_rules']);
  });
});

describe('versions', () => {
  it('bumps the version only when content changes and keeps every previous version', async () => {
    const doc = await create({ title: 'Versioned', content: 'first' });
    const retitled = await h.request('PATCH', `/v1/context-documents/${doc.uuid}`, {
      json: { title: 'Versioned (renamed)', tags: ['x'] },
    });
    expect(retitled.body.data).toMatchObject({ version: 1, title: 'Versioned (renamed)', tags: ['x'] });
    const same = await h.request('PATCH', `/v1/context-documents/${doc.uuid}`, { json: { content: 'first' } });
    expect(same.body.data.version).toBe(1);

    const v2 = await h.request('PATCH', `/v1/context-documents/${doc.uuid}`, {
      key: writeKey,
      json: { content: 'second' },
    });
    expect(v2.body.data).toMatchObject({ version: 2, content: 'second' });
    const v3 = await h.request('PATCH', `/v1/context-documents/${doc.uuid}`, {
      json: { content: 'third', targeting_rules: SENTINEL_RULES },
    });
    expect(v3.body.data).toMatchObject({ version: 3, content: 'third', targeting_rules: SENTINEL_RULES });

    const list = await h.request('GET', `/v1/context-documents/${doc.uuid}/versions`, { key: readKey });
    expect(list.status).toBe(200);
    expect(list.body.data.map((v: { version: number; is_current: boolean }) => [v.version, v.is_current])).toEqual([
      [3, true],
      [2, false],
      [1, false],
    ]);
    for (const v of list.body.data) expect(v).not.toHaveProperty('content');
    const [v3s, v2s, v1s] = list.body.data;
    expect(v3s.superseded_at).toBeNull();
    expect(v1s).toMatchObject({ title: 'Versioned (renamed)', created_by: null, content_length: 5 });
    expect(v1s.superseded_at).toBe(v2s.created_at);
    // Version 2 was saved with the alerts:write key.
    const [writer] = await h.query<{ key_prefix: string }>(
      "SELECT key_prefix FROM api_keys WHERE scopes = '{alerts:write}'",
    );
    expect(v2s.created_by).toBe(writer?.key_prefix);

    const old = await h.request('GET', `/v1/context-documents/${doc.uuid}/versions/1`, { key: readKey });
    expect(old.status).toBe(200);
    expect(old.body.data).toMatchObject({ version: 1, content: 'first', targeting_rules: null, is_current: false });
    const current = await h.request('GET', `/v1/context-documents/${doc.uuid}/versions/3`);
    expect(current.body.data).toMatchObject({ version: 3, content: 'third', is_current: true });
    expect((await h.request('GET', `/v1/context-documents/${doc.uuid}/versions/4`)).status).toBe(404);
    expect((await h.request('GET', `/v1/context-documents/${doc.uuid}/versions/zero`)).status).toBe(422);

    const events = await h.query<{ references: { content_changed: boolean } }>(
      `SELECT "references" FROM activity_events WHERE event_type = 'context_document_updated' AND "references"->>'document_uuid' = $1 ORDER BY id`,
      [doc.uuid],
    );
    expect(events.map((e) => e.references.content_changed)).toEqual([false, false, true, true]);
  });

  it('clears targeting rules and description with null, and refuses null for required fields', async () => {
    const doc = await create({ description: 'd', targeting_rules: SENTINEL_RULES });
    const cleared = await h.request('PATCH', `/v1/context-documents/${doc.uuid}`, {
      json: { description: null, targeting_rules: null },
    });
    expect(cleared.body.data).toMatchObject({ description: null, targeting_rules: null, version: 1 });
    const bad = await h.request('PATCH', `/v1/context-documents/${doc.uuid}`, { json: { title: null } });
    expect(bad.status).toBe(422);
    expect(errorPaths(bad.body)).toEqual(['title']);
  });
});

// ------------------------------------------------------------------ uploads

describe('file upload (multipart)', () => {
  it('converts HTML to markdown, dropping scripts and styles, and parses the form fields', async () => {
    const res = await upload(
      {
        title: 'HTML runbook',
        document_type: 'runbook',
        is_global: 'YES',
        description: 'from html',
        tags: 'phishing, email',
        targeting_rules: JSON.stringify(SENTINEL_RULES),
      },
      {
        name: 'runbook.html',
        type: 'text/html',
        bytes:
          '<html><head><title>ignored</title><style>h1{color:red}</style></head><body><h1>Phishing response</h1><script>alert("x")</script><ul><li>Pull the message</li><li>Reset the <strong>password</strong></li></ul></body></html>',
      },
      h.adminKey,
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.data).toMatchObject({
      title: 'HTML runbook',
      is_global: true,
      description: 'from html',
      tags: ['phishing', 'email'],
      targeting_rules: SENTINEL_RULES,
      version: 1,
    });
    expect(res.body.data.content).toBe('# Phishing response\n\n-   Pull the message\n-   Reset the **password**\n');
    expect(res.body.data.content).not.toMatch(/alert|color|ignored/);
  });

  it('keeps plain text and markdown as they are; tags may be a JSON array', async () => {
    const text = await upload(
      { title: 'Text', document_type: 'sop', tags: '["a","b"]' },
      { name: 'notes.txt', type: 'text/plain', bytes: 'Line one\r\nLine two' },
    );
    expect(text.status).toBe(201);
    expect(text.body.data).toMatchObject({ content: 'Line one\nLine two\n', tags: ['a', 'b'], is_global: false });
    const md = await upload(
      { title: 'MD', document_type: 'playbook' },
      { name: 'playbook.md', type: 'application/octet-stream', bytes: '# Title\n\n- [ ] step' },
    );
    expect(md.status).toBe(201);
    expect(md.body.data.content).toBe('# Title\n\n- [ ] step\n');
  });

  it('extracts the text of a PDF', async () => {
    const res = await upload(
      { title: 'PDF plan', document_type: 'ir_plan' },
      { name: 'plan.pdf', type: 'application/pdf', bytes: tinyPdf(['Isolate the host', 'Collect memory image']) },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.data.content).toContain('Isolate the host');
    expect(res.body.data.content).toContain('Collect memory image');
  });

  it('converts a DOCX through HTML to markdown', async () => {
    const res = await upload(
      { title: 'DOCX SOP', document_type: 'sop' },
      {
        name: 'sop.docx',
        type: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
        bytes: tinyDocx('Containment', 'Disable the account', 'immediately'),
      },
    );
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.data.content).toBe('# Containment\n\nDisable the account **immediately**\n');
  });

  it.each([
    ['an unsupported type', { name: 'deck.pptx', type: 'application/vnd.ms-powerpoint', bytes: 'PK...' }],
    ['an image', { name: 'diagram.png', type: 'image/png', bytes: new Uint8Array([0x89, 0x50, 0x4e, 0x47]) }],
    ['a corrupt PDF', { name: 'broken.pdf', type: 'application/pdf', bytes: '%PDF-1.4 garbage' }],
    ['a corrupt DOCX', { name: 'broken.docx', type: '', bytes: 'not a zip' }],
    ['non-UTF-8 text', { name: 'latin.txt', type: 'text/plain', bytes: new Uint8Array([0x63, 0xe9, 0xff]) }],
    ['an empty file', { name: 'empty.md', type: 'text/markdown', bytes: '   ' }],
  ])('refuses %s with 422 UNSUPPORTED_FORMAT', async (_label, file) => {
    const res = await upload({ title: 'X', document_type: 'other' }, file);
    expect(res.status).toBe(422);
    expect(res.body.error.code).toBe('UNSUPPORTED_FORMAT');
  });

  it('refuses missing fields, a missing file and bad JSON with 422 VALIDATION_ERROR', async () => {
    const missing = await upload({ document_type: 'runbook' });
    expect(missing.status).toBe(422);
    expect(errorPaths(missing.body)).toEqual(['title', 'file']);
    const badJson = await upload(
      { title: 'x', document_type: 'runbook', targeting_rules: '{nope' },
      { name: 'a.txt', type: 'text/plain', bytes: 'a' },
    );
    expect(badJson.status).toBe(422);
    expect(errorPaths(badJson.body)).toEqual(['targeting_rules']);
    const badRules = await upload(
      { title: 'x', document_type: 'runbook', targeting_rules: '{"match_any":[{"field":"x","op":"eq","value":1}]}' },
      { name: 'a.txt', type: 'text/plain', bytes: 'a' },
    );
    expect(badRules.status).toBe(422);
    expect(errorPaths(badRules.body)).toEqual(['targeting_rules.match_any.0.field']);
    const badType = await upload(
      { title: 'x', document_type: 'novel' },
      { name: 'a.txt', type: 'text/plain', bytes: 'a' },
    );
    expect(errorPaths(badType.body)).toEqual(['document_type']);
  });

  it('needs alerts:write, and multipart is refused on JSON-only routes', async () => {
    const denied = await upload(
      { title: 'x', document_type: 'runbook' },
      { name: 'a.txt', type: 'text/plain', bytes: 'a' },
      readKey,
    );
    expect(denied.status).toBe(403);
    const form = new FormData();
    form.set('name', 'x');
    const other = await fetch(`${h.baseUrl}/v1/detection-rules`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.adminKey}` },
      body: form,
    });
    expect(other.status).toBe(415);
    expect(((await other.json()) as { error: { code: string } }).error.code).toBe('UNSUPPORTED_MEDIA_TYPE');
  });
});

describe('scopes', () => {
  it('alerts:read reads, alerts:write writes', async () => {
    const doc = await create();
    expect((await h.request('GET', `/v1/context-documents/${doc.uuid}`, { key: writeKey })).status).toBe(403);
    expect((await h.request('GET', `/v1/context-documents/${doc.uuid}/versions`, { key: writeKey })).status).toBe(403);
    for (const [method, path, json] of [
      ['POST', '/v1/context-documents', { title: 't', document_type: 'runbook', content: 'c' }],
      ['PATCH', `/v1/context-documents/${doc.uuid}`, { title: 'nope' }],
      ['DELETE', `/v1/context-documents/${doc.uuid}`, undefined],
    ] as const) {
      const res = await h.request(method, path, { key: readKey, json });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.body.error.details.required_scopes).toEqual(['alerts:write']);
    }
    expect((await h.request('GET', `/v1/context-documents/${doc.uuid}`)).body.data.title).toBe('Doc');
  });
});

// ------------------------------------------------------------------ which documents apply

describe('contextDocumentsFor', () => {
  it('returns global documents first, then matching targeted ones, each by type then title', async () => {
    const t = await createHarness();
    try {
      const make = async (body: Record<string, unknown>) => {
        const res = await t.request('POST', '/v1/context-documents', {
          json: { document_type: 'runbook', content: `# ${body.title}`, ...body },
        });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        return res.body.data as DocView;
      };
      const globalOther = await make({ title: 'Z escalation contacts', document_type: 'other', is_global: true });
      // Global: its (non-matching) rules are ignored.
      const globalPlan = await make({
        title: 'A incident response plan',
        document_type: 'ir_plan',
        is_global: true,
        targeting_rules: { match_all: [{ field: 'source_name', op: 'eq', value: 'nowhere' }] },
      });
      const identity = await make({ title: 'Identity runbook', targeting_rules: SENTINEL_RULES });
      const elasticHigh = await make({
        title: 'Endpoint high severity SOP',
        document_type: 'sop',
        targeting_rules: {
          match_all: [
            { field: 'source_name', op: 'eq', value: 'elastic' },
            { field: 'severity', op: 'gte', value: 'High' },
          ],
        },
      });
      const hashes = await make({
        title: 'Malware hash playbook',
        document_type: 'playbook',
        targeting_rules: { match_any: [{ field: 'indicator_types', op: 'contains', value: 'hash_sha256' }] },
      });
      await make({ title: 'Untargeted draft' });
      await make({
        title: 'Other source',
        targeting_rules: { match_any: [{ field: 'source_name', op: 'eq', value: 'generic' }] },
      });

      await t.startWorker();
      const alertIds: Record<string, number> = {};
      for (const [source, file] of [
        ['sentinel', '01_sentinel_brute_force_tor.json'],
        ['elastic', '02_elastic_malware_hash.json'],
        ['splunk', '03_splunk_anomalous_data_transfer.json'],
      ] as const) {
        const done = t.nextJob((o) => o.name === 'enrich-alert');
        const res = await t.request('POST', `/v1/ingest/${source}`, { json: fixture(file) });
        expect(res.status).toBe(202);
        expect((await done).state).toBe('completed');
        const [row] = await t.query<{ id: string }>('SELECT id FROM alerts WHERE uuid = $1', [
          res.body.data.alert_uuid,
        ]);
        alertIds[file] = Number(row?.id);
      }

      const titles = async (file: string) =>
        (await contextDocumentsFor(t.deps.db, alertIds[file] as number)).map((d) => d.title);
      const globals = [globalPlan.title, globalOther.title];
      expect(await titles('01_sentinel_brute_force_tor.json')).toEqual([...globals, identity.title]);
      expect(await titles('02_elastic_malware_hash.json')).toEqual([...globals, hashes.title, elasticHigh.title]);
      expect(await titles('03_splunk_anomalous_data_transfer.json')).toEqual(globals);

      const sentinel = await contextDocumentsFor(t.deps.db, alertIds['01_sentinel_brute_force_tor.json'] as number);
      expect(sentinel[0]).toMatchObject({
        uuid: globalPlan.uuid,
        is_global: true,
        matched_by: 'global',
        version: 1,
        content: '# A incident response plan',
        tags: [],
        description: null,
      });
      expect(sentinel[2]?.matched_by).toEqual(SENTINEL_RULES.match_any);
      const elastic = await contextDocumentsFor(t.deps.db, alertIds['02_elastic_malware_hash.json'] as number);
      expect(elastic[3]?.matched_by).toHaveLength(2);
      expect(await contextDocumentsFor(t.deps.db, 999_999_999)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
