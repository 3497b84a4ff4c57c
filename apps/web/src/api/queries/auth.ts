import type { Scope } from '@calseta/schema';
import { queryOptions } from '@tanstack/react-query';
import { ApiError, api, type One, setCsrfToken } from '../client.js';
import { get, resource } from './resource.js';

// The auth contract of issue 21 (GET /v1/auth/config, /v1/auth/session, /v1/users).
export const ROLES = ['admin', 'analyst', 'approver', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

export interface AuthConfig {
  oidc: { enabled: boolean; display_name: string | null };
  api_key_sign_in: boolean;
}
export interface SessionUser {
  uuid: string;
  email: string | null;
  name: string | null;
  roles: Role[];
}
export interface Session {
  /** `oidc`: a person signed in with the identity provider; `api_key`: with a key (local use). */
  kind: 'oidc' | 'api_key';
  user: SessionUser | null;
  scopes: Scope[];
  csrf_token: string;
  expires_at: string;
  idle_expires_at: string;
}
export interface User {
  uuid: string;
  email: string;
  name: string | null;
  /** The union of `idp_roles` and `granted_roles`. */
  roles: Role[];
  /** Mapped from the identity provider's claims at the last sign-in. */
  idp_roles: Role[];
  /** Granted here (by an admin); `PATCH {roles}` replaces these. */
  granted_roles: Role[];
  scopes: Scope[];
  disabled: boolean;
  signed_in: boolean;
  last_sign_in_at: string | null;
  created_at: string;
}

/** True when `scopes` grant `scope` (admin grants everything, as on the server). */
export function hasScope(scopes: readonly Scope[], scope: Scope): boolean {
  return scopes.includes('admin') || scopes.includes(scope);
}

const SESSION_KEY = ['auth', 'session'] as const;
export const authQueries = {
  config: () => get<One<AuthConfig>>(['auth', 'config'], '/v1/auth/config'),
  /**
   * The signed-in session, or null (401: nobody is). Its CSRF token goes to the client, which sends it
   * with every write; it never changes while the session lives, so this is not refetched on its own.
   */
  session: () =>
    queryOptions({
      queryKey: SESSION_KEY,
      staleTime: Number.POSITIVE_INFINITY,
      queryFn: async ({ signal }): Promise<Session | null> => {
        try {
          const { data } = await api<One<Session>>('/v1/auth/session', { signal, expect401: true });
          setCsrfToken(data.csrf_token);
          return data;
        } catch (e) {
          if (!(e instanceof ApiError && e.status === 401)) throw e;
          setCsrfToken(null);
          return null;
        }
      },
    }),
};

const users = resource<User>('users');
export const userQueries = {
  ...users,
  /** `DELETE` here ends every session of the user. */
  sessionsPath: (uuid: string) => `${users.path(uuid)}/sessions`,
};
