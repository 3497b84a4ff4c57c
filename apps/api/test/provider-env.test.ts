import { NO_INTEGRATIONS, sharedCoreConfig } from '@calseta/core';
import { createTestCore, type TestCore } from '@calseta/core/testing';
import { firstParty } from '@calseta/integrations';
import { afterEach, describe, expect, it } from 'vitest';
import { loadEnv } from '../src/env.js';

// The composition root's environment reaches providers narrowed by the builtins it hands core (issue 19:
// core no longer knows the first-party variable names): the builtins' own and CALSETA_PROVIDER_*, never
// the rest of the process environment.
const PROCESS_ENV = {
  DATABASE_URL: 'postgres://calseta:db-password@db.internal:5432/calseta',
  ENCRYPTION_KEY: 'not-for-providers',
  VIRUSTOTAL_API_KEY: 'vt-key',
  OKTA_DOMAIN: 'acme.okta.com',
  CALSETA_PROVIDER_ACME_TOKEN: 'acme',
  EMPTY_ONE: '',
};

describe('provider environment', () => {
  let core: TestCore | undefined;
  afterEach(async () => {
    await core?.close();
    core = undefined;
  });

  async function providerEnvWith(integrations: typeof NO_INTEGRATIONS) {
    const { enrichment } = sharedCoreConfig(loadEnv(PROCESS_ENV));
    core = await createTestCore({ integrations, seed: true, config: { enrichment } });
    return core;
  }

  it('keeps the builtins variables and CALSETA_PROVIDER_*, and the builtins resolve from them', async () => {
    const { deps } = await providerEnvWith(firstParty);
    expect(deps.config.enrichment?.providerEnv).toEqual({
      VIRUSTOTAL_API_KEY: 'vt-key',
      OKTA_DOMAIN: 'acme.okta.com',
      CALSETA_PROVIDER_ACME_TOKEN: 'acme',
    });
    const vt = await deps.enrichment.registry.byName('virustotal');
    expect(vt?.auth).toMatchObject({ source: 'env', hasCredentials: true });
    expect(vt?.auth.auth).toEqual({ api_key: 'vt-key', base_url: 'https://www.virustotal.com' });
  });

  it('without integrations only CALSETA_PROVIDER_* reaches providers', async () => {
    const { deps } = await providerEnvWith(NO_INTEGRATIONS);
    expect(deps.config.enrichment?.providerEnv).toEqual({ CALSETA_PROVIDER_ACME_TOKEN: 'acme' });
    expect(await deps.enrichment.registry.active()).toEqual([]);
  });
});
