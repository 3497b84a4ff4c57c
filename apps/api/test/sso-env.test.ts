import { describe, expect, it } from 'vitest';
import { loadEnv, oidcClientFrom, securityOptions } from '../src/env.js';

const base = { DATABASE_URL: 'postgres://x@127.0.0.1/x' };

describe('sign-in configuration', () => {
  it('runs without any identity provider (empty variables from .env are unset)', () => {
    const env = loadEnv({ ...base, OIDC_ISSUER: '', OIDC_CLIENT_ID: '', OIDC_CLIENT_SECRET: '', PUBLIC_URL: '' });
    expect(oidcClientFrom(env)).toBeUndefined();
    expect(securityOptions(env).sessions).toEqual({ idleSeconds: 8 * 3600, absoluteSeconds: 7 * 86_400 });
  });

  it('parses durations and the role map; derives the redirect and logout URLs from PUBLIC_URL', () => {
    const env = loadEnv({
      ...base,
      PUBLIC_URL: 'https://calseta.example.com',
      SESSION_IDLE_TIMEOUT: '90m',
      SESSION_ABSOLUTE_TIMEOUT: '2d',
      OIDC_ISSUER: 'https://idp.example.com/realms/soc',
      OIDC_CLIENT_ID: 'calseta',
      OIDC_CLIENT_SECRET: 'not-logged',
      OIDC_ROLE_MAP: 'admin:soc-admins, viewer:*',
      OIDC_ADMIN_EMAILS: 'Boss@Example.com',
    });
    expect(securityOptions(env).sessions).toEqual({ idleSeconds: 5400, absoluteSeconds: 172_800 });
    const settings = oidcClientFrom(env)?.settings;
    expect(settings).toMatchObject({
      redirectUrl: 'https://calseta.example.com/v1/auth/oidc/callback',
      postLogoutRedirectUrl: 'https://calseta.example.com/',
      roleRules: [
        { role: 'admin', group: 'soc-admins' },
        { role: 'viewer', group: '*' },
      ],
      adminEmails: ['boss@example.com'],
    });
  });

  it('refuses an incomplete or mistyped configuration at start', () => {
    expect(() => oidcClientFrom(loadEnv({ ...base, OIDC_ISSUER: 'https://idp.example.com' }))).toThrow(
      /OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, PUBLIC_URL/,
    );
    const typo = loadEnv({
      ...base,
      PUBLIC_URL: 'https://c.example.com',
      OIDC_ISSUER: 'https://idp.example.com',
      OIDC_CLIENT_ID: 'c',
      OIDC_CLIENT_SECRET: 's',
      OIDC_ROLE_MAP: 'admn:soc-admins',
    });
    expect(() => oidcClientFrom(typo)).toThrow(/admn:soc-admins/);
    expect(() => loadEnv({ ...base, SESSION_IDLE_TIMEOUT: '8 hours' })).toThrow(/SESSION_IDLE_TIMEOUT/);
  });
});
