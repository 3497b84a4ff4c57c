import { countRequest, type RateLimitClass, type RateLimitResult } from '@calseta/core';
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

export function setRateLimitHeaders(c: Context<AppEnv>, result: RateLimitResult): void {
  c.header('RateLimit-Limit', String(result.limit));
  c.header('RateLimit-Remaining', String(result.remaining));
  c.header('RateLimit-Reset', String(result.resetSeconds));
}

/** Routes without an API key (browser approval page, chat callbacks): limited per client IP. */
export function ipRateLimit(cls: RateLimitClass): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const subject = `ip:${c.get('clientIp')}`;
    const result = await countRequest(c.get('deps'), c.get('security')?.rateLimits, cls, subject);
    if (result) {
      setRateLimitHeaders(c, result);
      if (!result.allowed) {
        c.get('logger').warn({ event: 'rate_limited', class: cls, subject, count: result.count }, 'rate limited');
        return rateLimited(c, result.resetSeconds);
      }
    }
    await next();
  };
}
