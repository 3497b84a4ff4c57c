import { afterEach, describe, expect, it } from 'vitest';
import type { Env } from './env.js';
import { startMockProvidersIfUnconfigured } from './mock-mode.js';

const db = {} as never; // not read: stored credentials are the registry's business
let running: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(running.map((s) => s.close()));
  running = [];
});

async function start(mode: Env['CALSETA_MOCK_PROVIDERS'], providerEnv: Record<string, string>) {
  const mock = await startMockProvidersIfUnconfigured({ CALSETA_MOCK_PROVIDERS: mode, providerEnv } as Env, { db });
  if (mock) running.push(mock.server);
  return mock;
}

describe('dev mock providers', () => {
  it('mock only the builtins without a real credential in the environment, and name their variables', async () => {
    const mock = await start('auto', { VIRUSTOTAL_API_KEY: 'real-key' });
    const names = mock?.env.CALSETA_MOCK_ENV?.split(',') ?? [];
    expect(names).toContain('ABUSEIPDB_API_KEY');
    expect(names).toContain('ENTRA_CLIENT_SECRET');
    expect(names.filter((n) => n.startsWith('VIRUSTOTAL_'))).toEqual([]);
    expect(mock?.env).not.toHaveProperty('VIRUSTOTAL_API_KEY');
    expect(mock?.env).not.toHaveProperty('VIRUSTOTAL_BASE_URL');
    for (const name of names) expect(mock?.env[name]).toBeTruthy();
  });

  it('no mock when every builtin has a credential or when turned off; `true` mocks all four', async () => {
    const all = {
      VIRUSTOTAL_API_KEY: 'a',
      ABUSEIPDB_API_KEY: 'b',
      OKTA_API_TOKEN: 'c',
      ENTRA_CLIENT_SECRET: 'd',
    };
    expect(await start('auto', all)).toBeNull();
    expect(await start('false', {})).toBeNull();
    const forced = await start('true', all);
    expect(forced?.env.CALSETA_MOCK_ENV?.split(',')).toContain('VIRUSTOTAL_API_KEY');
  });
});
