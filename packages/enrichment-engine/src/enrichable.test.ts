import { describe, expect, it } from 'vitest';
import { checkEnrichable, classifyIp, isGlobalIp, parseIp } from './enrichable.js';

describe('IP addresses: globally reachable per the IANA special-purpose registries', () => {
  // Expected values written out literally. Where "Python says global", Python's ipaddress.is_global
  // (3.13) disagrees on purpose: see README "Enrichability".
  it.each<[string, boolean]>([
    ['10.0.0.55', false], // §3.8 fixture
    ['185.220.101.32', true], // §3.8 fixture
    ['198.51.100.42', false], // §3.8 fixture (TEST-NET-2)
    ['203.0.113.25', false], // §3.8 fixture (TEST-NET-3)
    ['45.33.32.156', true], // §3.8 fixture
    ['91.234.56.78', true], // §3.8 fixture
    ['185.220.101.34', true], // §3.8 fixture
    ['10.0.15.201', false], // §3.8 fixture
    ['10.0.8.55', false], // §3.8 fixture
    ['10.0.1.10', false], // §3.8 fixture
    ['198.51.100.99', false], // §3.8 fixture
    ['10.0.0.99', false], // §3.8 fixture
    ['192.168.1.10', false], // §3.8 fixture
    ['8.8.8.8', true],
    ['1.1.1.1', true],
    ['0.0.0.0', false],
    ['0.1.2.3', false],
    ['127.0.0.1', false],
    ['127.255.255.254', false],
    ['169.254.169.254', false],
    ['172.16.0.1', false],
    ['172.31.255.255', false],
    ['172.32.0.1', true], // just above 172.16/12
    ['172.15.255.255', true], // just below 172.16/12
    ['100.64.0.1', false],
    ['100.127.255.255', false],
    ['100.128.0.1', true], // just above CGNAT
    ['100.63.255.255', true], // just below CGNAT
    ['192.0.0.1', false],
    ['192.0.0.8', false],
    ['192.0.0.9', true], // PCP anycast inside 192.0.0.0/24
    ['192.0.0.10', true], // TURN anycast inside 192.0.0.0/24
    ['192.0.0.11', false],
    ['192.0.0.170', false],
    ['192.0.0.171', false],
    ['192.0.2.1', false],
    ['192.0.3.1', true], // just above TEST-NET-1
    ['192.31.196.1', true],
    ['192.52.193.1', true],
    ['192.88.99.1', false], // registry N/A; Python says global
    ['192.175.48.1', true],
    ['198.18.0.1', false],
    ['198.19.255.255', false],
    ['198.20.0.1', true], // just above 198.18/15
    ['224.0.0.1', false], // multicast; Python says global
    ['239.255.255.250', false], // multicast (SSDP); Python says global
    ['240.0.0.1', false],
    ['255.255.255.255', false],
    ['fe80::1a2b:3c4d:5e6f:7890', false], // §3.8 fixture
    ['fe80::1%eth0', false],
    ['::1', false],
    ['::', false],
    ['fc00::1', false],
    ['fd12:3456::1', false],
    ['ff02::1', false], // multicast; Python says global
    ['ff0e::1', false], // global-scope multicast; Python says global
    ['fec0::1', false], // deprecated site-local, outside 2000::/3; Python says global
    ['2001:db8::1', false],
    ['3fff::1', false], // documentation (RFC 9637)
    ['3fff:1000::1', true], // just past 3fff::/20
    ['2001::1', false], // Teredo (N/A)
    ['2001:0:4136:e378::1', false],
    ['2001:1::1', true],
    ['2001:1::2', true],
    ['2001:1::3', true],
    ['2001:1::4', false],
    ['2001:2::1', false],
    ['2001:3::1', true],
    ['2001:4:112::1', true],
    ['2001:10::1', false],
    ['2001:20::1', true],
    ['2001:30::1', true],
    ['2001:200::1', true], // just above 2001::/23
    ['2002:c000:204::1', false], // 6to4 (N/A)
    ['64:ff9b::808:808', true], // NAT64 well-known prefix
    ['64:ff9b:1::1', false], // local-use NAT64
    ['100::1', false],
    ['2620:4f:8000::1', true],
    ['5f00::1', false], // SRv6 SIDs (RFC 9602)
    ['4000::1', false], // unallocated, outside 2000::/3; Python says global
    ['2606:4700:4700::1111', true],
    ['2a00:1450:4001:80b::200e', true],
    ['::ffff:8.8.8.8', true], // IPv4-mapped: judged by the IPv4 address
    ['::ffff:10.0.0.1', false],
    ['::ffff:198.51.100.1', false],
  ])('%s → %s', (address, expected) => {
    expect(isGlobalIp(address)).toBe(expected);
    expect(checkEnrichable('ip', address).enrichable).toBe(expected);
  });

  it('explains a refusal with the registry block', () => {
    expect(checkEnrichable('ip', '198.51.100.42')).toEqual({
      enrichable: false,
      reason: 'non-global IP address: Documentation TEST-NET-2 (RFC 5737) 198.51.100.0/24',
    });
    expect(checkEnrichable('ip', '10.0.0.55').reason).toBe('non-global IP address: Private-Use (RFC 1918) 10.0.0.0/8');
    expect(checkEnrichable('ip', '185.220.101.32')).toEqual({ enrichable: true });
  });

  it('the most specific block decides', () => {
    expect(classifyIp(parseIp('192.0.0.9')!)).toEqual({
      global: true,
      block: 'Port Control Protocol Anycast (RFC 7723)',
      cidr: '192.0.0.9/32',
    });
    expect(classifyIp(parseIp('192.0.0.200')!).cidr).toBe('192.0.0.0/24');
    expect(classifyIp(parseIp('2001:4:112::53')!).cidr).toBe('2001:4:112::/48');
  });

  it.each(['1.2.3', '256.1.1.1', '010.0.0.1', '1.2.3.4/24', 'not-an-ip', '0x7f.0.0.1', '2130706433', '1:2:3', ''])(
    'rejects %j as an invalid IP',
    (value) => {
      expect(isGlobalIp(value)).toBeNull();
      expect(checkEnrichable('ip', value).enrichable).toBe(false);
    },
  );

  it('says why an unparseable IP is refused', () => {
    expect(checkEnrichable('ip', '999.1.1.1')).toEqual({ enrichable: false, reason: 'invalid IP address format' });
  });

  it('tolerates surrounding whitespace', () => {
    expect(checkEnrichable('ip', ' 8.8.8.8 ').enrichable).toBe(true);
  });
});

