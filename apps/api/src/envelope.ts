import type { AlertDetail, Page } from '@calseta/core';

/**
 * REST's list body: a verb's page as `{data, meta}`. Only REST has this envelope; core returns
 * `Page`. The key order of `meta` is the contract's (`total_is_estimate` last, only when set).
 */
export function pageBody<T>({ items, total, page, page_size, total_is_estimate }: Page<T>) {
  const meta = { total, page, page_size, total_pages: Math.ceil(total / page_size) };
  return { data: items, meta: total_is_estimate ? { ...meta, total_is_estimate } : meta };
}

/** REST's alert body: the alert as `data`, the facts about it as `meta`. */
export function alertBody({ alert, meta }: AlertDetail) {
  return { data: alert, meta };
}

/** REST's body for anything but a page or an alert: `{data, meta: {}}`. */
export function dataBody<T>(data: T) {
  return { data, meta: {} };
}
