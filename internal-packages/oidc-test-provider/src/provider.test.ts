import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningOidcProvider, signInAtProvider, startOidcProvider } from './index.js';

const redirect = 'http://127.0.0.1:9/callback';
let op: RunningOidcProvider;

beforeAll(async () => {
  op = await startOidcProvider({
    clients: [{ client_id: 'rp', client_secret: 'rp-secret', redirect_uris: [redirect] }],
    users: [{ sub: 'u1', email: 'ana@example.test', name: 'Ana', password: 'pw', groups: ['soc'] }],
  });
});
afterAll(() => op.close());

async function authorize(login: string, password: string): Promise<URL> {
  const discovery = (await (await fetch(`${op.issuer}/.well-known/openid-configuration`)).json()) as Record<
    string,
    string
  >;
  const verifier = randomBytes(32).toString('base64url');
  const url = new URL(discovery.authorization_endpoint as string);
  url.search = new URLSearchParams({
    client_id: 'rp',
    response_type: 'code',
    redirect_uri: redirect,
    scope: 'openid email profile groups',
    state: 's1',
    nonce: 'n1',
    code_challenge: createHash('sha256').update(verifier).digest('base64url'),
    code_challenge_method: 'S256',
  }).toString();
  return new URL(await signInAtProvider(url.toString(), { login, password }, redirect));
}

describe('oidc-test-provider', () => {
  it('serves discovery and a login form that issues a code', async () => {
    const back = await authorize('ana@example.test', 'pw');
    expect(back.searchParams.get('state')).toBe('s1');
    expect(back.searchParams.get('code')).toBeTruthy();
  });

  it('refuses a wrong password at the form', async () => {
    await expect(authorize('ana@example.test', 'nope')).rejects.toThrow(/Invalid email or password/);
  });
});