describe('domains', () => {
  it.each<[string, boolean]>([
    ['evil.example.com', true],
    ['c2-server.evil.com', true],
    ['WORKSTATION-01.corp.com', true],
    ['AAD-SIGNIN-SVC.contoso.com', true],
    ['suspicious-cloud-sync.com', true],
    ['c2-relay.darkops.net', true],
    ['corp.example.com', true],
    ['EVIL.COM', true],
    ['evil.com.', true],
    ['_dmarc.evil.com', true],
    ['xn--80ak6aa92e.com', true],
    ['bücher.de', true],
    ['8.8.8.8', true],
    ['host.local', false],
    ['db.internal', false],
    ['printer.lan', false],
    ['nas.home.arpa', false],
    ['dc01.corp', false],
    ['app.intranet', false],
    ['router.home', false],
    ['foo.test', false],
    ['foo.example', false],
    ['foo.invalid', false],
    ['dev.localhost', false],
    ['55.0.0.10.in-addr.arpa', false],
    ['proxy.alt', false],
    ['localhost', false],
    ['WORKSTATION-01', false],
    ['example', false],
    ['10.0.0.1', false],
    ['bad..name.com', false],
    ['-bad.com', false],
    ['bad-.com', false],
    ['spa ce.com', false],
    ['1.2.3.999', false],
    [`${'a'.repeat(64)}.com`, false],
  ])('%s → %s', (domain, expected) => {
    expect(checkEnrichable('domain', domain).enrichable).toBe(expected);
  });

  it('gives reasons', () => {
    expect(checkEnrichable('domain', 'nas.home.arpa')).toEqual({
      enrichable: false,
      reason: 'internal domain (.arpa)',
    });
    expect(checkEnrichable('domain', 'WORKSTATION-01').reason).toBe("single-label hostname 'workstation-01'");
    expect(checkEnrichable('domain', 'bad..name.com').reason).toBe('invalid domain name');
  });

  it('takes configurable extra internal suffixes', () => {
    const options = { internalDomainSuffixes: ['.Corp.Acme.com.', 'ad.acme.io'] };
    expect(checkEnrichable('domain', 'dc1.corp.acme.com', options)).toEqual({
      enrichable: false,
      reason: 'internal domain (.corp.acme.com)',
    });
    expect(checkEnrichable('domain', 'ad.acme.io', options).enrichable).toBe(false);
    expect(checkEnrichable('domain', 'bad.acme.io', options).enrichable).toBe(true);
    expect(checkEnrichable('domain', 'notcorp.acme.com', options).enrichable).toBe(true);
    expect(checkEnrichable('domain', 'acme.com', options).enrichable).toBe(true);
  });
});

