import { createHash } from 'node:crypto';
import type { GuardedFetch } from '../fetch.js';
import { errorMessage, REQUEST_TIMEOUT_MS, trimBase, userSegment, type WorkflowIntegrationSpec } from './shared.js';

/** A cached Entra token is replaced this long before it expires. */
const TOKEN_MARGIN_MS = 120_000;
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

/** Client-credentials tokens per (login base, tenant, client, secret), shared by this process. */
const tokenCache = new Map<string, { token: string; expiresAt: number }>();

/** Forget cached Entra tokens (tests). */
export function clearEntraTokenCache(): void {
  tokenCache.clear();
}

export interface EntraAuth {
  tenant_id: string;
  client_id: string;
  client_secret: string;
  login_base_url: string;
  graph_base_url: string;
}

/** Microsoft Graph with an OAuth2 client-credentials token (cached per process until shortly before expiry). */
export class EntraIntegration {
  readonly #fetch: GuardedFetch;
  readonly #auth: EntraAuth;
  readonly #graph: string;

  constructor(fetch: GuardedFetch, auth: EntraAuth) {
    this.#fetch = fetch;
    this.#auth = auth;
    this.#graph = `${trimBase(auth.graph_base_url)}/v1.0`;
  }

  #cacheKey(): string {
    const a = this.#auth;
    const secretHash = createHash('sha256').update(a.client_secret).digest('hex');
    return [trimBase(a.login_base_url), a.tenant_id, a.client_id, secretHash].join('|');
  }

  async #token(): Promise<string> {
    const a = this.#auth;
    const key = this.#cacheKey();
    const cached = tokenCache.get(key);
    if (cached && cached.expiresAt - TOKEN_MARGIN_MS > Date.now()) return cached.token;
    const response = await this.#fetch(
      `${trimBase(a.login_base_url)}/${encodeURIComponent(a.tenant_id)}/oauth2/v2.0/token`,
      {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: a.client_id,
          client_secret: a.client_secret,
          scope: GRAPH_SCOPE,
        }).toString(),
        timeoutMs: REQUEST_TIMEOUT_MS,
      },
    );
    if (!response.ok) throw new Error(await errorMessage('Microsoft Entra token', response));
    const body = (await response.json()) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body.access_token !== 'string') throw new Error('Microsoft Entra token response has no access_token');
    const seconds = Number(body.expires_in);
    tokenCache.set(key, {
      token: body.access_token,
      expiresAt: Date.now() + (Number.isFinite(seconds) && seconds > 0 ? seconds : 3600) * 1000,
    });
    return body.access_token;
  }

  async #call(method: string, path: string, json?: unknown, retried = false): Promise<unknown> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${await this.#token()}`,
      Accept: 'application/json',
    };
    if (json !== undefined) headers['Content-Type'] = 'application/json';
    const response = await this.#fetch(this.#graph + path, {
      method,
      headers,
      ...(json === undefined ? {} : { body: JSON.stringify(json) }),
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    if (response.status === 401 && !retried) {
      // A cached token Graph no longer accepts (revoked, clock skew): forget it and retry once.
      tokenCache.delete(this.#cacheKey());
      return this.#call(method, path, json, true);
    }
    if (!response.ok) throw new Error(await errorMessage('Microsoft Graph', response));
    if (response.status === 204 || response.bytes.length === 0) return null;
    return response.json();
  }

  #user(user: string): string {
    return `/users/${userSegment(user)}`;
  }

  async revokeSessions(user: string): Promise<null> {
    await this.#call('POST', `${this.#user(user)}/revokeSignInSessions`);
    return null;
  }

  async disableAccount(user: string): Promise<null> {
    await this.#call('PATCH', this.#user(user), { accountEnabled: false });
    return null;
  }

  async enableAccount(user: string): Promise<null> {
    await this.#call('PATCH', this.#user(user), { accountEnabled: true });
    return null;
  }

  /** Deletes every non-password authentication method; returns how many were removed. */
  async resetMfa(user: string): Promise<number> {
    const listed = (await this.#call('GET', `${this.#user(user)}/authentication/methods`)) as {
      value?: Array<{ '@odata.type'?: unknown; id?: unknown }>;
    } | null;
    let removed = 0;
    for (const method of listed?.value ?? []) {
      const type = String(method['@odata.type'] ?? '');
      if (type.endsWith('passwordAuthenticationMethod') || typeof method.id !== 'string') continue;
      const segment = `${type.replace('#microsoft.graph.', '').replace(/AuthenticationMethod$/, '')}Methods`;
      await this.#call('DELETE', `${this.#user(user)}/authentication/${segment}/${encodeURIComponent(method.id)}`);
      removed++;
    }
    return removed;
  }
}

/** `ctx.integrations.entra`, from the `entra` provider's resolved tenant, client and Graph/login hosts. */
export const entraWorkflowIntegration: WorkflowIntegrationSpec = {
  name: 'entra',
  methods: ['revokeSessions', 'disableAccount', 'enableAccount', 'resetMfa'],
  testResults: { resetMfa: 0 },
  connect: (fetch, a) =>
    a.tenant_id && a.client_id && a.client_secret && a.login_base_url && a.graph_base_url
      ? new EntraIntegration(fetch, {
          tenant_id: a.tenant_id,
          client_id: a.client_id,
          client_secret: a.client_secret,
          login_base_url: a.login_base_url,
          graph_base_url: a.graph_base_url,
        })
      : null,
};
