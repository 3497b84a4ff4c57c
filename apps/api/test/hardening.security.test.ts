/**
 * Audit finding (Low): bodies up to 10 MB were read and parsed before authentication. Now the gate
 * (key, scope, rate limit) runs first and the body is read only for a caller who passed it: an
 * unauthenticated (or out-of-scope) request is refused while its body is still arriving, having
 * read at most what the socket buffered.
 */
import { once } from 'node:events';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

let harness: Harness;
let readerKey: string;

beforeAll(async () => {
  harness = await createHarness();
  readerKey = await harness.createKey({ scopes: ['alerts:read'] });
});
afterAll(async () => {
  await harness?.close();
});

const CHUNK = Buffer.alloc(64 * 1024, 0x20); // JSON whitespace: a body that is valid so far
const MAX_SENT = 12 * 1_048_576; // above every body limit: the old code answered 413 once it had read that far

/**
 * POST a chunked body that never ends by itself (up to MAX_SENT), and resolve with the status of
 * the answer and how many body bytes had been written when it came.
 */
async function streamUntilAnswered(
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; sentBeforeAnswer: number }> {
  const url = new URL(path, harness.baseUrl);
  const request = http.request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked', ...headers },
  });
  request.on('error', () => undefined); // the server may reset the unread upload
  let sent = 0;
  let answered: { status: number; sentBeforeAnswer: number } | undefined;
  const response = new Promise<{ status: number; sentBeforeAnswer: number }>((resolve) => {
    request.once('response', (res) => {
      answered = { status: res.statusCode ?? 0, sentBeforeAnswer: sent };
      res.resume();
      resolve(answered);
    });
  });
  request.write('{"title":"');
  while (!answered && sent < MAX_SENT) {
    sent += CHUNK.length;
    // Backpressure (the server does not read) is fine: wait for the answer or for room to write.
    if (!request.write(CHUNK)) await Promise.race([once(request, 'drain'), response]);
  }
  if (!answered) request.end('"}');
  const result = await response;
  request.destroy();
  return result;
}

describe('the gate runs before the body is read', () => {
  it.each([
    ['/v1/ingest/generic', 'no key', {}],
    ['/v1/alerts', 'an unknown key', { authorization: `Bearer cai_${'x'.repeat(43)}` }],
    ['/v1/agents', 'an unknown key', { authorization: `Bearer cai_${'y'.repeat(43)}` }],
    ['/v1/context-documents', 'no key', {}],
  ])('POST %s with %s is refused 401 while its body is still arriving', async (path, _who, headers) => {
    const { status, sentBeforeAnswer } = await streamUntilAnswered(path, headers);
    expect(status).toBe(401);
    // The socket buffers some; the old code read up to the 5/10 MB limit and then answered 413.
    expect(sentBeforeAnswer).toBeLessThan(4 * 1_048_576);
  });

  it('a key without the scope is refused 403 before its body is read', async () => {
    const { status, sentBeforeAnswer } = await streamUntilAnswered('/v1/agents', {
      authorization: `Bearer ${readerKey}`,
    });
    expect(status).toBe(403);
    expect(sentBeforeAnswer).toBeLessThan(4 * 1_048_576);
  });

  it('an announced oversized body without a key is 401, not 413 (the key is checked first)', async () => {
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = http.request(new URL('/v1/alerts', harness.baseUrl), {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'content-length': String(50 * 1_048_576) },
      });
      request.on('response', resolve);
      request.on('error', reject);
      request.write('{');
    });
    response.resume();
    expect(response.statusCode).toBe(401);
    response.destroy();
  });

  it('an authenticated caller still gets its body read, size-checked and parsed', async () => {
    const ok = await harness.request('POST', '/v1/ingest/generic', { json: { title: 'after the gate' } });
    expect(ok.status).toBe(202);
    const tooLarge = await streamUntilAnswered('/v1/ingest/generic', { authorization: `Bearer ${harness.adminKey}` });
    expect(tooLarge.status).toBe(413);
    const broken = await harness.request('POST', '/v1/agents', {
      body: '{"name":',
      headers: { 'content-type': 'application/json' },
    });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('INVALID_JSON');
  });

  it.each(['/v1/approvals/0190c0de-0000-7000-8000-000000000000/decide', '/v1/approvals/callback/slack'])(
    'POST %s (credential in the body) stops reading at 256 KiB, not at the 10 MB limit',
    async (path) => {
      const { status, sentBeforeAnswer } = await streamUntilAnswered(path, {});
      expect(status).toBe(413);
      expect(sentBeforeAnswer).toBeLessThan(4 * 1_048_576);
    },
  );
});
