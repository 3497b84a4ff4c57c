import type { AuthConfig, Scope, SessionInfo as Session, User } from '@calseta/schema';
import { queryOptions } from '@tanstack/react-query';
import { ApiError, api, type One, setCsrfToken } from '../client.js';
import { get, resource } from './resource.js';

export type { Session };

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
