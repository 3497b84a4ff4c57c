import { randomUUID } from 'node:crypto';
import { type Scope, ScopeSchema } from '@calseta/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

/**
 * The scope matrix, walked: every operation of our own OpenAPI document (whose `x-required-scopes`
 * come from the same table the middleware enforces) is called with no key, a key holding every
 * scope but the required ones, an expired key, a revoked key and a key holding exactly one
 * required scope.
 */
interface Operation {
  method: string;
  path: string;
  scopes: Scope[] | null;
}

/** Routes that authenticate with their own credential (a link's token, Slack's signature) or none. */
const UNAUTHENTICATED = new Set([
  'GET /health',
  'GET /v1/approvals/{approval_uuid}/decide',
  'POST /v1/approvals/{approval_uuid}/decide',
  'POST /v1/approvals/callback/slack',
  'POST /v1/approvals/callback/teams',
]);

let h: Harness;
let operations: Operation[];
const keys = {} as Record<'expired' | 'revoked', string>;

function concrete(path: string): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) =>
    name === 'source_name' ? 'generic' : name === 'version' ? '1' : name === 'name' ? 'API_TOKEN' : randomUUID(),
  );
}

async function call(op: Operation, key: string | undefined) {
  const withBody = op.method === 'POST' || op.method === 'PATCH' || op.method === 'PUT';
  const res = await h.request(op.method as 'GET', concrete(op.path), {
    ...(key === undefined ? { key: '' } : { key }),
    ...(withBody ? { json: {} } : {}),
  });
  return { status: res.status, code: (res.body as { error?: { code?: string } } | undefined)?.error?.code };
}

/** Run `check` over every authenticated operation; collect the failures instead of stopping at one. */
async function walk(check: (op: Operation) => Promise<string | null>): Promise<string[]> {
  const failures: string[] = [];
  for (const op of operations) {
    if (op.scopes === null) continue;
    const failure = await check(op);
    if (failure) failures.push(`${op.method} ${op.path}: ${failure}`);
  }
  return failures;
}

beforeAll(async () => {
  h = await createHarness();
  const doc = (await h.request('GET', '/openapi.json')).body as {
    paths: Record<string, Record<string, { 'x-required-scopes'?: Scope[]; security?: unknown[] }>>;
  };
  operations = Object.entries(doc.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
      .map(([method, op]) => ({ method: method.toUpperCase(), path, scopes: op['x-required-scopes'] ?? null })),
  );
  const expired = await h.createKey({ scopes: ['admin'] });
  await h.deps.db
    .updateTable('api_keys')
    .set({ expires_at: new Date(Date.now() - 60_000) })
    .where('key_prefix', '=', expired.slice(0, 8))
    .execute();
  keys.expired = expired;
  keys.revoked = await h.createKey({ scopes: ['admin'] });
  const revoked = await h.deps.db
    .selectFrom('api_keys')
    .select('uuid')
    .where('key_prefix', '=', keys.revoked.slice(0, 8))
    .executeTakeFirstOrThrow();
  expect((await h.request('DELETE', `/v1/api-keys/${revoked.uuid}`)).status).toBe(204);
});
afterAll(() => h.close());

describe('the scope matrix, walked over every operation', () => {
  it('every operation but the five with their own credential declares its scopes', () => {
    const undeclared = operations.filter((op) => op.scopes === null).map((op) => `${op.method} ${op.path}`);
    expect(undeclared.sort()).toEqual([...UNAUTHENTICATED].sort());
    expect(operations.length).toBeGreaterThan(100);
  });

  it('no key: 401 UNAUTHORIZED', async () => {
    expect(
      await walk(async (op) => {
        const { status, code } = await call(op, undefined);
        return status === 401 && code === 'UNAUTHORIZED' ? null : `${status} ${code}`;
      }),
    ).toEqual([]);
  });

  it('a key with every scope except the required ones: 403 FORBIDDEN', async () => {
    const cache = new Map<string, string>();
    expect(
      await walk(async (op) => {
        const others = ScopeSchema.options.filter((s) => s !== 'admin' && !op.scopes?.includes(s));
        const id = others.join(',');
        const key = cache.get(id) ?? (await h.createKey({ scopes: others }));
        cache.set(id, key);
        const { status, code } = await call(op, key);
        return status === 403 && code === 'FORBIDDEN' ? null : `${status} ${code}`;
      }),
    ).toEqual([]);
  });

  it('an expired key: 401 KEY_EXPIRED', async () => {
    expect(
      await walk(async (op) => {
        const { status, code } = await call(op, keys.expired);
        return status === 401 && code === 'KEY_EXPIRED' ? null : `${status} ${code}`;
      }),
    ).toEqual([]);
  });

  it('a revoked key: 401 UNAUTHORIZED', async () => {
    expect(
      await walk(async (op) => {
        const { status, code } = await call(op, keys.revoked);
        return status === 401 && code === 'UNAUTHORIZED' ? null : `${status} ${code}`;
      }),
    ).toEqual([]);
  });

  it('a key with exactly one required scope gets past authorization (each required scope tried)', async () => {
    const cache = new Map<string, string>();
    expect(
      await walk(async (op) => {
        for (const scope of op.scopes ?? []) {
          const key = cache.get(scope) ?? (await h.createKey({ scopes: [scope] }));
          cache.set(scope, key);
          const { status, code } = await call(op, key);
          if (status === 401 || status === 403 || status >= 500) return `${scope}: ${status} ${code}`;
        }
        return null;
      }),
    ).toEqual([]);
  });
});
