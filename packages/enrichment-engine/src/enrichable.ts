import type { IndicatorType } from '@calseta/schema';
import ipaddr from 'ipaddr.js';

/**
 * The enrichability gate: is an indicator worth sending to third-party providers at all? Internal
 * addresses and names are not (they leak internal topology and cannot have public reputation).
 */

export interface Enrichability {
  enrichable: boolean;
  reason?: string;
}

export interface EnrichabilityOptions {
  /** More internal DNS suffixes (e.g. `corp.acme.com`); a name equal to or under one is not enrichable. */
  internalDomainSuffixes?: readonly string[];
}

type Address = ipaddr.IPv4 | ipaddr.IPv6;

interface Block {
  cidr: string;
  /** "Globally Reachable" in the registry. */
  global: boolean;
  name: string;
}

/*
 * The IANA special-purpose registries, as of 2025:
 *   v4: https://www.iana.org/assignments/iana-ipv4-special-registry/
 *   v6: https://www.iana.org/assignments/iana-ipv6-special-registry/
 * plus the multicast space and, for v6, the IANA IPv6 Address Space registry (only 2000::/3 is
 * allocated as Global Unicast). The most specific matching block decides, so globally reachable
 * exceptions (192.0.0.9/32, 2001:3::/32, …) sit inside their non-global parents. Blocks whose
 * registry entry says "N/A" (deprecated 6to4 relay anycast, 6to4, Teredo, ORCHID v1) are treated
 * as not global, as Python does for 2002::/16 ("to be safe"). ipaddr.js's `range()` names many of
 * these too, but lumps together blocks with different answers (its `reserved` holds the globally
 * reachable 192.0.0.9; its `rfc6052` holds both 64:ff9b::/96 and 64:ff9b:1::/48), so this table is
 * authoritative and `range()` is only a safety net below.
 */
const V4_BLOCKS: readonly Block[] = [
  { cidr: '0.0.0.0/0', global: true, name: 'unicast' },
  { cidr: '0.0.0.0/8', global: false, name: '"This network" (RFC 791)' }, // v4 registry
  { cidr: '10.0.0.0/8', global: false, name: 'Private-Use (RFC 1918)' }, // v4 registry
  { cidr: '100.64.0.0/10', global: false, name: 'Shared Address Space / CGNAT (RFC 6598)' }, // v4 registry
  { cidr: '127.0.0.0/8', global: false, name: 'Loopback (RFC 1122)' }, // v4 registry
  { cidr: '169.254.0.0/16', global: false, name: 'Link Local (RFC 3927)' }, // v4 registry
  { cidr: '172.16.0.0/12', global: false, name: 'Private-Use (RFC 1918)' }, // v4 registry
  { cidr: '192.0.0.0/24', global: false, name: 'IETF Protocol Assignments (RFC 6890)' }, // v4 registry
  { cidr: '192.0.0.0/29', global: false, name: 'IPv4 Service Continuity Prefix (RFC 7335)' }, // v4 registry
  { cidr: '192.0.0.8/32', global: false, name: 'IPv4 dummy address (RFC 7600)' }, // v4 registry
  { cidr: '192.0.0.9/32', global: true, name: 'Port Control Protocol Anycast (RFC 7723)' }, // v4 registry: reachable
  { cidr: '192.0.0.10/32', global: true, name: 'TURN Anycast (RFC 8155)' }, // v4 registry: reachable
  { cidr: '192.0.0.170/31', global: false, name: 'NAT64/DNS64 Discovery (RFC 8880)' }, // v4 registry (.170, .171)
  { cidr: '192.0.2.0/24', global: false, name: 'Documentation TEST-NET-1 (RFC 5737)' }, // v4 registry
  { cidr: '192.31.196.0/24', global: true, name: 'AS112-v4 (RFC 7535)' }, // v4 registry: reachable
  { cidr: '192.52.193.0/24', global: true, name: 'AMT (RFC 7450)' }, // v4 registry: reachable
  { cidr: '192.88.99.0/24', global: false, name: 'Deprecated 6to4 Relay Anycast (RFC 7526)' }, // v4 registry: N/A
  { cidr: '192.168.0.0/16', global: false, name: 'Private-Use (RFC 1918)' }, // v4 registry
  { cidr: '192.175.48.0/24', global: true, name: 'Direct Delegation AS112 Service (RFC 7534)' }, // v4 registry
  { cidr: '198.18.0.0/15', global: false, name: 'Benchmarking (RFC 2544)' }, // v4 registry
  { cidr: '198.51.100.0/24', global: false, name: 'Documentation TEST-NET-2 (RFC 5737)' }, // v4 registry
  { cidr: '203.0.113.0/24', global: false, name: 'Documentation TEST-NET-3 (RFC 5737)' }, // v4 registry
  { cidr: '224.0.0.0/4', global: false, name: 'Multicast (RFC 5771)' }, // IPv4 multicast address space registry
  { cidr: '240.0.0.0/4', global: false, name: 'Reserved (RFC 1112)' }, // v4 registry
  { cidr: '255.255.255.255/32', global: false, name: 'Limited Broadcast (RFC 919)' }, // v4 registry
];

