import ipaddr from 'ipaddr.js';

type Address = ipaddr.IPv4 | ipaddr.IPv6;
export type TrustedProxies = ReadonlyArray<readonly [Address, number]>;

/** An address with IPv4-mapped IPv6 (`::ffff:10.0.0.1`) reduced to IPv4; null when not an IP. */
function parseAddress(text: string): Address | null {
  const value = text.trim().replace(/^\[(.*)\]$/, '$1');
  if (!ipaddr.isValid(value)) return null;
  const address = ipaddr.parse(value);
  return address.kind() === 'ipv6' && (address as ipaddr.IPv6).isIPv4MappedAddress()
    ? (address as ipaddr.IPv6).toIPv4Address()
    : address;
}

/**
 * `TRUSTED_PROXIES`: comma-separated CIDRs (or single addresses) of the reverse proxies in front of
 * the API. Empty (the default) trusts none: `X-Forwarded-For` is then ignored entirely.
 */
export function parseTrustedProxies(text: string | undefined): TrustedProxies {
  const out: Array<readonly [Address, number]> = [];
  for (const item of (text ?? '').split(',')) {
    const entry = item.trim();
    if (!entry) continue;
    if (entry.includes('/')) {
      const [net, bits] = ipaddr.parseCIDR(entry);
      out.push([net, bits]);
    } else {
      const address = parseAddress(entry);
      if (!address) throw new Error(`TRUSTED_PROXIES: "${entry}" is not an IP address or CIDR`);
      out.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    }
  }
  return out;
}

function isTrusted(address: Address, trusted: TrustedProxies): boolean {
  return trusted.some(([net, bits]) => net.kind() === address.kind() && address.match(net, bits));
}

/**
 * The client's address: the socket peer, unless the peer is a trusted proxy, in which case
 * `X-Forwarded-For` is walked from the right (the entries the trusted proxies appended) and the
 * first address that is not a trusted proxy is the client. Entries left of it were written by the
 * client and are never believed; a malformed entry stops the walk at the last trusted hop.
 */
export function clientIp(peer: string | undefined, forwardedFor: string | undefined, trusted: TrustedProxies): string {
  const peerAddress = peer ? parseAddress(peer) : null;
  if (!peerAddress) return peer ?? 'unknown';
  let current = peerAddress;
  if (trusted.length === 0 || !forwardedFor) return current.toString();
  const hops = forwardedFor.split(',').reverse();
  for (const hop of hops) {
    if (!isTrusted(current, trusted)) return current.toString();
    const next = parseAddress(hop);
    if (!next) return current.toString();
    current = next;
  }
  return current.toString();
}
