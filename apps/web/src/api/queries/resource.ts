import { type QueryKey, queryOptions } from '@tanstack/react-query';
import { api, type One, type Page, query } from '../client.js';

export type Params = Record<string, string | number | boolean | null | undefined>;

/**
 * Params as the URL carries them: empty values dropped, every value a string. Two requests for the same
 * URL share one cache entry, whatever the order of the params or `1` vs `'1'`.
 */
export function keyParams(params: Params): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') out[k] = String(v);
  return out;
}

/** A GET: its key and the path it reads. Every query of the console is made here, from a factory below. */
export function get<T>(queryKey: QueryKey, path: string) {
  return queryOptions({ queryKey, queryFn: ({ signal }) => api<T>(path, { signal }) });
}
/** The options `get<T>` makes: a component that takes "some query of T" (a delivery log) takes this. */
export type Get<T> = ReturnType<typeof get<T>>;

/**
 * The queries of one REST resource, `/v1/<name>`. Keys nest like the paths: `[name, 'list', params]`,
 * `[name, 'detail', uuid]`, and an item's sub-resources under its item's key, so invalidating
 * `detail(uuid).queryKey` reloads the item and everything shown about it, and `all` the whole resource.
 */
export function resource<Summary, Item = Summary>(name: string) {
  const path = (uuid?: string) => (uuid === undefined ? `/v1/${name}` : `/v1/${name}/${encodeURIComponent(uuid)}`);
  const all = [name] as const;
  const lists = [name, 'list'] as const;
  const item = (uuid: string) => [name, 'detail', uuid] as const;
  return {
    path,
    all,
    lists,
    list: (params: Params = {}) => get<Page<Summary>>([...lists, keyParams(params)], `${path()}${query(params)}`),
    detail: (uuid: string) => get<One<Item>>(item(uuid), path(uuid)),
    /** `/v1/<name>/<uuid>/<segment>?<params>`, kept under the item's key. */
    sub: <T>(uuid: string, segment: string, params: Params = {}) =>
      get<T>([...item(uuid), segment, keyParams(params)], `${path(uuid)}/${segment}${query(params)}`),
    /** What a write to one item makes stale: the item with its sub-resources, and every list. */
    changed: (uuid: string): QueryKey[] => [item(uuid), lists],
  };
}
export type Resource<Summary, Item = Summary> = ReturnType<typeof resource<Summary, Item>>;