const V6_BLOCKS: readonly Block[] = [
  { cidr: '::/0', global: false, name: 'Reserved by IETF (outside Global Unicast 2000::/3)' }, // IPv6 address space
  { cidr: '2000::/3', global: true, name: 'Global Unicast' }, // IPv6 address space registry
  { cidr: '::/128', global: false, name: 'Unspecified (RFC 4291)' }, // v6 registry
  { cidr: '::1/128', global: false, name: 'Loopback (RFC 4291)' }, // v6 registry
  { cidr: '64:ff9b::/96', global: true, name: 'IPv4-IPv6 Translation (RFC 6052)' }, // v6 registry: reachable
  { cidr: '64:ff9b:1::/48', global: false, name: 'Local-use IPv4/IPv6 Translation (RFC 8215)' }, // v6 registry
  { cidr: '100::/64', global: false, name: 'Discard-Only (RFC 6666)' }, // v6 registry
  { cidr: '100:0:0:1::/64', global: false, name: 'Dummy IPv6 Prefix (RFC 9780)' }, // v6 registry
  { cidr: '2001::/23', global: false, name: 'IETF Protocol Assignments (RFC 2928)' }, // v6 registry
  { cidr: '2001::/32', global: false, name: 'Teredo (RFC 4380)' }, // v6 registry: N/A
  { cidr: '2001:1::1/128', global: true, name: 'Port Control Protocol Anycast (RFC 7723)' }, // v6 registry
  { cidr: '2001:1::2/128', global: true, name: 'TURN Anycast (RFC 8155)' }, // v6 registry
  { cidr: '2001:1::3/128', global: true, name: 'DNS-SD Service Registration Protocol Anycast (RFC 9665)' }, // v6 registry
  { cidr: '2001:2::/48', global: false, name: 'Benchmarking (RFC 5180)' }, // v6 registry
  { cidr: '2001:3::/32', global: true, name: 'AMT (RFC 7450)' }, // v6 registry
  { cidr: '2001:4:112::/48', global: true, name: 'AS112-v6 (RFC 7535)' }, // v6 registry
  { cidr: '2001:10::/28', global: false, name: 'Deprecated ORCHID (RFC 4843)' }, // v6 registry: N/A
  { cidr: '2001:20::/28', global: true, name: 'ORCHIDv2 (RFC 7343)' }, // v6 registry
  { cidr: '2001:30::/28', global: true, name: 'Drone Remote ID Protocol Entity Tags (RFC 9374)' }, // v6 registry
  { cidr: '2001:db8::/32', global: false, name: 'Documentation (RFC 3849)' }, // v6 registry
  { cidr: '2002::/16', global: false, name: '6to4 (RFC 3056)' }, // v6 registry: N/A
  { cidr: '2620:4f:8000::/48', global: true, name: 'Direct Delegation AS112 Service (RFC 7534)' }, // v6 registry
  { cidr: '3fff::/20', global: false, name: 'Documentation (RFC 9637)' }, // v6 registry
  { cidr: '5f00::/16', global: false, name: 'Segment Routing SIDs (RFC 9602)' }, // v6 registry
  { cidr: 'fc00::/7', global: false, name: 'Unique-Local (RFC 4193)' }, // v6 registry
  { cidr: 'fe80::/10', global: false, name: 'Link-Local Unicast (RFC 4291)' }, // v6 registry
  { cidr: 'ff00::/8', global: false, name: 'Multicast (RFC 4291)' }, // IPv6 address space registry
];

interface ParsedBlock extends Block {
  range: [Address, number];
}

