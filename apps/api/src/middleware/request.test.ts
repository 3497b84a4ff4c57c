import { createLogger, type Logger } from '@calseta/core';
import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import type { AppEnv } from '../types.js';
import { lazyChild, securityHeaders } from './request.js';

const API_CSP = "default-src 'none'; frame-ancestors 'none'";

describe('securityHeaders', () => {
  const app = new Hono<AppEnv>();
  app.use('*', securityHeaders(true));
  app.get('/json', (c) => c.json({ ok: true }));
  // A raw Response carries none of the headers; one handler sets a weaker CSP of its own.
  app.get('/raw', () => new Response('raw', { headers: { 'content-type': 'text/plain' } }));
  app.get('/weak', (c) => {
    c.header('Content-Security-Policy', 'default-src *');
    return c.text('weak');
  });
  app.get('/throws', () => {
    throw new Error('boom');
  });
  app.onError((_error, c) => c.json({ error: true }, 500));

  it.each(['/json', '/raw', '/weak', '/throws', '/missing'])('%s answers with every security header', async (path) => {
    const res = await app.request(path);
    expect(res.headers.get('content-security-policy')).toBe(API_CSP);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('permissions-policy')).toBe('geolocation=(), microphone=(), camera=()');
    expect(res.headers.get('cross-origin-resource-policy')).toBe('same-origin');
    expect(res.headers.get('strict-transport-security')).toBe('max-age=63072000; includeSubDomains');
  });

  it('keeps the body and content type of a raw Response', async () => {
    const res = await app.request('/raw');
    expect(await res.text()).toBe('raw');
    expect(res.headers.get('content-type')).toBe('text/plain');
  });
});

describe('lazyChild', () => {
  it('makes the child only when first used', () => {
    let made = 0;
    const child = { info: () => undefined } as unknown as Logger;
    const parent = {
      child: () => {
        made++;
        return child;
      },
    } as unknown as Logger;
    const logger = lazyChild(parent, { request_id: 'req-1' });
    expect(made).toBe(0);
    logger.info('one');
    logger.info('two');
    expect(made).toBe(1);
  });

  it('logs with its bindings, redacted, as the child would', () => {
    const lines: string[] = [];
    const parent = createLogger({ service: 'test', level: 'info', destination: { write: (l) => lines.push(l) } });
    const logger = lazyChild(parent, { request_id: 'req-1' });
    logger.info({ token: 'secret-value' }, 'hello');
    logger.warn('again');
    expect(lines.map((l) => JSON.parse(l))).toMatchObject([
      { request_id: 'req-1', msg: 'hello', token: '[REDACTED]' },
      { request_id: 'req-1', msg: 'again' },
    ]);
    expect(logger.isLevelEnabled('debug')).toBe(false);
    expect(logger.child({ step: 2 }).bindings()).toMatchObject({ request_id: 'req-1', step: 2 });
  });
});
