import { describe, expect, it } from 'vitest';
import { ownedKeyScopes, scopesOfRoles } from '../auth/roles.js';
import { safeReturnPath } from './oidc.js';
import { claimValues, parseRoleMap, rolesFromClaims } from './role-map.js';

describe('role mapping', () => {
  const rules = parseRoleMap('admin:soc-admins,approver:urn:group:leads,analyst:soc,viewer:*');

  it('maps groups (exact, case-sensitive), URN-like groups and the everyone rule', () => {
    expect(rules[1]).toEqual({ role: 'approver', group: 'urn:group:leads' });
    expect(rolesFromClaims({ groups: ['soc', 'urn:group:leads'] }, 'groups', rules).sort()).toEqual([
      'analyst',
      'approver',
      'viewer',
    ]);
    expect(rolesFromClaims({ groups: ['SOC'] }, 'groups', rules)).toEqual(['viewer']);
    expect(rolesFromClaims({}, 'groups', parseRoleMap('analyst:soc'))).toEqual([]);
  });

  it('reads dotted paths (Keycloak realm roles) and a single string; ignores other shapes and inherited keys', () => {
    expect(claimValues({ realm_access: { roles: ['soc', 1, null] } }, 'realm_access.roles')).toEqual(['soc']);
    expect(claimValues({ roles: 'soc' }, 'roles')).toEqual(['soc']);
    expect(claimValues({ groups: { soc: true } }, 'groups')).toEqual([]);
    expect(claimValues({}, '__proto__.toString')).toEqual([]);
    expect(claimValues({ groups: Array.from({ length: 5000 }, (_, i) => `g${i}`) }, 'groups')).toHaveLength(1000);
  });

  it('refuses unknown roles and empty groups', () => {
    expect(() => parseRoleMap('owner:soc')).toThrow(/owner:soc/);
    expect(() => parseRoleMap('admin:')).toThrow();
    expect(parseRoleMap(' , ')).toEqual([]);
  });

  it('roles are scope sets; a personal key keeps only what its owner still may', () => {
    expect(scopesOfRoles(['approver'])).toContain('approvals:write');
    expect(scopesOfRoles(['analyst'])).not.toContain('approvals:write');
    expect(scopesOfRoles(['viewer', 'admin'])).toEqual(['admin']);
    expect(ownedKeyScopes(['alerts:read', 'approvals:write'], ['analyst'])).toEqual(['alerts:read']);
    expect(ownedKeyScopes(['admin'], ['admin'])).toEqual(['admin']);
    expect(ownedKeyScopes(['admin'], ['approver'])).toEqual([]);
  });
});

describe('safeReturnPath', () => {
  it.each([
    ['/alerts?x=1#y', '/alerts?x=1#y'],
    [undefined, '/'],
    ['', '/'],
    ['alerts', '/'],
    ['//evil.example', '/'],
    ['/\\evil.example', '/'],
    ['/\t/evil.example', '/'],
    ['/\n/evil.example', '/'],
    ['https://evil.example/', '/'],
    [`/${'a'.repeat(3000)}`, '/'],
  ])('%j → %j', (given, expected) => {
    expect(safeReturnPath(given)).toBe(expected);
  });
});
