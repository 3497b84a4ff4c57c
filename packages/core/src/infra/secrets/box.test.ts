import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isSealed, parseEncryptionKey, SecretBox, SecretError } from './box.js';

const key = randomBytes(32);

describe('SecretBox', () => {
  it('round-trips a JSON value and never stores the plaintext', () => {
    const box = new SecretBox(key);
    const sealed = box.seal({ api_key: 'vt-secret-123' }, 'enrichment_provider:virustotal');
    expect(isSealed(sealed)).toBe(true);
    expect(JSON.stringify(sealed)).not.toContain('vt-secret-123');
    expect(box.open(sealed, 'enrichment_provider:virustotal')).toEqual({ api_key: 'vt-secret-123' });
  });

  it('uses a fresh IV per value', () => {
    const box = new SecretBox(key);
    expect(box.seal('x', 'c')._encrypted).not.toBe(box.seal('x', 'c')._encrypted);
  });

  it('refuses another context, another key and tampered data', () => {
    const box = new SecretBox(key);
    const sealed = box.seal({ a: 1 }, 'row:1');
    expect(() => box.open(sealed, 'row:2')).toThrow(SecretError);
    expect(() => new SecretBox(randomBytes(32)).open(sealed, 'row:1')).toThrow(SecretError);
    const bytes = Buffer.from(sealed._encrypted.slice(3), 'base64url');
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 1;
    expect(() => box.open({ _encrypted: `v1.${bytes.toString('base64url')}` }, 'row:1')).toThrow(SecretError);
    expect(() => box.open({ _encrypted: 'v0.abc' }, 'row:1')).toThrow(SecretError);
  });

  it('parses base64, base64url and hex keys and rejects other lengths', () => {
    expect(parseEncryptionKey(key.toString('base64'))).toEqual(key);
    expect(parseEncryptionKey(key.toString('base64url'))).toEqual(key);
    expect(parseEncryptionKey(key.toString('hex'))).toEqual(key);
    expect(() => parseEncryptionKey(randomBytes(16).toString('base64'))).toThrow(SecretError);
    expect(() => parseEncryptionKey('')).toThrow(SecretError);
  });

  it('recognises only the sealed shape', () => {
    expect(isSealed({ _encrypted: 'v1.x' })).toBe(true);
    expect(isSealed({ _encrypted: 'v1.x', api_key: 'k' })).toBe(false);
    expect(isSealed({ api_key: 'k' })).toBe(false);
    expect(isSealed(null)).toBe(false);
  });
});
