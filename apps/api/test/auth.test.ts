import { SCOPES, type Scope } from '@calseta/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

interface Operation {
  method: string;
  path: string;
  scopes: Scope[];
}

/** Documented routes that authenticate with their own credential (a link's token, Slack's signature) or none. */
const OWN_CREDENTIAL = [
  'GET /health',
  // Orchestrator probes (docs/operations.md): no credential at all, like /health.
  'GET /health/live',
  'GET /health/ready',
  'GET /v1/approvals/{approval_uuid}/decide',
  'POST /v1/approvals/{approval_uuid}/decide',
  'POST /v1/approvals/callback/slack',
  'POST /v1/approvals/callback/teams',
  // Sign-in (issue 21): public, or authenticated by the session cookie they are about.
  'GET /v1/auth/config',
  'GET /v1/auth/oidc/login',
  'GET /v1/auth/oidc/callback',
  'POST /v1/auth/session',
  'GET /v1/auth/session',
  'DELETE /v1/auth/session',
];

let h: Harness;
let operations: Operation[];
const keys: Record<string, string> = {};

beforeAll(async () => {
  h = await createHarness();
  const doc = (await h.request('GET', '/openapi.json', { key: null })).body;
  const all = Object.entries(doc.paths as Record<string, Record<string, { 'x-required-scopes'?: Scope[] }>>).flatMap(
    ([path, methods]) =>
      Object.entries(methods).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        scopes: op['x-required-scopes'],
      })),
  );
  // The scope table is the single source: every other operation carries its scopes in the document.
  expect(
    all
      .filter((op) => op.scopes === undefined)
      .map((op) => `${op.method} ${op.path}`)
      .sort(),
  ).toEqual([...OWN_CREDENTIAL].sort());
  operations = all.filter((op): op is Operation => op.scopes !== undefined);
  keys.expired = await h.createKey({ scopes: ['admin'], expires_at: '2020-01-01T00:00:00Z' });
  keys.revoked = await h.createKey({ scopes: ['admin'] });
  const revokedRow = await h.deps.db
    .selectFrom('api_keys')
    .select('uuid')
    .orderBy('id', 'desc')
    .executeTakeFirstOrThrow();
  expect((await h.request('DELETE', `/v1/api-keys/${revokedRow.uuid}`)).status).toBe(204);
});
afterAll(() => h.close());

/** A concrete URL for an OpenAPI path template. */
function url(path: string): string {
  return path.replace('{source_name}', 'generic').replace(/\{[a-z_]+\}/g, '0190d1a2-0000-7000-8000-000000000000');
}

function call(op: Operation, authorization: string | null) {
  const headers: Record<string, string> = authorization === null ? {} : { authorization };
  const hasBody = op.method === 'POST' || op.method === 'PATCH';
  return h.request(op.method, url(op.path), { key: null, headers, ...(hasBody && { json: {} }) });
}

describe('every route checks its key before anything else', () => {
  it('documents the scopes of every /v1 operation', () => {
    const v1 = operations.filter((op) => op.path.startsWith('/v1/'));
    expect(v1.length).toBeGreaterThanOrEqual(95);
    for (const op of v1) expect(op.scopes.length, `${op.method} ${op.path}`).toBeGreaterThan(0);
  });

  it('rejects a missing key, a malformed header, an unknown, an expired and a revoked key', async () => {
    for (const op of operations.filter((o) => o.path.startsWith('/v1/'))) {
      const label = `${op.method} ${op.path}`;
      const cases: Array<[string | null, number, string]> = [
        [null, 401, 'UNAUTHORIZED'],
        ['Basic dXNlcjpwYXNz', 401, 'UNAUTHORIZED'],
        [`Bearer cai_${'x'.repeat(43)}`, 401, 'UNAUTHORIZED'],
        [`Bearer ${keys.expired}`, 401, 'KEY_EXPIRED'],
        [`Bearer ${keys.revoked}`, 401, 'UNAUTHORIZED'],
      ];
      for (const [authorization, status, code] of cases) {
        const res = await call(op, authorization);
        expect(res.status, `${label} with ${authorization?.slice(0, 12)}`).toBe(status);
        expect(res.body.error.code, label).toBe(code);
      }
    }
  });

  it('rejects a key without the required scope, naming the scope, and admits one with it', async () => {
    for (const op of operations.filter((o) => o.path.startsWith('/v1/'))) {
      const label = `${op.method} ${op.path}`;
      const wrong = SCOPES.filter((s) => s !== 'admin' && !op.scopes.includes(s));
      keys[`without:${op.scopes}`] ??= await h.createKey({ scopes: wrong as [Scope, ...Scope[]] });
      const denied = await call(op, `Bearer ${keys[`without:${op.scopes}`]}`);
      expect(denied.status, label).toBe(403);
      expect(denied.body.error).toMatchObject({ code: 'FORBIDDEN', details: { required_scopes: op.scopes } });

      for (const scope of op.scopes) {
        keys[`with:${scope}`] ??= await h.createKey({ scopes: [scope] });
        const allowed = await call(op, `Bearer ${keys[`with:${scope}`]}`);
        expect([401, 403], `${label} with ${scope} got ${allowed.status}`).not.toContain(allowed.status);
      }
    }
  });

  it('records when a key was last used', async () => {
    const key = await h.createKey({ scopes: ['alerts:read'] });
    expect((await h.request('GET', '/v1/alerts', { key })).status).toBe(200);
    // Written off the request's path (keys.ts): wait for the write rather than race it.
    const lastUsed = () =>
      h.deps.db
        .selectFrom('api_keys')
        .select('last_used_at')
        .orderBy('id', 'desc')
        .executeTakeFirstOrThrow()
        .then((row) => row.last_used_at);
    await expect.poll(lastUsed, { timeout: 10_000 }).toBeInstanceOf(Date);
  });
});
