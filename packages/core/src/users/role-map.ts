import { type Role, RoleSchema } from '@calseta/schema';

/** One `role:group` pair of `OIDC_ROLE_MAP`; group `*` maps every signed-in person. */
export interface RoleRule {
  role: Role;
  group: string;
}

/**
 * `OIDC_ROLE_MAP`, e.g. `admin:soc-admins,approver:soc-leads,analyst:soc,viewer:*`: comma-separated
 * `role:group` pairs (a group may hold `:`, e.g. a URN; the role is before the first one). Throws on
 * an unknown role so a typo stops the process at start instead of signing people in without roles.
 */
export function parseRoleMap(spec: string): RoleRule[] {
  return spec
    .split(',')
    .map((pair) => pair.trim())
    .filter(Boolean)
    .map((pair) => {
      const at = pair.indexOf(':');
      const role = RoleSchema.safeParse(at > 0 ? pair.slice(0, at).trim() : pair);
      const group = at > 0 ? pair.slice(at + 1).trim() : '';
      if (!role.success || group === '') {
        throw new Error(`OIDC_ROLE_MAP: "${pair}" is not role:group with a role of admin, approver, analyst, viewer`);
      }
      return { role: role.data, group };
    });
}

/** At most this many claim values are read (a token with thousands of groups maps as its first ones). */
const MAX_CLAIM_VALUES = 1000;

/**
 * The claim's values at a dotted path (`groups`, `roles`, Keycloak's `realm_access.roles`): strings of
 * an array, or one string. Anything else reads as none.
 */
export function claimValues(claims: Record<string, unknown>, path: string): string[] {
  let value: unknown = claims;
  for (const part of path.split('.')) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
    value = Object.hasOwn(value, part) ? (value as Record<string, unknown>)[part] : undefined;
  }
  if (typeof value === 'string') return [value];
  if (!Array.isArray(value)) return [];
  return value.slice(0, MAX_CLAIM_VALUES).filter((v): v is string => typeof v === 'string');
}

/** The roles a person's claims map to (exact, case-sensitive group names: Entra sends object ids). */
export function rolesFromClaims(
  claims: Record<string, unknown>,
  claimPath: string,
  rules: readonly RoleRule[],
): Role[] {
  const groups = new Set(claimValues(claims, claimPath));
  return [...new Set(rules.filter((r) => r.group === '*' || groups.has(r.group)).map((r) => r.role))];
}
