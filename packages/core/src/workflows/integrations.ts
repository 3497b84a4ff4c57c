/**
 * `ctx.integrations` of workflow code (reference §7.5): one client per `WorkflowIntegration` port the
 * composition root filled (first-party: Okta and Microsoft Entra in `@calseta/integrations`), built per
 * run from the enrichment provider of the same name's resolved credentials (absent → `null`, and the
 * builtins fail with "… integration is not configured"). Every request goes through the process's
 * SSRF-guarded workflow client; the workflow never sees the credentials.
 *
 * The test endpoint gets {@link mockWorkflowIntegrations} instead: no-op clients that touch no
 * service and report each call as `INTEGRATION integration://<name>/<method>` in `http_calls`.
 */
import type { HostIntegration } from '@calseta/workflow-sandbox';
import type { CoreDeps } from '../infra/context.js';
import type { RecordedCall } from './http.js';

export type WorkflowIntegrations = Record<string, HostIntegration | null>;

/** The live clients of one run: a provider without resolved credentials gives `null`. */
export async function workflowIntegrations(
  deps: Pick<CoreDeps, 'enrichment' | 'workflowFetch' | 'integrations'>,
): Promise<WorkflowIntegrations> {
  const ports = deps.integrations.workflowIntegrations;
  const providers = await Promise.all(
    ports.map((port) => deps.enrichment.registry.byName(port.name).catch(() => undefined)),
  );
  return Object.fromEntries(
    ports.map((port, i) => {
      const auth = providers[i]?.auth;
      return [port.name, auth?.hasCredentials ? port.connect(deps.workflowFetch, auth.auth) : null];
    }),
  );
}

/**
 * No-op clients for the test endpoint (reference §7.8): always present (configured or not), every
 * call succeeds without touching a service (answering the port's `testResults`, else null) and is
 * recorded as `{method: 'INTEGRATION', url: 'integration://<name>/<method>', status: null}`.
 */
export function mockWorkflowIntegrations(
  deps: Pick<CoreDeps, 'integrations'>,
  calls: RecordedCall[],
): Record<string, HostIntegration> {
  const out: Record<string, HostIntegration> = {};
  for (const { name, methods, testResults } of deps.integrations.workflowIntegrations) {
    const client: Record<string, () => Promise<unknown>> = {};
    for (const method of methods) {
      client[method] = async () => {
        calls.push({ method: 'INTEGRATION', url: `integration://${name}/${method}`, status: null });
        return testResults?.[method] ?? null;
      };
    }
    out[name] = client;
  }
  return out;
}
