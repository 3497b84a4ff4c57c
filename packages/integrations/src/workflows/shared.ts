import type { GuardedFetch, GuardedResponse } from '../fetch.js';

/** Per request (reference: 30 s). */
export const REQUEST_TIMEOUT_MS = 30_000;

export function trimBase(url: string): string {
  return url.replace(/\/+$/, '');
}

/** `<label> HTTP <status>: <the vendor's own message>` (Okta `errorSummary`, Graph `error.message`, OAuth `error_description`). */
export async function errorMessage(label: string, response: GuardedResponse): Promise<string> {
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
export function userSegment(user: unknown): string {
  const text = String(user).trim();
  if (text === '' || /^\.+$/.test(text) || text.toLowerCase() === 'me') {
    throw new Error(`'${text.slice(0, 64)}' is not a user login or id`);
  }
  return encodeURIComponent(String(user));
}

/**
 * What a workflow integration gives core (core's `WorkflowIntegration` port): the name workflow code
 * reads (`ctx.integrations.<name>`, also the enrichment provider holding its credentials), its
 * methods (the test endpoint's no-op client has exactly these, answering `testResults[method]` or
 * null), and a live client from the provider's resolved credentials (null when incomplete).
 */
export interface WorkflowIntegrationSpec {
  readonly name: string;
  readonly methods: readonly string[];
  readonly testResults?: Readonly<Record<string, unknown>>;
  connect(fetch: GuardedFetch, auth: Readonly<Record<string, string>>): object | null;
}