const parseBlocks = (blocks: readonly Block[]): ParsedBlock[] =>
  blocks.map((block) => ({ ...block, range: ipaddr.parseCIDR(block.cidr) }));
const V4 = parseBlocks(V4_BLOCKS);
const V6 = parseBlocks(V6_BLOCKS);

/** ipaddr.js range names that are never globally reachable, whatever the table says (safety net). */
const NEVER_GLOBAL = new Set([
  'unspecified',
  'broadcast',
  'multicast',
  'linkLocal',
  'loopback',
  'carrierGradeNat',
  'private',
  'uniqueLocal',
]);

/** Strict parse: dotted-quad IPv4 without leading zeros (as Python), or IPv6 (zone id allowed). */
export function parseIp(text: string): Address | null {
  const value = text.trim();
  try {
    if (ipaddr.IPv4.isValidFourPartDecimal(value)) return ipaddr.IPv4.parse(value);
    if (ipaddr.IPv6.isValid(value)) return ipaddr.IPv6.parse(value);
  } catch {
    return null;
  }
  return null;
}

export interface IpClassification {
  global: boolean;
  /** The registry block that decided. */
  block: string;
  cidr: string;
}

/** Classify a parsed address by the most specific registry block containing it. */
export function classifyIp(address: Address): IpClassification {
  if (address.kind() === 'ipv6') {
    const v6 = address as ipaddr.IPv6;
    // IPv4-mapped (::ffff:a.b.c.d): judged by the embedded IPv4 address, as Python 3.13 does.
    if (v6.isIPv4MappedAddress()) return classifyIp(v6.toIPv4Address());
  }
  const table = address.kind() === 'ipv4' ? V4 : V6;
  let best: ParsedBlock | undefined;
  for (const block of table) {
    if (address.match(block.range) && (best === undefined || block.range[1] > best.range[1])) best = block;
  }
  // The /0 rows guarantee a match.
  const decided = best ?? { global: false, name: 'unknown', cidr: '' };
  const global = decided.global && !NEVER_GLOBAL.has(address.range());
  return { global, block: decided.name, cidr: decided.cidr };
}

/** `true`/`false` for a parseable address, `null` when the text is not an IP address. */
export function isGlobalIp(text: string): boolean | null {
  const address = parseIp(text);
  return address === null ? null : classifyIp(address).global;
}

function ipEnrichability(text: string): Enrichability {
  const address = parseIp(text);
  if (address === null) return { enrichable: false, reason: 'invalid IP address format' };
  const { global, block, cidr } = classifyIp(address);
  return global ? { enrichable: true } : { enrichable: false, reason: `non-global IP address: ${block} ${cidr}` };
}

/**
 * Suffixes that never resolve in public DNS: RFC 6761/6762 special-use names, RFC 6762 appendix G's
 * private-use suggestions, RFC 8375 home.arpa (under arpa), RFC 9476 .alt, and ICANN's .internal.
 */
export const INTERNAL_DOMAIN_SUFFIXES: readonly string[] = [
  'local',
  'localhost',
  'internal',
  'intranet',
  'private',
  'corp',
  'home',
  'lan',
  'test',
  'example',
  'invalid',
  'arpa',
  'alt',
];

const LABEL = /^[\p{L}\p{N}_](?:[\p{L}\p{N}_-]{0,61}[\p{L}\p{N}_])?$/u;

function normalizeSuffix(suffix: string): string {
  return suffix.trim().toLowerCase().replace(/^\.+/, '').replace(/\.+$/, '');
}

function domainEnrichability(text: string, options: EnrichabilityOptions): Enrichability {
  const name = text.trim().toLowerCase().replace(/\.$/, '');
  if (name === '') return { enrichable: false, reason: 'empty domain name' };
  if (parseIp(name) !== null) return ipEnrichability(name);
  const labels = name.split('.');
  if (name.length > 253 || !labels.every((label) => LABEL.test(label))) {
    return { enrichable: false, reason: 'invalid domain name' };
  }
  if (labels.length === 1) return { enrichable: false, reason: `single-label hostname '${name}'` };
  if (/^\d+$/.test(labels.at(-1) ?? '')) return { enrichable: false, reason: 'invalid domain name' };
  const suffixes = [...INTERNAL_DOMAIN_SUFFIXES, ...(options.internalDomainSuffixes ?? []).map(normalizeSuffix)];
  const internal = suffixes.find((suffix) => suffix !== '' && (name === suffix || name.endsWith(`.${suffix}`)));
  if (internal !== undefined) return { enrichable: false, reason: `internal domain (.${internal})` };
  return { enrichable: true };
}

