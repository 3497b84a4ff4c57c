import { describe, expect, it } from 'vitest';
import { checkIndicator, isIdentifierField, isPrivateIp } from './indicator-check.js';

const MD5 = 'd41d8cd98f00b204e9800998ecf8427e';
const SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';
const SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

function reason(type: Parameters<typeof checkIndicator>[0], value: unknown, field = '') {
  const r = checkIndicator(type, value, field);
  return r.ok ? 'ok' : r.reason;
}

describe('checkIndicator', () => {
  it('hashes: exact hex length per type; truncated, wrong-type and placeholder values refused', () => {
    expect(reason('hash_md5', MD5)).toBe('ok');
    expect(reason('hash_md5', MD5.toUpperCase())).toBe('ok');
    expect(checkIndicator('hash_md5', MD5.toUpperCase())).toEqual({ ok: true, value: MD5 }); // one spelling
    expect(reason('hash_sha1', SHA1)).toBe('ok');
    expect(reason('hash_sha256', SHA256)).toBe('ok');
    expect(reason('hash_sha256', 'a1c3a3d3522ff153a4')).toBe('hash_length'); // Cortex XDR, truncated
    expect(reason('hash_md5', SHA256)).toBe('hash_length');
    expect(reason('hash_sha256', `${SHA256}0`)).toBe('hash_length');
    expect(reason('hash_md5', 'fake md5')).toBe('hash_not_hex');
    expect(reason('hash_sha1', '0'.repeat(40))).toBe('hash_placeholder'); // Falcon's all-zero SHA1
    expect(reason('hash_md5', 'f'.repeat(32))).toBe('hash_placeholder');
  });

  it('hash-looking identifiers from identifier fields are refused', () => {
    const cid = '46de5283260647ec8f28def00bffd094';
    expect(reason('hash_md5', cid, 'raw_payload.metadata.customerIDString')).toBe('id_field');
    expect(reason('hash_md5', cid, 'raw_payload.event.HostGroups')).toBe('id_field');
    expect(reason('hash_md5', cid, 'raw_payload.tenant_id')).toBe('id_field');
    expect(reason('hash_md5', cid, 'raw_payload.TenantId')).toBe('id_field');
    expect(reason('hash_md5', cid, 'raw_payload.event.MD5String')).toBe('ok');
    expect(reason('hash_sha256', SHA256, 'raw_payload.actor_process_image_sha256')).toBe('ok');
    expect(isIdentifierField('normalized.file_hash_md5')).toBe(false);
    expect(isIdentifierField('Entities.3.hashValue')).toBe(false);
  });

  it('domains need a dot, LDH labels and a non-numeric TLD; IDNs are fine', () => {
    expect(reason('domain', 'evil.example.com')).toBe('ok');
    expect(reason('domain', 'WIN2K16-DNS.corp.local')).toBe('ok');
    expect(reason('domain', 'bücher.example')).toBe('ok');
    expect(reason('domain', '_ldap._tcp.dc.corp.local')).toBe('ok');
    expect(reason('domain', 'WIN2K16-DNS-ARY')).toBe('domain_invalid');
    expect(reason('domain', '2023-2024')).toBe('domain_invalid');
    expect(reason('domain', '10.0.0.1')).toBe('domain_invalid');
    expect(reason('domain', '-bad.example.com')).toBe('domain_invalid');
    expect(reason('domain', 'a..b.com')).toBe('domain_invalid');
    expect(reason('domain', 'has space.com')).toBe('domain_invalid');
    expect(reason('domain', `${'a'.repeat(64)}.com`)).toBe('domain_invalid');
    expect(reason('domain', `${'a.'.repeat(130)}com`)).toBe('too_long');
  });

  it('IPs are parsed (v4 and v6); private ranges are valid indicators', () => {
    expect(reason('ip', '185.220.101.32')).toBe('ok');
    expect(reason('ip', '2001:db8::1')).toBe('ok');
    expect(reason('ip', '10.0.0.5')).toBe('ok');
    expect(reason('ip', '999.1.1.1')).toBe('ip_invalid');
    expect(reason('ip', '10.0.0')).toBe('ip_invalid');
    expect(reason('ip', 'N/A')).toBe('placeholder');
    for (const unspecified of ['0.0.0.0', '::', '255.255.255.255'])
      expect(reason('ip', unspecified)).toBe('placeholder');
    expect(isPrivateIp('10.0.0.5')).toBe(true);
    expect(isPrivateIp('172.20.1.1')).toBe(true);
    expect(isPrivateIp('fd00::1')).toBe(true);
    expect(isPrivateIp('185.220.101.32')).toBe(false);
  });

  it('emails, URLs and accounts', () => {
    expect(reason('email', 'jdoe@corp.com')).toBe('ok');
    expect(reason('email', 'first.last+tag@sub.example.org')).toBe('ok');
    expect(reason('email', 'jdoe@corp')).toBe('email_invalid');
    expect(reason('email', 'a@b@c.com')).toBe('email_invalid');
    expect(reason('email', '.x@corp.com')).toBe('email_invalid');
    expect(reason('email', `${'a'.repeat(5000)}@`)).toBe('too_long');
    expect(reason('url', 'https://evil.example.com/stage2.ps1?x=1')).toBe('ok');
    expect(reason('url', 'ftp://198.51.100.7/drop.bin')).toBe('ok');
    expect(reason('url', 'javascript:alert(1)')).toBe('url_invalid');
    expect(reason('url', 'not a url')).toBe('url_invalid');
    expect(reason('url', `https://x.example/${'a'.repeat(3000)}`)).toBe('too_long');
    expect(reason('url', `https://x.example/${'é'.repeat(1100)}`)).toBe('too_long'); // bytes, not characters
    expect(reason('account', 'CORP\\jdoe')).toBe('ok');
    expect(reason('account', '..')).toBe('account_invalid');
    expect(reason('account', '.')).toBe('account_invalid');
    expect(reason('account', 'a\u0007b')).toBe('control_characters');
    expect(reason('account', '   ')).toBe('empty');
    expect(reason('account', null)).toBe('empty');
  });

  it('stays linear on hostile input', () => {
    const started = performance.now();
    for (const type of ['domain', 'email', 'url', 'account', 'hash_sha256', 'ip'] as const) {
      checkIndicator(type, `${'a.'.repeat(50_000)}@${'-'.repeat(50_000)}`);
      checkIndicator(type, 'a'.repeat(100_000));
    }
    expect(performance.now() - started).toBeLessThan(500);
  });
});
