import net from 'node:net';
import ipaddr from 'ipaddr.js';
import { OutboundBlockedError } from './errors.js';

/**
 * What an outbound HTTP client may reach. Everything not globally routable is refused unless
 * listed here; `allowHosts` is the deliberate escape hatch for internal providers and tests.
 * The cloud metadata endpoints and link-local addresses are refused whatever is listed.
 */
export interface OutboundPolicy {
  /**
   * Exact hostnames or `host:port` (IPv6 as `[::1]:8080`), case-insensitive. Bypasses every other
   * check except the metadata / link-local block.
   */
  allowHosts: string[];
  /** Addresses inside these ranges are allowed although not public (never metadata or link-local). */
  allowCidrs?: string[];
  /** Plain `http:` allowed (default true); `https:` always is. */
  allowHttp: boolean;
  /** Redirect hops followed per request (default 3). */
  maxRedirects: number;
  /** Response bodies larger than this fail the request (default 5 MiB). */
  maxResponseBytes: number;
  /** Whole request budget: DNS, connect, every redirect hop and the body (default 10 s). */
  timeoutMs: number;
}

export const DEFAULT_OUTBOUND_POLICY: Readonly<OutboundPolicy> = Object.freeze({
  allowHosts: [],
  allowCidrs: [],
  allowHttp: true,
  maxRedirects: 3,
  maxResponseBytes: 5 * 1024 * 1024,
  timeoutMs: 10_000,
});

/** What an outbound client is for: each has its own allow-list (`SSRF_ALLOWED_HOSTS_<PURPOSE>`). */
export const OUTBOUND_PURPOSES = ['providers', 'agents', 'workflows', 'notifiers'] as const;
export type OutboundPurpose = (typeof OUTBOUND_PURPOSES)[number];

/**
 * The process's outbound configuration: a base policy whose `allowHosts` every purpose shares (the
 * deprecated `SSRF_ALLOWED_HOSTS`), plus hosts only one purpose may reach — so an on-prem intel API
 * opened for providers is not also a target for agent webhooks or workflow code.
 */
export interface OutboundConfig extends Partial<OutboundPolicy> {
  allowHostsFor?: Partial<Record<OutboundPurpose, readonly string[]>>;
}

/** The policy of one purpose: the shared allow-list plus that purpose's own. */
export function policyFor(config: OutboundConfig, purpose: OutboundPurpose): Partial<OutboundPolicy> {
  const { allowHostsFor, ...base } = config;
  return { ...base, allowHosts: [...(base.allowHosts ?? []), ...(allowHostsFor?.[purpose] ?? [])] };
}

/** The policy with defaults filled in; throws `TypeError` on a malformed allow-list entry or limit. */
export function outboundPolicy(input: Partial<OutboundPolicy> = {}): OutboundPolicy {
  const policy: OutboundPolicy = {
    allowHosts: [...(input.allowHosts ?? DEFAULT_OUTBOUND_POLICY.allowHosts)],
    allowCidrs: [...(input.allowCidrs ?? [])],
    allowHttp: input.allowHttp ?? DEFAULT_OUTBOUND_POLICY.allowHttp,
    maxRedirects: input.maxRedirects ?? DEFAULT_OUTBOUND_POLICY.maxRedirects,
    maxResponseBytes: input.maxResponseBytes ?? DEFAULT_OUTBOUND_POLICY.maxResponseBytes,
    timeoutMs: input.timeoutMs ?? DEFAULT_OUTBOUND_POLICY.timeoutMs,
  };
  for (const [name, value] of [
    ['maxRedirects', policy.maxRedirects],
    ['maxResponseBytes', policy.maxResponseBytes],
    ['timeoutMs', policy.timeoutMs],
  ] as const) {
    if (!Number.isInteger(value) || value < 0) throw new TypeError(`outbound policy: ${name} must be an integer >= 0`);
  }
  compile(policy); // validates the allow-lists
  return policy;
}

// ---------------------------------------------------------------------------------------------
// Addresses

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = { net: Address; bits: number; label: string };

function ranges(list: ReadonlyArray<readonly [string, string]>): Range[] {
  return list.map(([cidr, label]) => {
    const [net, bits] = ipaddr.parseCIDR(cidr);
    return { net, bits, label };
  });
}