function urlEnrichability(text: string, options: EnrichabilityOptions): Enrichability {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return { enrichable: false, reason: 'invalid URL' };
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') return { enrichable: false, reason: 'URL has no hostname' };
  const verdict = parseIp(host) !== null ? ipEnrichability(host) : domainEnrichability(host, options);
  return verdict.enrichable
    ? verdict
    : { enrichable: false, reason: `URL host: ${verdict.reason ?? 'not enrichable'}` };
}

const HASH_LENGTH: Readonly<Record<string, number>> = { hash_md5: 32, hash_sha1: 40, hash_sha256: 64 };

/** Code points an identity lookup never needs and a URL path must not get: C0/C1 controls, `/`, `?`, `#`. */
function hasUnsafeChar(text: string): boolean {
  for (let i = 0; i < text.length; i += 1) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2f || c === 0x3f || c === 0x23) return true;
  }
  return false;
}

const onlyDots = (text: string) => text.length > 0 && text.split('').every((c) => c === '.');

/**
 * Account names go into identity providers' URL paths (`/api/v1/users/{{indicator.value}}`): a value
 * of dots or with a path separator would address another resource (Okta `/api/v1/users/..` lists
 * every user), so it is refused before any call.
 */
function accountEnrichability(text: string): Enrichability {
  const value = text.trim();
  if (value.length > 256) return { enrichable: false, reason: 'account name longer than 256 characters' };
  if (onlyDots(value)) return { enrichable: false, reason: `account name '${value}' is a URL dot segment` };
  // Okta's `/api/v1/users/me` is the API token's own user (an administrator), not an account named `me`.
  if (value.toLowerCase() === 'me') return { enrichable: false, reason: "account name 'me' means the caller itself" };
  if (hasUnsafeChar(value)) {
    return { enrichable: false, reason: 'account name contains a control character, `/`, `?` or `#`' };
  }
  return { enrichable: true };
}

/** One `@`, a plain local part (RFC 5321 length) and a well-formed domain of ≥ 2 labels (internal domains allowed). */
function emailEnrichability(text: string): Enrichability {
  const value = text.trim();
  const at = value.indexOf('@');
  const invalid = { enrichable: false, reason: 'not a valid email address' };
  if (value.length > 254 || at <= 0 || at !== value.lastIndexOf('@')) return invalid;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1).toLowerCase();
  if (local.length > 64 || onlyDots(local) || hasUnsafeChar(local) || /\s/.test(local)) return invalid;
  const labels = domain.split('.');
  if (labels.length < 2 || domain.length > 253 || !labels.every((label) => LABEL.test(label))) return invalid;
  return { enrichable: true };
}

/**
 * Whether an indicator may be sent to providers:
 * - ip: parses and is globally reachable per the IANA registries (see the tables above);
 * - domain: a well-formed name of ≥ 2 labels, not under an internal suffix;
 * - url: has a host, and that host passes the ip or domain rule;
 * - hash_*: hex of the right length (32/40/64);
 * - email: one `@`, a plain local part and a well-formed domain (internal domains allowed: identity
 *   providers know them);
 * - account: up to 256 characters, not only dots, not `me`, no control character, `/`, `?` or `#`
 *   (the reference took any non-empty value; a dot segment made Okta list every user, `me` described
 *   the API token's own administrator).
 */
export function checkEnrichable(type: IndicatorType, value: string, options: EnrichabilityOptions = {}): Enrichability {
  if (value.trim() === '') return { enrichable: false, reason: 'empty value' };
  switch (type) {
    case 'ip':
      return ipEnrichability(value);
    case 'domain':
      return domainEnrichability(value, options);
    case 'url':
      return urlEnrichability(value, options);
    case 'hash_md5':
    case 'hash_sha1':
    case 'hash_sha256': {
      const length = HASH_LENGTH[type] ?? 0;
      return new RegExp(`^[0-9a-f]{${length}}$`, 'i').test(value.trim())
        ? { enrichable: true }
        : { enrichable: false, reason: `not a ${length}-character hex ${type.slice(5).toUpperCase()} hash` };
    }
    case 'email':
      return emailEnrichability(value);
    case 'account':
      return accountEnrichability(value);
  }
}
