import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import type { IndicatorType } from '@calseta/schema';

/**
 * Per-type indicator validation: the one gate every extraction pass goes through before anything is
 * stored (core runs it over plugin extraction, system and custom mappings alike). Every check is linear
 * in the value's length and bounded by the byte cap first, so no payload can stall it.
 */

export type IndicatorRefusalReason =
  | 'empty'
  | 'placeholder'
  | 'control_characters'
  | 'too_long'
  | 'hash_not_hex'
  | 'hash_length'
  | 'hash_placeholder'
  | 'id_field'
  | 'ip_invalid'
  | 'domain_invalid'
  | 'url_invalid'
  | 'email_invalid'
  | 'account_invalid';

export type IndicatorCheck =
  | { ok: true; value: string }
  | { ok: false; reason: IndicatorRefusalReason; detail: string };

/** UTF-8 byte caps per type: far below the ~2.7 KB a btree index entry can hold. */
export const INDICATOR_MAX_BYTES: Readonly<Record<IndicatorType, number>> = {
  ip: 64,
  domain: 253,
  hash_md5: 32,
  hash_sha1: 40,
  hash_sha256: 64,
  url: 2048,
  email: 254,
  account: 512,
};

/** Indicators kept per alert; the rest are counted and reported, never stored. */
export const MAX_INDICATORS_PER_ALERT = 500;

const HASH_LENGTH: Readonly<Partial<Record<IndicatorType, number>>> = { hash_md5: 32, hash_sha1: 40, hash_sha256: 64 };

/** Addresses that name no host: sensors report them when a host has no usable address. */
const UNSPECIFIED_IPS = new Set(['0.0.0.0', '::', '255.255.255.255']);

/** Values that mean "nothing here" in SIEM exports. */
const PLACEHOLDERS = new Set([
  'n/a',
  'na',
  'none',
  'null',
  'nil',
  '(null)',
  'undefined',
  'unknown',
  '-',
  '--',
  '?',
  'empty',
]);

const URL_PROTOCOLS = new Set(['http:', 'https:', 'ftp:', 'ftps:', 'sftp:', 'ws:', 'wss:']);