/** Cloud instance-metadata endpoints: blocked even when allow-listed (host or `allowCidrs`). */
const METADATA = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', 'fd00:ec2::254']);
/** Link-local ranges (where metadata services live): blocked even when allow-listed. */
const LINK_LOCAL: ReadonlyArray<[Address, number]> = [
  ipaddr.parseCIDR('169.254.0.0/16'),
  ipaddr.parseCIDR('fe80::/10'),
];
/** Metadata service names: never allow-listable. */
const METADATA_NAMES = new Set(['metadata.google.internal', 'metadata.goog', 'metadata.azure.com']);

// IANA special-purpose registries; first match wins, so more specific ranges come first.
const V4_BLOCKED = ranges([
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private'],
  ['100.64.0.0/10', 'carrier-grade NAT'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local'],
  ['172.16.0.0/12', 'private'],
  ['192.0.0.0/24', 'IETF protocol assignment'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', '6to4 relay anycast'],
  ['192.168.0.0/16', 'private'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['255.255.255.255/32', 'broadcast'],
  ['240.0.0.0/4', 'reserved'],
]);

const V6_BLOCKED = ranges([
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['::/96', 'IPv4-compatible (deprecated)'],
  ['64:ff9b:1::/48', 'local-use NAT64'],
  ['100::/64', 'discard-only'],
  ['2001:2::/48', 'benchmarking'],
  ['2001:10::/28', 'ORCHID'],
  ['2001:20::/28', 'ORCHIDv2'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['5f00::/16', 'segment routing'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local (deprecated)'],
  ['ff00::/8', 'multicast'],
]);

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
const NAT64_WELL_KNOWN = ipaddr.parseCIDR('64:ff9b::/96');
/** ipaddr.js range names that are globally reachable anycast services. */
const GLOBAL_RANGES = new Set(['unicast', 'amt', 'as112', 'as112v6']);

function v4FromWords(high: number, low: number): ipaddr.IPv4 {
  return new ipaddr.IPv4([high >> 8, high & 0xff, low >> 8, low & 0xff]);
}

/** IPv6 forms that carry an IPv4 address the packet may end up at. */
function embeddedV4(address: ipaddr.IPv6): Array<{ v4: ipaddr.IPv4; via: string }> {
  const p = address.parts as [number, number, number, number, number, number, number, number];
  switch (address.range()) {
    case 'ipv4Mapped':
      return [{ v4: v4FromWords(p[6], p[7]), via: 'IPv4-mapped' }];
    case 'rfc6145':
      return [{ v4: v4FromWords(p[6], p[7]), via: 'IPv4-translated' }];
    case 'rfc6052':
      // Only the well-known 64:ff9b::/96; the local-use 64:ff9b:1::/48 is blocked outright.
      return address.match(NAT64_WELL_KNOWN) ? [{ v4: v4FromWords(p[6], p[7]), via: 'NAT64' }] : [];
    case '6to4':
      return [{ v4: v4FromWords(p[1], p[2]), via: '6to4' }];
    case 'teredo':
      // Server in bits 32-63; the client address is stored inverted in bits 96-127.
      return [
        { v4: v4FromWords(p[2], p[3]), via: 'Teredo server' },
        { v4: v4FromWords(p[6] ^ 0xffff, p[7] ^ 0xffff), via: 'Teredo client' },
      ];
    default:
      return [];
  }
}

function v4Reason(address: ipaddr.IPv4): string | null {
  const text = address.toString();
  if (METADATA.has(text)) return `cloud metadata address ${text}`;
  for (const range of V4_BLOCKED) if (address.match(range.net, range.bits)) return `${range.label} address ${text}`;
  const name = address.range();
  return GLOBAL_RANGES.has(name) ? null : `${name} address ${text}`;
}

function v6Reason(address: ipaddr.IPv6): string | null {
  const text = address.toString();
  if (METADATA.has(text)) return `cloud metadata address ${text}`;
  const embedded = embeddedV4(address);
  if (embedded.length > 0) {
    for (const { v4, via } of embedded) {
      const inner = v4Reason(v4);
      if (inner) return `${via} IPv6 address ${text} embeds ${inner}`;
    }
    return null;
  }
  for (const range of V6_BLOCKED) if (address.match(range.net, range.bits)) return `${range.label} address ${text}`;
  const name = address.range();
  if (!GLOBAL_RANGES.has(name)) return `${name} address ${text}`;
  if (!address.match(GLOBAL_UNICAST_V6)) return `reserved address ${text}`;
  return null;
}

/**
 * Parse an address the way the socket layer will read it. IPv6 text goes through the WHATWG
 * parser first: ipaddr.js 2.5.0 reads the embedded-IPv4 form `::a.b.c.d` as IPv4-*mapped*
 * (`::ffff:a.b.c.d`) although it is the IPv4-compatible `::a.b:c.d`, so it only sees hex text.
 */
function parseAddress(ip: string): Address | null {
  const text = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  // net.isIP accepts only canonical dotted quads and real IPv6 text: `127.1`, `0x7f.1` and
  // friends are not addresses here (URLs are canonicalised by the WHATWG parser before this).
  const version = text.includes('%') ? 0 : net.isIP(text);
  if (version === 4) return ipaddr.IPv4.parse(text);
  if (version === 6) return ipaddr.IPv6.parse(new URL(`http://[${text}]/`).hostname.slice(1, -1));
  return null;
}

/**
 * Why `ip` must not be contacted, or `null` when it is a globally routable unicast address.
 * Anything that is not a plain IPv4/IPv6 literal (odd forms, zone ids) is blocked.
 */
export function isBlockedAddress(ip: string): string | null {
  if (ip.includes('%')) return `Blocked scoped IPv6 address: ${ip}`;
  const address = parseAddress(ip);
  if (!address) return `Blocked non-canonical address: ${ip}`;
  const reason = address.kind() === 'ipv4' ? v4Reason(address as ipaddr.IPv4) : v6Reason(address as ipaddr.IPv6);
  return reason ? `Blocked ${reason}` : null;
}

/**
 * True when `ip` is refused whatever the allow-lists say: a cloud metadata address or link-local,
 * also inside IPv4-mapped and other IPv6 forms that embed an IPv4 address.
 */
export function isAlwaysBlocked(ip: string): boolean {
  const address = parseAddress(ip.includes('%') ? '' : ip);
  if (!address) return false; // not an address: the ordinary checks refuse it
  const candidates: Address[] = [address];
  if (address.kind() === 'ipv6') candidates.push(...embeddedV4(address as ipaddr.IPv6).map((e) => e.v4));
  return candidates.some(
    (candidate) =>
      METADATA.has(candidate.toString()) ||
      LINK_LOCAL.some(([net, bits]) => candidate.kind() === net.kind() && candidate.match(net, bits)),
  );
}

// ---------------------------------------------------------------------------------------------
// Hostnames

const BLOCKED_NAMES = new Set(['localhost', ...METADATA_NAMES]);
const BLOCKED_SUFFIXES = ['.internal', '.local', '.localhost', '.corp', '.lan', '.home.arpa'];

/** Lower-case, brackets and trailing dots removed: the form hostnames are compared in. */
export function normalizeHost(hostname: string): string {
  let host = hostname.toLowerCase();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return host.replace(/\.+$/, '');
}

/** Why a (normalised, non-IP) hostname is refused by name alone, or `null`. */
export function blockedHostname(hostname: string): string | null {
  const host = normalizeHost(hostname);
  if (host === '') return 'Blocked empty hostname';
  if (BLOCKED_NAMES.has(host)) return `Blocked internal hostname: ${host}`;
  const suffix = BLOCKED_SUFFIXES.find((s) => host.endsWith(s));
  return suffix ? `Blocked internal hostname suffix ${suffix}: ${host}` : null;
}

// ---------------------------------------------------------------------------------------------
// Compiled policy (what the URL check and the connector share)

interface AllowedHost {
  host: string;
  port: string | undefined;
}

export interface CompiledPolicy {
  readonly policy: OutboundPolicy;
  readonly allowHosts: readonly AllowedHost[];
  readonly allowCidrs: ReadonlyArray<[Address, number]>;
}

function parseAllowHost(entry: string): AllowedHost {
  const text = entry.trim();
  let host: string;
  let port: string | undefined;
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (bracketed?.[1]) {
    host = `[${bracketed[1]}]`;
    port = bracketed[2];
  } else if (net.isIPv6(text)) {
    host = `[${text}]`;
  } else {
    const match = /^([^:/?#@\s[\]]+)(?::(\d+))?$/.exec(text);
    if (!match?.[1]) throw new TypeError(`outbound policy: invalid allowHosts entry ${JSON.stringify(entry)}`);
    host = match[1];
    port = match[2];
  }
  let canonical: string;
  try {
    // Canonicalise the way request URLs are: case, IDNA, IPv4 number forms, IPv6 compression.
    canonical = new URL(`http://${host}/`).hostname;
  } catch {
    throw new TypeError(`outbound policy: invalid allowHosts entry ${JSON.stringify(entry)}`);
  }
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65_535)) {
    throw new TypeError(`outbound policy: invalid port in allowHosts entry ${JSON.stringify(entry)}`);
  }
  return { host: normalizeHost(canonical), port: port === undefined ? undefined : String(Number(port)) };
}

const compiled = new WeakMap<OutboundPolicy, CompiledPolicy>();

/** Parse the allow-lists once per policy object. */
export function compile(policy: OutboundPolicy): CompiledPolicy {
  const cached = compiled.get(policy);
  if (cached) return cached;
  const result: CompiledPolicy = {
    policy,
    allowHosts: policy.allowHosts.map(parseAllowHost),
    allowCidrs: (policy.allowCidrs ?? []).map((cidr) => {
      try {
        const [address, bits] = cidr.trim().split('/');
        const parsed = address === undefined ? null : parseAddress(address);
        if (!parsed || bits === undefined || !/^\d+$/.test(bits)) throw new TypeError('malformed');
        return ipaddr.parseCIDR(`${parsed.toString()}/${bits}`);
      } catch {
        throw new TypeError(`outbound policy: invalid allowCidrs entry ${JSON.stringify(cidr)}`);
      }
    }),
  };
  compiled.set(policy, result);
  return result;
}

export function defaultPort(protocol: string): string {
  return protocol === 'https:' ? '443' : '80';
}

/**
 * `hostname` as the URL parser gives it (IPv6 with or without brackets); `port` '' means the scheme
 * default. A metadata name or address, or a link-local address, is never allow-listed.
 */
export function isAllowListedHost(policy: CompiledPolicy, hostname: string, port: string, protocol: string): boolean {
  const host = normalizeHost(hostname);
  if (METADATA_NAMES.has(host) || isAlwaysBlocked(host)) return false;
  const effectivePort = port === '' ? defaultPort(protocol) : port;
  return policy.allowHosts.some(
    (entry) => entry.host === host && (entry.port === undefined || entry.port === effectivePort),
  );
}

function inAllowedCidr(policy: CompiledPolicy, address: Address): boolean {
  const candidates: Address[] = [address];
  if (address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()) {
    candidates.push((address as ipaddr.IPv6).toIPv4Address());
  }
  return policy.allowCidrs.some(([range, bits]) =>
    candidates.some((candidate) => candidate.kind() === range.kind() && candidate.match(range, bits)),
  );
}

/**
 * Why `ip` must not be contacted under this policy (allowCidrs applied), or `null`. For an
 * allow-listed host only the metadata / link-local block applies.
 */
export function addressVerdict(policy: CompiledPolicy, ip: string, allowListed = false): string | null {
  const reason = isBlockedAddress(ip);
  if (reason === null || isAlwaysBlocked(ip)) return reason;
  if (allowListed) return null;
  const address = parseAddress(ip);
  if (!address) return reason;
  return inAllowedCidr(policy, address) ? null : reason;
}

/** The host as a bare IP literal (IPv6 without brackets), or `null` for a name. */
export function ipLiteral(hostname: string): string | null {
  const host = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  return net.isIP(host) === 0 ? null : host;
}

/**
 * The checks that need no DNS: scheme, hostname rules, IP literals. Returns the parsed URL.
 * Throws `OutboundBlockedError`. Odd IPv4 spellings (`2130706433`, `0x7f.1`, `0177.0.0.1`,
 * `127.1`, `0`) are canonicalised by the WHATWG parser (`new URL`) before they are checked,
 * and IPv6 zone ids are rejected by it.
 */
export function checkUrl(policy: CompiledPolicy, input: string | URL): URL {
  let url: URL;
  try {
    url = new URL(String(input));
  } catch {
    throw new OutboundBlockedError('Blocked invalid URL', '');
  }
  const host = url.hostname;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new OutboundBlockedError(`Blocked scheme ${url.protocol} (only http and https)`, host);
  }
  if (url.protocol === 'http:' && !policy.policy.allowHttp) {
    throw new OutboundBlockedError('Blocked plain http (https required)', host);
  }
  if (host === '') throw new OutboundBlockedError('Blocked URL without a host', host);
  if (isAllowListedHost(policy, host, url.port, url.protocol)) return url;
  const literal = ipLiteral(host);
  const reason = literal === null ? blockedHostname(host) : addressVerdict(policy, literal);
  if (reason) throw new OutboundBlockedError(reason, host);
  return url;
}
