import type { CoreDeps } from '@calseta/core';
import { type MockProvidersServer, mockProviderEnv, startMockProviders } from '@calseta/mock-providers';
import type { Env } from './env.js';

/** Each builtin's credential variable and the prefix of all its variables (credential and base URLs). */
const BUILTINS = [
  { credential: 'VIRUSTOTAL_API_KEY', prefix: 'VIRUSTOTAL_' },
  { credential: 'ABUSEIPDB_API_KEY', prefix: 'ABUSEIPDB_' },
  { credential: 'OKTA_API_TOKEN', prefix: 'OKTA_' },
  { credential: 'ENTRA_CLIENT_SECRET', prefix: 'ENTRA_' },
];

/**
 * `pnpm dev` serves the builtin providers that have no real credential in the environment from the
 * local mock, so enrichment works out of the box. The apps know which ones (`CALSETA_MOCK_ENV`) and
 * say so (UI banner, `/health`, payload); a credential stored through the API turns the mock off for
 * that provider at once, one in the environment at the next start. `CALSETA_MOCK_PROVIDERS=true` mocks
 * all four, `false` none.
 */
export async function startMockProvidersIfUnconfigured(
  env: Env,
  _deps: Pick<CoreDeps, 'db'>,
): Promise<{ server: MockProvidersServer; env: Record<string, string> } | null> {
  if (env.CALSETA_MOCK_PROVIDERS === 'false') return null;
  const real =
    env.CALSETA_MOCK_PROVIDERS === 'auto'
      ? BUILTINS.filter((b) => env.providerEnv[b.credential] !== undefined).map((b) => b.prefix)
      : [];
  if (real.length === BUILTINS.length) return null;
  const server = await startMockProviders({});
  const all = mockProviderEnv(server);
  const names = (all.CALSETA_MOCK_ENV ?? '').split(',').filter((n) => !real.some((p) => n.startsWith(p)));
  const mockEnv: Record<string, string> = Object.fromEntries(names.map((n) => [n, all[n] as string]));
  return {
    server,
    env: {
      ...mockEnv,
      CALSETA_MOCK_ENV: names.join(','),
      ...(all.SSRF_ALLOWED_HOSTS === undefined ? {} : { SSRF_ALLOWED_HOSTS: all.SSRF_ALLOWED_HOSTS }),
    },
  };
}
