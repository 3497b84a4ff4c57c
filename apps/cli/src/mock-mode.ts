import type { CoreDeps } from '@calseta/core';
import { type MockProvidersServer, mockProviderEnv, startMockProviders } from '@calseta/mock-providers';
import type { Env } from './env.js';

/** Credentials a real builtin provider would use: any of these set means "not a demo". */
const CREDENTIAL_VARS = ['VIRUSTOTAL_API_KEY', 'ABUSEIPDB_API_KEY', 'OKTA_API_TOKEN', 'ENTRA_CLIENT_SECRET'];

/**
 * `pnpm dev` on a machine with no provider credentials (environment or stored) serves the builtin
 * providers from the local mock, so enrichment works out of the box; with any credential it stays off.
 */
export async function startMockProvidersIfUnconfigured(
  env: Env,
  deps: Pick<CoreDeps, 'db'>,
): Promise<{ server: MockProvidersServer; env: Record<string, string> } | null> {
  if (env.CALSETA_MOCK_PROVIDERS === 'false') return null;
  if (env.CALSETA_MOCK_PROVIDERS === 'auto') {
    if (CREDENTIAL_VARS.some((name) => env.providerEnv[name] !== undefined)) return null;
    const stored = await deps.db
      .selectFrom('enrichment_providers')
      .select('id')
      .where('auth_config', 'is not', null)
      .executeTakeFirst();
    if (stored) return null;
  }
  const server = await startMockProviders({});
  return { server, env: mockProviderEnv(server) };
}