describe('URLs', () => {
  it.each<[string, boolean]>([
    ['https://evil.example.com/payload/stage2.ps1', true],
    ['https://suspicious-cloud-sync.com/api/v2/upload', true],
    ['https://portal.azure.com', true],
    ['http://185.220.101.32:8443/x', true],
    ['http://[2606:4700:4700::1111]/', true],
    ['hxxp://evil.com/x', true],
    ['http://10.0.0.1/admin', false],
    ['http://[fe80::1]/', false],
    ['http://[::ffff:127.0.0.1]/', false],
    ['http://0x7f.1/', false],
    ['http://2130706433/', false],
    ['http://intranet.corp/x', false],
    ['http://localhost:8080/', false],
    ['https://wiki/page', false],
    ['https://x.corp.acme.com/', false],
    ['not a url', false],
    ['evil.com/path', false],
    ['mailto:a@b.com', false],
    ['file:///etc/passwd', false],
  ])('%s → %s', (value, expected) => {
    expect(checkEnrichable('url', value, { internalDomainSuffixes: ['corp.acme.com'] }).enrichable).toBe(expected);
  });

  it('says which part of the URL was refused', () => {
    expect(checkEnrichable('url', 'http://10.0.0.1/admin').reason).toBe(
      'URL host: non-global IP address: Private-Use (RFC 1918) 10.0.0.0/8',
    );
    expect(checkEnrichable('url', 'mailto:a@b.com').reason).toBe('URL has no hostname');
    expect(checkEnrichable('url', 'nope').reason).toBe('invalid URL');
  });
});

describe('hashes, emails, accounts', () => {
  it.each<[Parameters<typeof checkEnrichable>[0], string, boolean]>([
    ['hash_md5', 'd41d8cd98f00b204e9800998ecf8427e', true],
    ['hash_md5', 'D41D8CD98F00B204E9800998ECF8427E', true],
    ['hash_md5', 'd41d8cd98f00b204e9800998ecf8427', false],
    ['hash_md5', 'z41d8cd98f00b204e9800998ecf8427e', false],
    ['hash_md5', 'da39a3ee5e6b4b0d3255bfef95601890afd80709', false],
    ['hash_sha1', 'da39a3ee5e6b4b0d3255bfef95601890afd80709', true],
    ['hash_sha1', 'd41d8cd98f00b204e9800998ecf8427e', false],
    ['hash_sha256', 'a1b2c3d4e5f6789012345678901234567890abcdef1234567890abcdef123456', true],
    ['hash_sha256', 'de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c', true],
    ['hash_sha256', 'de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32', false],
    ['email', 'jdoe@corp.com', true],
    ['email', 'admin@acmeinc.com', true],
    ['account', 'SYSTEM', true],
    ['account', 'j.martinez@contoso.com', true],
    ['account', '   ', false],
    ['email', '', false],
    // Identity lookups put the value in a URL path: dot segments and separators never reach them.
    ['account', '.', false],
    ['account', '..', false],
    ['account', ' ... ', false],
    ['account', '../admin', false],
    ['account', 'user?x=1', false],
    ['account', 'a\u0000b', false],
    ['account', 'x'.repeat(257), false],
    ['account', 'CONTOSO\\jdoe', true],
    ['account', 'jdoe.admin', true],
    ['email', 'jdoe@corp.local', true], // internal mail domains are what identity providers know
    ['email', '..@corp.com', false],
    ['email', 'a@b@corp.com', false],
    ['email', '@corp.com', false],
    ['email', 'jdoe@', false],
    ['email', 'jdoe@localhost', false],
    ['email', 'j/doe@corp.com', false],
    ['email', 'j doe@corp.com', false],
    ['email', `${'x'.repeat(65)}@corp.com`, false],
  ])('%s %s → %s', (type, value, expected) => {
    expect(checkEnrichable(type, value).enrichable).toBe(expected);
  });

  it('says why an account or email is refused', () => {
    expect(checkEnrichable('account', '..').reason).toBe("account name '..' is a URL dot segment");
    expect(checkEnrichable('email', 'nope').reason).toBe('not a valid email address');
  });

  it('names the hash kind in the reason', () => {
    expect(checkEnrichable('hash_sha1', 'abc').reason).toBe('not a 40-character hex SHA1 hash');
  });
});
