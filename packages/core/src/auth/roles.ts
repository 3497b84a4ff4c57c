import { ROLES, type Role, type Scope } from '@calseta/schema';

/**
 * What each role may do, as scopes of the one permission table (permissions.ts): a person's session
 * and their personal keys act with the union of their roles' scopes, never more.
 */
const VIEWER: readonly Scope[] = ['alerts:read', 'enrichments:read', 'workflows:read', 'agents:read'];
const ANALYST: readonly Scope[] = [...VIEWER, 'alerts:write', 'workflows:execute'];

export const ROLE_SCOPES: Readonly<Record<Role, readonly Scope[]>> = {
  viewer: VIEWER,
  analyst: ANALYST,
  /** Approvers decide workflow approvals (approvals:write); analysts may only request them. */
  approver: [...ANALYST, 'approvals:write'],
  admin: ['admin'],
};

/** Roles in their canonical order, without unknown names or duplicates. */
export function normalizeRoles(roles: readonly string[]): Role[] {
  return ROLES.filter((role) => roles.includes(role));
}

/** The scopes of a set of roles (admin alone when admin is held: it grants everything). */
export function scopesOfRoles(roles: readonly string[]): Scope[] {
  const held = normalizeRoles(roles);
  if (held.includes('admin')) return ['admin'];
  return [...new Set(held.flatMap((role) => ROLE_SCOPES[role]))];
}

/** True when `scopes` are all within what `roles` allow (admin allows any). */
export function scopesWithinRoles(scopes: readonly Scope[], roles: readonly string[]): boolean {
  const allowed = scopesOfRoles(roles);
  return allowed.includes('admin') || scopes.every((scope) => allowed.includes(scope));
}

/** A personal key acts with its scopes that its owner's roles still allow (roles can shrink after creation). */
export function ownedKeyScopes(keyScopes: readonly Scope[], ownerRoles: readonly string[]): Scope[] {
  const allowed = scopesOfRoles(ownerRoles);
  return allowed.includes('admin') ? [...keyScopes] : keyScopes.filter((scope) => allowed.includes(scope));
}
