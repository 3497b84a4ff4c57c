import { describe, expect, it } from 'vitest';
import { OutboundBlockedError } from './errors.js';
import { blockedHostname, checkUrl, compile, isBlockedAddress, outboundPolicy } from './policy.js';

describe('isBlockedAddress', () => {
  it.each([
    ['127.0.0.1', /loopback/],
    ['127.255.255.254', /loopback/],
    ['0.0.0.0', /unspecified/],
    ['0.1.2.3', /unspecified/],
    ['10.1.2.3', /private/],
    ['172.31.255.255', /private/],
    ['192.168.0.1', /private/],
    ['100.64.0.1', /carrier-grade NAT/],
    ['169.254.1.1', /link-local/],
    ['169.254.169.254', /cloud metadata/],
    ['169.254.170.2', /cloud metadata/],
    ['100.100.100.200', /cloud metadata/],
    ['224.0.0.1', /multicast/],
    ['255.255.255.255', /broadcast/],
    ['240.0.0.1', /reserved/],
    ['198.18.0.1', /benchmarking/],
    ['192.0.2.1', /documentation/],
    ['198.51.100.7', /documentation/],
    ['203.0.113.9', /documentation/],
    ['192.0.0.8', /IETF/],
    ['::', /unspecified/],
    ['::1', /loopback/],
    ['fe80::1', /link-local/],
    ['fc00::1', /unique-local/],
    ['fd12:3456::1', /unique-local/],
    ['fd00:ec2::254', /cloud metadata/],
    ['fec0::1', /site-local/],
    ['ff02::1', /multicast/],
    ['2001:db8::1', /documentation/],
    ['3fff::1', /documentation/],
    ['100::1', /discard/],
    ['::ffff:127.0.0.1', /IPv4-mapped.*loopback/],
    ['::ffff:a9fe:a9fe', /IPv4-mapped.*cloud metadata/],
    ['::ffff:0:a00:1', /IPv4-translated.*private/],
    ['::7f00:1', /IPv4-compatible/],
    ['::8.8.8.8', /IPv4-compatible/], // ipaddr.js alone would read this as ::ffff:8.8.8.8
    ['::127.0.0.1', /IPv4-compatible/],
    ['64:ff9b::7f00:1', /NAT64.*loopback/],
    ['64:ff9b::a9fe:a9fe', /NAT64.*cloud metadata/],
    ['64:ff9b:1::8.8.8.8', /local-use NAT64/],
    ['2002:7f00:1::', /6to4.*loopback/],
    ['2002:c0a8:101::1', /6to4.*private/],
    // Teredo: server 65.54.227.120, client 127.0.0.1 stored inverted (0x80ff:0xfffe).
    ['2001:0:4136:e378:8000:63bf:80ff:fffe', /Teredo client.*loopback/],
    ['2001:0:a00:1::1', /Teredo server.*private/],
    ['4000::1', /reserved/],
    ['fe80::1%eth0', /scoped/],
    ['127.1', /non-canonical/],
    ['010.0.0.1', /non-canonical/], // octal to inet_aton, decimal to others: never guessed
    ['0x7f.0.0.1', /non-canonical/],
    ['2130706433', /non-canonical/],
    ['localhost', /non-canonical/],
  ])('blocks %s', (ip, reason) => {
    expect(isBlockedAddress(ip)).toMatch(reason);
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.215.14',
    '192.52.193.1', // AMT anycast: globally reachable
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
    '[2606:4700:4700::1111]',
  ])('allows the public address %s', (ip) => {
    expect(isBlockedAddress(ip)).toBeNull();
  });
});

describe('blockedHostname', () => {
  it.each([
    'localhost',
    'LOCALHOST',
    'localhost.',
    'metadata.google.internal',
    'metadata.google.internal.',
    'metadata.goog',
    'db.internal',
    'printer.local',
    'app.localhost',
    'fileserver.corp',
    'nas.lan',
    'router.home.arpa',
    '',
  ])('blocks %j', (host) => {
    expect(blockedHostname(host)).toMatch(/^Blocked/);
  });

  it.each(['example.com', 'internal.example.com', 'localhost.example.com', 'corp.example'])('allows %s', (host) => {
    expect(blockedHostname(host)).toBeNull();
  });
});

describe('outboundPolicy', () => {
  it('fills in the defaults', () => {
    expect(outboundPolicy()).toEqual({
      allowHosts: [],
      allowCidrs: [],
      allowHttp: true,
      maxRedirects: 3,
      maxResponseBytes: 5 * 1024 * 1024,
      timeoutMs: 10_000,
    });
  });

  it.each([
    [{ allowHosts: ['http://example.com'] }],
    [{ allowHosts: ['a b'] }],
    [{ allowHosts: ['example.com:99999'] }],
    [{ allowCidrs: ['10.0.0.0'] }],
    [{ allowCidrs: ['not-a-cidr/8'] }],
    [{ maxRedirects: -1 }],
    [{ timeoutMs: 1.5 }],
  ])('rejects the malformed policy %j', (input) => {
    expect(() => outboundPolicy(input)).toThrow(TypeError);
  });

  it('matches allowHosts case-insensitively, canonically and by effective port', () => {
    const policy = compile(
      outboundPolicy({ allowHosts: ['Internal.Example:8443', 'intel.example', '[::1]:9000', '127.1:80'] }),
    );
    expect(checkUrl(policy, 'https://INTERNAL.example:8443/x').hostname).toBe('internal.example');
    expect(() => checkUrl(policy, 'https://internal.example/x')).not.toThrow(); // a name is not blocked by itself
    expect(checkUrl(policy, 'http://[::1]:9000/').hostname).toBe('[::1]');
    expect(() => checkUrl(policy, 'http://[::1]:9001/')).toThrow(OutboundBlockedError);
    expect(checkUrl(policy, 'http://127.0.0.1/').hostname).toBe('127.0.0.1'); // `127.1:80` canonicalised
    expect(() => checkUrl(policy, 'http://127.0.0.1:8080/')).toThrow(OutboundBlockedError);
  });

  it('lets allowCidrs open private ranges but never the metadata or link-local addresses', () => {
    const policy = compile(outboundPolicy({ allowCidrs: ['10.0.0.0/8', '169.254.0.0/16', '127.0.0.1/32'] }));
    expect(checkUrl(policy, 'http://10.2.3.4/').hostname).toBe('10.2.3.4');
    expect(checkUrl(policy, 'http://[::ffff:10.2.3.4]/').hostname).toBe('[::ffff:a02:304]');
    expect(() => checkUrl(policy, 'http://169.254.1.1/')).toThrow(/link-local/);
    expect(() => checkUrl(policy, 'http://169.254.169.254/')).toThrow(/cloud metadata/);
    expect(() => checkUrl(policy, 'http://127.0.0.2/')).toThrow(/loopback/);
  });

  it('refuses plain http when allowHttp is false', () => {
    const policy = compile(outboundPolicy({ allowHttp: false }));
    expect(() => checkUrl(policy, 'http://example.com/')).toThrow(/https required/);
    expect(checkUrl(policy, 'https://example.com/').hostname).toBe('example.com');
  });
});
