import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/** How an encrypted value is stored in a JSON column: `{ "_encrypted": "v1.<base64url(iv ‖ tag ‖ ciphertext)>" }`. */
export interface SealedSecret {
  _encrypted: string;
}

const VERSION = 'v1.';
const IV_BYTES = 12;
const TAG_BYTES = 16;

export class SecretError extends Error {
  override name = 'SecretError';
}

export function isSealed(value: unknown): value is SealedSecret {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { _encrypted?: unknown })._encrypted === 'string' &&
    Object.keys(value).length === 1
  );
}

/** `ENCRYPTION_KEY`: 32 bytes as base64 / base64url (44 or 43 chars) or hex (64 chars). */
export function parseEncryptionKey(text: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new SecretError('ENCRYPTION_KEY must be 32 bytes, base64 (openssl rand -base64 32) or 64 hex characters');
  }
  return key;
}

/**
 * Authenticated encryption of JSON values at rest: AES-256-GCM with a random 96-bit IV per value.
 * `context` is bound as additional data (e.g. `enrichment_provider:virustotal`), so a ciphertext
 * copied onto another row does not decrypt there.
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(key: Buffer | string) {
    this.key = typeof key === 'string' ? parseEncryptionKey(key) : key;
    if (this.key.length !== 32) throw new SecretError('an AES-256 key is 32 bytes');
  }

  seal(value: unknown, context: string): SealedSecret {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    const packed = Buffer.concat([iv, cipher.getAuthTag(), body]);
    return { _encrypted: VERSION + packed.toString('base64url') };
  }

  /** The decrypted value; throws `SecretError` for a wrong key, context or tampered data. */
  open(sealed: SealedSecret, context: string): unknown {
    if (!sealed._encrypted.startsWith(VERSION)) throw new SecretError('unknown secret format');
    const packed = Buffer.from(sealed._encrypted.slice(VERSION.length), 'base64url');
    if (packed.length < IV_BYTES + TAG_BYTES) throw new SecretError('truncated secret');
    const decipher = createDecipheriv('aes-256-gcm', this.key, packed.subarray(0, IV_BYTES));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(packed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    try {
      const text = Buffer.concat([decipher.update(packed.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
      return JSON.parse(text.toString('utf8'));
    } catch {
      throw new SecretError('secret does not decrypt with this ENCRYPTION_KEY');
    }
  }
}
