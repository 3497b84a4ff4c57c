import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** Header names of a delivery (documented in docs/agent-webhooks.md). */
export const HEADERS = {
  timestamp: 'X-Calseta-Timestamp',
  signature: 'X-Calseta-Signature',
  delivery: 'X-Calseta-Delivery',
  event: 'X-Calseta-Event',
  idempotencyKey: 'Idempotency-Key',
} as const;

/** Signature scheme version, the prefix of `X-Calseta-Signature`. */
export const SIGNATURE_VERSION = 'v1';

/** A new per-agent signing secret: 32 random bytes, hex. */
export function generateSigningSecret(): string {
  return randomBytes(32).toString('hex');
}

/** `v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`. */
export function signPayload(secret: string, timestamp: number, body: string): string {
  const mac = createHmac('sha256', secret).update(`${timestamp}.${body}`, 'utf8').digest('hex');
  return `${SIGNATURE_VERSION}=${mac}`;
}

/**
 * What a receiver does (and what the tests use): the signature matches and the timestamp is within
 * `toleranceSeconds` of now. Accepts a header with several comma-separated signatures (rotation).
 */
export function verifySignature(
  secret: string,
  header: { timestamp: string | null | undefined; signature: string | null | undefined },
  body: string,
  options: { toleranceSeconds?: number; now?: number } = {},
): boolean {
  const timestamp = Number(header.timestamp);
  if (!header.timestamp || !Number.isInteger(timestamp)) return false;
  const now = options.now ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > (options.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(signPayload(secret, timestamp, body));
  return (header.signature ?? '')
    .split(',')
    .map((s) => Buffer.from(s.trim()))
    .some((given) => given.length === expected.length && timingSafeEqual(given, expected));
}

/** The headers of one delivery attempt (the agent's auth header is added by the caller). */
export function deliveryHeaders(input: {
  secret: string;
  body: string;
  event: string;
  deliveryId: string;
  idempotencyKey: string;
  now?: Date;
}): Record<string, string> {
  const timestamp = Math.floor((input.now ?? new Date()).getTime() / 1000);
  return {
    'Content-Type': 'application/json',
    'User-Agent': 'Calseta-Webhooks/1',
    [HEADERS.timestamp]: String(timestamp),
    [HEADERS.signature]: signPayload(input.secret, timestamp, input.body),
    [HEADERS.delivery]: input.deliveryId,
    [HEADERS.event]: input.event,
    [HEADERS.idempotencyKey]: input.idempotencyKey,
  };
}
