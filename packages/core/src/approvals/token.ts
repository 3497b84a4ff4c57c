import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { parseEncryptionKey } from '../infra/secrets/box.js';

/**
 * The decide token of a request: HMAC-SHA256 of its uuid under a key derived (HKDF) from
 * `ENCRYPTION_KEY` — 256 bits, base64url (43 characters). It is never stored nor queued: the row
 * keeps its SHA-256 and the notifier derives it again when it builds the link, so neither the
 * database nor the job queue holds a usable link. Null without `ENCRYPTION_KEY` (no browser link).
 */
export function decideToken(encryptionKey: string | undefined, approvalUuid: string): string | null {
  if (!encryptionKey) return null;
  const key = Buffer.from(
    hkdfSync('sha256', parseEncryptionKey(encryptionKey), Buffer.alloc(0), 'calseta approval decide token v1', 32),
  );
  return createHmac('sha256', key).update(approvalUuid, 'utf8').digest('base64url');
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
