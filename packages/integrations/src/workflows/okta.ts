import type { GuardedFetch } from '../fetch.js';
import { errorMessage, REQUEST_TIMEOUT_MS, trimBase, userSegment, type WorkflowIntegrationSpec } from './shared.js';

/** Okta Management API: `SSWS <token>`; each method first resolves the user by login. */
export class OktaIntegration {
  readonly #fetch: GuardedFetch;
  readonly #base: string;
  readonly #token: string;

  constructor(fetch: GuardedFetch, auth: { base_url: string; api_token: string }) {
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

/** `ctx.integrations.okta`, from the `okta` provider's resolved `base_url` and `api_token`. */
export const oktaWorkflowIntegration: WorkflowIntegrationSpec = {
  name: 'okta',
  methods: ['revokeSessions', 'suspendUser', 'unsuspendUser', 'resetPassword', 'expirePassword'],
  connect: (fetch, auth) =>
    auth.base_url && auth.api_token
      ? new OktaIntegration(fetch, { base_url: auth.base_url, api_token: auth.api_token })
      : null,
};
