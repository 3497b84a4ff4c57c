import { type QueryClient, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type RequestOptions } from './client.js';

/**
 * A GET keyed by its path: every screen that shows `/v1/alerts/x` shares one cache entry, and a
 * mutation invalidates by path prefix. `null` disables the query.
 */
export function useApi<T>(
  path: string | null,
  options: { refetchInterval?: number | false | ((data: T | undefined) => number | false) } = {},
) {
  const interval = options.refetchInterval ?? false;
  return useQuery<T, Error>({
    queryKey: [path],
    queryFn: ({ signal }) => api<T>(path as string, { signal }),
    enabled: path !== null,
    refetchInterval: typeof interval === 'function' ? (q) => interval(q.state.data) : interval,
  });
}

export function invalidate(client: QueryClient, prefixes: string[]): Promise<void> {
  return client.invalidateQueries({
    predicate: (q) => {
      const key = q.queryKey[0];
      return typeof key === 'string' && prefixes.some((p) => key.startsWith(p));
    },
  });
}

export interface MutationRequest extends Omit<RequestOptions, 'signal' | 'key'> {
  path: string;
}

/** A write: `request(vars)` says what to call; afterwards every query under `invalidates` reloads. */
export function useApiMutation<T, V = void>(
  request: (vars: V) => MutationRequest,
  options: { invalidates?: string[]; onSuccess?: (data: T, vars: V) => void } = {},
) {
  const client = useQueryClient();
  return useMutation<T, Error, V>({
    mutationFn: (vars) => {
      const { path, ...init } = request(vars);
      return api<T>(path, { method: 'POST', ...init });
    },
    onSuccess: async (data, vars) => {
      if (options.invalidates) await invalidate(client, options.invalidates);
      options.onSuccess?.(data, vars);
    },
  });
}