function hasControlCharacters(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function isHex(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i) | 0x20; // lowercase ASCII letters
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/** True when every character of `text` is its first (checked without splitting it into strings). */
function oneRepeatedCharacter(text: string): boolean {
  for (let i = 1; i < text.length; i++) if (text.charCodeAt(i) !== text.charCodeAt(0)) return false;
  return true;
}

/**
 * A field whose name says it holds an identifier (tenant, customer, host group, agent, detection…):
 * its 32/40/64-hex values look exactly like hashes but are not. `HostGroups`, `customerIDString`,
 * `tenant_id`, `AgentIdString`, `cid`, `aid`.
 */
export function isIdentifierField(sourceField: string): boolean {
  const last = (
    sourceField
      .split('.')
      .filter((s) => !/^\d+$/.test(s))
      .pop() ?? ''
  ).toLowerCase();
  const name = last.replace(/[^a-z0-9]/g, '');
  if (name === 'aid' || name === 'cid') return true;
  if (/(customer|tenant|hostgroup|group|organization|org|account)/.test(name) && !/(hash|md5|sha)/.test(name)) {
    return true;
  }
  return /(id|ids|idstring|uuid|guid)$/.test(name) && !/(hash|md5|sha)/.test(name);
}

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** A DNS name with at least one dot: LDH labels of 1–63 chars (`_` allowed for service names), ≤ 253 chars, a non-numeric TLD; IDNs through punycode. */
export function isDomainName(value: string): boolean {
  if (value.length > 253 || value.includes('..')) return false;
  const name = value.endsWith('.') ? value.slice(0, -1) : value;
  if (!name.includes('.')) return false;
  // Non-ASCII names (IDN) are checked in their ASCII form; domainToASCII returns '' for invalid ones.
  const ascii = /^[\x21-\x7e]*$/.test(name) ? name.toLowerCase() : domainToASCII(name);
  if (ascii === '' || ascii.length > 253) return false;
  const labels = ascii.split('.');
  const tld = labels[labels.length - 1] ?? '';
  if (/^\d+$/.test(tld) || tld.length < 2) return false;
  return labels.every((label) => LABEL.test(label));
}

/** `local@domain`: a dot-atom local part (≤ 64) and a domain name; no quoted forms, no comments. */
export function isEmailAddress(value: string): boolean {
  if (value.length > 254) return false;
  const at = value.lastIndexOf('@');
  if (at <= 0 || at !== value.indexOf('@')) return false;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (local.length > 64 || local.startsWith('.') || local.endsWith('.') || local.includes('..')) return false;
  // Dot-atom characters; non-ASCII letters are allowed (internationalized addresses).
  if (!/^[^\s@"(),:;<>[\\\]]+$/u.test(local)) return false;
  return isDomainName(domain);
}

function isUrl(value: string): boolean {
  if (/\s/.test(value)) return false;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return false;
  }
  if (!URL_PROTOCOLS.has(url.protocol) || url.hostname === '') return false;
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return isIP(host) !== 0 || isDomainName(host) || /^[a-z0-9-]{1,63}$/.test(host);
}

function refuse(reason: IndicatorRefusalReason, detail: string): IndicatorCheck {
  return { ok: false, reason, detail };
}

/**
 * Check one candidate indicator. `sourceField` is where it came from (`raw_payload.metadata.customerIDString`):
 * a hash from a field named as an identifier is refused. Returns the trimmed value when accepted.
 */
export function checkIndicator(type: IndicatorType, value: unknown, sourceField = ''): IndicatorCheck {
  if (typeof value !== 'string') return refuse('empty', 'not a string');
  const v = value.trim();
  if (v === '') return refuse('empty', 'blank value');
  const bytes = Buffer.byteLength(v, 'utf8');
  const max = INDICATOR_MAX_BYTES[type];
  // Hashes report their length problem as such (a 65-hex value is a wrong hash, not a long one).
  if (bytes > max && HASH_LENGTH[type] === undefined) {
    return refuse('too_long', `${bytes} bytes; a ${type} is at most ${max}`);
  }
  if (hasControlCharacters(v)) return refuse('control_characters', 'contains control characters');
  if (PLACEHOLDERS.has(v.toLowerCase())) return refuse('placeholder', `"${v}" means no value`);
  const hashLength = HASH_LENGTH[type];
  if (hashLength !== undefined) {
    if (v.length > 1024 || !isHex(v)) return refuse('hash_not_hex', 'not hexadecimal');
    if (v.length !== hashLength) {
      return refuse('hash_length', `${v.length} hex characters; a ${type} has exactly ${hashLength}`);
    }
    // Hex case carries no meaning: one spelling, so the same hash is one indicator whatever the vendor sent.
    const hash = v.toLowerCase();
    if (oneRepeatedCharacter(hash)) return refuse('hash_placeholder', 'one repeated digit, a placeholder');
    if (sourceField !== '' && isIdentifierField(sourceField)) {
      return refuse('id_field', `${sourceField} holds an identifier, not a hash`);
    }
    return { ok: true, value: hash };
  }
  switch (type) {
    case 'ip':
      if (isIP(v) === 0) return refuse('ip_invalid', 'not an IPv4 or IPv6 address');
      return UNSPECIFIED_IPS.has(v) ? refuse('placeholder', `${v} names no host`) : { ok: true, value: v };
    case 'domain':
      return isIP(v) === 0 && isDomainName(v)
        ? { ok: true, value: v }
        : refuse('domain_invalid', 'not a DNS name with a dot and valid labels');
    case 'url':
      return isUrl(v)
        ? { ok: true, value: v }
        : refuse('url_invalid', 'not an absolute http(s)/ftp/ws URL with a host');
    case 'email':
      return isEmailAddress(v) ? { ok: true, value: v } : refuse('email_invalid', 'not a local@domain address');
    case 'account':
      return v === '.' || v === '..' || /^[\\/.]+$/.test(v)
        ? refuse('account_invalid', 'a path segment, not an account')
        : { ok: true, value: v };
    default:
      return { ok: true, value: v };
  }
}

/** True for addresses that are not routable on the internet (RFC 1918, loopback, link-local, ULA, CGNAT…). */
export function isPrivateIp(value: string): boolean {
  const kind = isIP(value);
  if (kind === 4) {
    const [a = 0, b = 0] = value.split('.').map(Number);
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 169 && b === 254) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (kind === 6) {
    const v = value.toLowerCase();
    if (v === '::1' || v === '::') return true;
    if (v.startsWith('::ffff:')) return isPrivateIp(v.slice(7));
    return /^(fc|fd|fe[89ab])/.test(v);
  }
  return false;
}
