import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new decide token: 32 random bytes, base64url (43 characters). */
export function newDecideToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What is stored of a token: its SHA-256 (hex). The token itself is never stored. */
export function hashDecideToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Whether `token` is the one whose hash is `stored`, compared in constant time. */
export function decideTokenMatches(stored: string | null, token: string | undefined): boolean {
  if (stored === null || token === undefined || token === '' || token.length > 256) return false;
  const given = Buffer.from(hashDecideToken(token), 'hex');
  const expected = Buffer.from(stored, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** Slack's request signatures are accepted for this long around now. */
export const SLACK_MAX_AGE_SECONDS = 300;

/**
 * Slack's v0 request signature: `X-Slack-Signature` = `v0=` + hex HMAC-SHA256(secret,
 * `v0:<X-Slack-Request-Timestamp>:<raw body>`), the timestamp within 5 minutes of now.
 */
export function verifySlackSignature(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): 'ok' | 'stale' | 'invalid' {
  if (timestamp === undefined || !/^\d{1,12}$/.test(timestamp)) return 'stale';
  if (Math.abs(nowSeconds - Number(timestamp)) > SLACK_MAX_AGE_SECONDS) return 'stale';
  if (signature === undefined) return 'invalid';
  const expected = Buffer.from(slackSignature(secret, timestamp, body), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  return given.length === expected.length && timingSafeEqual(given, expected) ? 'ok' : 'invalid';
}

export function slackSignature(secret: string, timestamp: string, body: string): string {
  return `v0=${createHmac('sha256', secret).update(`v0:${timestamp}:${body}`, 'utf8').digest('hex')}`;
}
