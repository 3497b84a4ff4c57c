import { hitRateLimit, type RateLimitClass } from '@calseta/core';
import type { Context, MiddlewareHandler } from 'hono';
import { errorResponse } from '../errors.js';
import type { AppEnv } from '../types.js';

/** IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers), exposed through CORS too. */
export const RATE_LIMIT_HEADERS = ['RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'Retry-After'];

/** 429 in the error envelope, with Retry-After. */
export function rateLimited(c: Context<AppEnv>, retryAfter: number) {
  c.header('Retry-After', String(retryAfter));
  return errorResponse(c, 'RATE_LIMITED', `Rate limit exceeded. Retry after ${retryAfter} seconds.`, {
    retry_after_seconds: retryAfter,
  });
}

/**
 * Count this request in `bucket` of class `cls` (when limits are configured and the class is on):
 * sets the RateLimit headers, and returns the 429 response when over the limit, else null.
 */
export async function checkRateLimit(c: Context<AppEnv>, cls: RateLimitClass, subject: string) {
  const config = c.get('security')?.rateLimits;
  const limit = config?.limits[cls] ?? 0;
  if (!config || limit <= 0) return null;
  const result = await hitRateLimit(c.get('deps').db, `${cls}:${subject}`, limit, config.windowSeconds);
  c.header('RateLimit-Limit', String(result.limit));
  c.header('RateLimit-Remaining', String(result.remaining));
  c.header('RateLimit-Reset', String(result.resetSeconds));
  if (!result.allowed) {
    c.get('logger').warn({ event: 'rate_limited', class: cls, subject, count: result.count }, 'rate limited');
    return rateLimited(c, result.resetSeconds);
  }
  return null;
}

/** Routes without an API key (browser approval page, chat callbacks): limited per client IP. */
export function ipRateLimit(cls: RateLimitClass): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const refused = await checkRateLimit(c, cls, `ip:${c.get('clientIp')}`);
    if (refused) return refused;
    await next();
  };
}
