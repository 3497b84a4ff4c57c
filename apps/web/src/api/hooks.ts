import { type QueryClient, type QueryKey, useMutation, useQueryClient } from '@tanstack/react-query';
import { api, type RequestOptions } from './client.js';

/** Reload every query under these keys (keys come from the factories in `./queries/`). */
export async function invalidate(client: QueryClient, keys: QueryKey[]): Promise<void> {
  await Promise.all(keys.map((queryKey) => client.invalidateQueries({ queryKey })));
}

export interface MutationRequest extends Omit<RequestOptions, 'signal' | 'expect401'> {
  path: string;
}

/** A write: `request(vars)` says what to call; afterwards every query under `invalidates` reloads. */
export function useApiMutation<T, V = void>(
  request: (vars: V) => MutationRequest,
  options: { invalidates?: QueryKey[]; onSuccess?: (data: T, vars: V) => void } = {},
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

/** PATCH one item with `json`; `invalidates` is what the write makes stale (usually `resource.changed(uuid)`). */
export function usePatch<T, V>(path: string, invalidates: QueryKey[], onSuccess?: (data: T, vars: V) => void) {
  return useApiMutation<T, V>((json) => ({ method: 'PATCH', path, json }), {
    invalidates,
    ...(onSuccess ? { onSuccess } : {}),
  });
}
