/**
 * `ctx.integrations` of workflow code: Okta and Microsoft Entra (Graph) clients, built per run from
 * the `okta` / `entra` enrichment providers' resolved credentials (absent → `null`, and the builtins
 * fail with "… integration is not configured"). Every request goes through the process's
 * SSRF-guarded workflow client; the workflow never sees the credentials. Methods are exactly the
 * ones the builtin workflows call (reference §7.5); HTTP errors reject with the provider's message.
 *
 * The test endpoint gets {@link mockWorkflowIntegrations} instead: no-op clients that touch no
 * service and report each call as `INTEGRATION integration://<name>/<method>` in `http_calls`.
 */
import { createHash } from 'node:crypto';
import type { HostIntegration } from '@calseta/workflow-sandbox';
import type { CoreDeps } from '../context.js';
import type { SafeFetch, SafeResponse } from '../http/safe-fetch.js';
import type { RecordedCall } from './http.js';

/** Per request (reference: 30 s). */
const REQUEST_TIMEOUT_MS = 30_000;
/** A cached Entra token is replaced this long before it expires. */
const TOKEN_MARGIN_MS = 120_000;
const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

function trimBase(url: string): string {
  return url.replace(/\/+$/, '');
}

async function errorMessage(label: string, response: SafeResponse): Promise<string> {
  let detail = '';
  try {
    const body = (await response.json()) as Record<string, unknown> | null;
    const graph = body?.error as { message?: unknown } | string | undefined;
    detail = String(
      body?.errorSummary ??
        (typeof graph === 'object' && graph ? graph.message : undefined) ??
        body?.error_description ??
        graph ??
        '',
    );
  } catch {
    detail = (await response.text().catch(() => '')).slice(0, 300);
  }
  return `${label} HTTP ${response.status}${detail ? `: ${detail}` : ''}`;
}

/**
 * A user as it goes into an identity provider's URL path. The value is often an alert's account
 * (attacker-chosen): a dot segment would change the path even encoded, and Okta's `users/me` is the
 * API token's own administrator — a workflow told to suspend `me` suspended Calseta's admin.
 */
function userSegment(user: unknown): string {
  const text = String(user).trim();
  if (text === '' || /^\.+$/.test(text) || text.toLowerCase() === 'me') {
    throw new Error(`'${text.slice(0, 64)}' is not a user login or id`);
  }
  return encodeURIComponent(String(user));
}

/** Okta Management API: `SSWS <token>`; each method first resolves the user by login. */
export class OktaIntegration {
  readonly #fetch: SafeFetch;
  readonly #base: string;
  readonly #token: string;

  constructor(fetch: SafeFetch, auth: { base_url: string; api_token: string }) {
    this.#fetch = fetch;
    this.#base = `${trimBase(auth.base_url)}/api/v1`;
    this.#token = auth.api_token;
  }

  async #call(method: string, path: string): Promise<unknown> {
    const response = await this.#fetch(this.#base + path, {
      method,
      headers: { Authorization: `SSWS ${this.#token}`, Accept: 'application/json', 'Content-Type': 'application/json' },
      timeoutMs: REQUEST_TIMEOUT_MS,
    });
    if (!response.ok) throw new Error(await errorMessage('Okta', response));
    if (response.status === 204 || response.bytes.length === 0) return null;
    return response.json();
  }

  async #userId(login: string): Promise<string> {
    const user = (await this.#call('GET', `/users/${userSegment(login)}`)) as { id?: unknown } | null;
    if (!user || typeof user.id !== 'string') throw new Error(`Okta user ${login} has no id`);
    return encodeURIComponent(user.id);
  }

  async revokeSessions(login: string): Promise<null> {
    await this.#call('DELETE', `/users/${await this.#userId(String(login))}/sessions`);
    return null;
  }

  async suspendUser(login: string): Promise<null> {
    await this.#call('POST', `/users/${await this.#userId(String(login))}/lifecycle/suspend`);
    return null;
  }

  async unsuspendUser(login: string): Promise<null> {
    await this.#call('POST', `/users/${await this.#userId(String(login))}/lifecycle/unsuspend`);
    return null;
  }

  /** Sends the reset email; returns Okta's reset URL when it gives one, else null. */
  async resetPassword(login: string): Promise<string | null> {
    const body = (await this.#call(
      'POST',
      `/users/${await this.#userId(String(login))}/lifecycle/reset_password?sendEmail=true`,
    )) as { resetPasswordUrl?: unknown } | null;
    return typeof body?.resetPasswordUrl === 'string' ? body.resetPasswordUrl : null;
  }

  async expirePassword(login: string): Promise<null> {
    await this.#call('POST', `/users/${await this.#userId(String(login))}/lifecycle/expire_password`);
    return null;
  }
}

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
  readonly #fetch: SafeFetch;
  readonly #auth: EntraAuth;
  readonly #graph: string;

  constructor(fetch: SafeFetch, auth: EntraAuth) {
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

export type WorkflowIntegrations = { okta: OktaIntegration | null; entra: EntraIntegration | null };

/** The live clients of one run: a provider without resolved credentials gives `null`. */
export async function workflowIntegrations(
  deps: Pick<CoreDeps, 'enrichment' | 'workflowFetch'>,
): Promise<WorkflowIntegrations> {
  const [okta, entra] = await Promise.all(
    (['okta', 'entra'] as const).map((name) => deps.enrichment.registry.byName(name).catch(() => undefined)),
  );
  const o = okta?.auth.hasCredentials ? okta.auth.auth : undefined;
  const e = entra?.auth.hasCredentials ? entra.auth.auth : undefined;
  return {
    okta:
      o?.base_url && o.api_token
        ? new OktaIntegration(deps.workflowFetch, { base_url: o.base_url, api_token: o.api_token })
        : null,
    entra:
      e?.tenant_id && e.client_id && e.client_secret && e.login_base_url && e.graph_base_url
        ? new EntraIntegration(deps.workflowFetch, {
            tenant_id: e.tenant_id,
            client_id: e.client_id,
            client_secret: e.client_secret,
            login_base_url: e.login_base_url,
            graph_base_url: e.graph_base_url,
          })
        : null,
  };
}

const METHODS = {
  okta: ['revokeSessions', 'suspendUser', 'unsuspendUser', 'resetPassword', 'expirePassword'],
  entra: ['revokeSessions', 'disableAccount', 'enableAccount', 'resetMfa'],
} as const;

/**
 * No-op clients for the test endpoint (reference §7.8): always present (configured or not), every
 * call succeeds without touching a service (`resetPassword` → null, `resetMfa` → 0) and is recorded
 * as `{method: 'INTEGRATION', url: 'integration://<name>/<method>', status: null}`.
 */
export function mockWorkflowIntegrations(calls: RecordedCall[]): Record<string, HostIntegration> {
  const out: Record<string, HostIntegration> = {};
  for (const [name, methods] of Object.entries(METHODS)) {
    const client: Record<string, () => Promise<unknown>> = {};
    for (const method of methods) {
      client[method] = async () => {
        calls.push({ method: 'INTEGRATION', url: `integration://${name}/${method}`, status: null });
        return method === 'resetMfa' ? 0 : null;
      };
    }
    out[name] = client;
  }
  return out;
}
