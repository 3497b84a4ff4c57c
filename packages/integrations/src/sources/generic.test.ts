import { createHmac } from 'node:crypto';
import { NormalizedAlertSchema } from '@calseta/schema';
import { describe, expect, it } from 'vitest';
import { genericSource as generic } from './generic.js';

function pairs(raw: unknown): string[] {
  return generic.extractIndicators(raw).map((i) => `${i.type} ${i.value} ${i.source_field}`);
}

const FULL = {
  title: 'Impossible login',
  severity: 'HIGH',
  occurred_at: '2024-01-15T10:29:50+01:00',
  description: 'Login from two continents within 5 minutes',
  tags: ['identity', 7, '', null],
  rule_id: 'idp-42',
  rule_name: 'Impossible login',
  rule_description: 'Two logins too far apart',
  mitre_tactics: ['TA0001'],
  mitre_techniques: ['T1078'],
  indicators: [
    { type: 'IP', value: ' 203.0.113.7 ' },
    { type: 'bogus', value: 'x' },
    { type: 'domain', value: '' },
    { type: 'url', value: 5 },
    'junk',
    { value: '1.1.1.1' },
    { type: 'email', value: 'alice@corp.example' },
  ],
  src_ip: '203.0.113.7',
  dest_ip: '10.0.0.5',
  hostname: 'vpn.corp.example',
  user: 'alice',
  sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  login_count: 2,
  minutes_apart: 5,
  nested: { not: 'kept' },
  extra: { geo: { first: 'Paris', second: 'Sydney' }, login_count: 3 },
};

describe('generic: a complete payload', () => {
  it('validates', () => {
    expect(generic.validate(FULL)).toEqual({ ok: true });
  });

  it('normalizes', () => {
    const alert = generic.normalize(FULL);
    expect(alert.title).toBe('Impossible login');
    expect(alert.severity).toBe('High');
    expect(alert.occurred_at).toBe('2024-01-15T09:29:50.000Z');
    expect(alert.source_name).toBe('generic');
    expect(alert.description).toBe('Login from two continents within 5 minutes');
    expect(alert.tags).toEqual(['identity', '7']);
    expect(() => NormalizedAlertSchema.parse(alert)).not.toThrow();
  });

  it('extracts explicit indicators first, then the top-level fields, deduplicated', () => {
    expect(pairs(FULL)).toEqual([
      'ip 203.0.113.7 indicators[]',
      'email alice@corp.example indicators[]',
      'ip 10.0.0.5 dest_ip',
      'domain vpn.corp.example hostname',
      'account alice user',
      'hash_sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 sha256',
    ]);
  });

  it('fills the normalized indicator fields from the same fields', () => {
    expect(generic.normalize(FULL)).toMatchObject({
      src_ip: '203.0.113.7',
      dst_ip: '10.0.0.5',
      src_hostname: 'vpn.corp.example',
      actor_username: 'alice',
      file_hash_sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    });
  });

  it('keeps leftover top-level facts and the sender extra (which wins) in extra', () => {
    expect(generic.normalize(FULL).extra).toEqual({
      login_count: 3,
      minutes_apart: 5,
      mitre_tactics: ['TA0001'],
      mitre_techniques: ['T1078'],
      geo: { first: 'Paris', second: 'Sydney' },
    });
  });

  it('describes the rule', () => {
    expect(generic.detectionRule?.(FULL)).toEqual({
      source_rule_id: 'idp-42',
      name: 'Impossible login',
      description: 'Two logins too far apart',
      mitre_tactics: ['TA0001'],
      mitre_techniques: ['T1078'],
    });
  });
});

describe('generic: validate', () => {
  it.each([null, [], 'title', 3, false])('rejects the non-object %j', (value) => {
    const res = generic.validate(value);
    expect(res.ok).toBe(false);
    expect(!res.ok && res.issues[0]?.path).toBe('');
  });

  it('needs a non-empty title', () => {
    const expected = {
      ok: false,
      issues: [
        {
          path: 'title',
          message:
            'Generic webhook payloads need a non-empty title (or one of name, alert_name, alertName, rule_name, rule.name, event.DetectName, DetectName, summary)',
        },
      ],
    };
    expect(generic.validate({})).toEqual(expected);
    expect(generic.validate({ title: '   ' })).toEqual(expected);
    expect(generic.validate({ title: { text: 'x' } })).toEqual(expected);
    expect(generic.validate({ title: 'ok' })).toEqual({ ok: true });
    // A vendor document forwarded as is: its own title key.
    expect(generic.validate({ name: 'Large Upload (Generic)' })).toEqual({ ok: true });
    expect(generic.validate({ event: { DetectName: 'Overwatch Detection' } })).toEqual({ ok: true });
  });
});

describe('generic: normalize edge cases', () => {
  it('has null description and empty tags when absent', () => {
    const alert = generic.normalize({ title: 'T', tags: 'not-a-list' });
    expect(alert.description).toBeNull();
    expect(alert.tags).toEqual([]);
    expect(alert.extra).toEqual({});
  });

  it('maps severities case-insensitively, pending included; an unreadable one is flagged, not Pending', () => {
    const severity = (value: unknown) => generic.normalize({ title: 'T', severity: value }).severity;
    expect(severity('critical')).toBe('Critical');
    expect(severity('Medium')).toBe('Medium');
    expect(severity('low')).toBe('Low');
    expect(severity('INFO')).toBe('Informational');
    expect(severity('informational')).toBe('Informational');
    expect(severity('pending')).toBe('Pending');
    expect(severity(undefined)).toBe('Pending');
    expect(severity('Crit')).toBe('Critical');
    expect(severity(4)).toBe('High');
    expect(generic.normalize({ title: 'T', risk_score: 73 }).severity).toBe('High');
    expect(generic.normalize({ title: 'T', event: { SeverityName: 'Critical', Severity: 5 } }).severity).toBe(
      'Critical',
    );
    for (const odd of ['sev1', 'constructor']) {
      expect(generic.normalize({ title: 'T', severity: odd })).toMatchObject({
        severity: 'Medium',
        severity_raw: odd,
        severity_unmapped: true,
      });
    }
  });

  it('reads naive timestamps as UTC, accepts epochs, and gives null (not now) otherwise', () => {
    const at = (value: unknown) => generic.normalize({ title: 'T', occurred_at: value }).occurred_at;
    expect(at('2024-01-15T10:29:50')).toBe('2024-01-15T10:29:50.000Z');
    expect(at('2024-01-15 10:29:50Z')).toBe('2024-01-15T10:29:50.000Z');
    expect(at(1705314590)).toBe('2024-01-15T10:29:50.000Z');
    expect(at(undefined)).toBeNull();
    expect(at('15/01/2024')).toBeNull();
    expect(at({})).toBeNull();
  });

  it('accepts the normalized field names directly, before the aliases', () => {
    const alert = generic.normalize({
      title: 'T',
      src_ip: '1.1.1.1',
      source_ip: '9.9.9.9',
      destination_ip: '2.2.2.2',
      dst_hostname: 'srv.example',
      file_hash_md5: 'd41d8cd98f00b204e9800998ecf8427e',
      sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
      email: 'bob@corp.example',
      username: 'bob',
      url: 'https://x.example/p',
      dns_query: 'q.example',
      http_hostname: 'x.example',
      email_from: 'from@evil.example',
      email_reply_to: 'reply@evil.example',
    });
    expect(alert).toMatchObject({
      src_ip: '1.1.1.1',
      dst_ip: '2.2.2.2',
      dst_hostname: 'srv.example',
      file_hash_md5: 'd41d8cd98f00b204e9800998ecf8427e',
      file_hash_sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
      actor_email: 'bob@corp.example',
      actor_username: 'bob',
      http_url: 'https://x.example/p',
      dns_query: 'q.example',
      http_hostname: 'x.example',
      email_from: 'from@evil.example',
      email_reply_to: 'reply@evil.example',
    });
    expect(alert.extra).toEqual({});
  });

  it('extracts every documented top-level field', () => {
    const raw = {
      title: 'T',
      src_ip: '1.0.0.1',
      dest_ip: '1.0.0.2',
      source_ip: '1.0.0.3',
      destination_ip: '1.0.0.4',
      ip: '1.0.0.5',
      domain: 'a.example',
      hostname: 'b.example',
      url: 'https://c.example/',
      user: 'u1',
      username: 'u2',
      email: 'e@d.example',
      md5: 'm',
      sha1: 's1',
      sha256: 's256',
      hash: 'h',
    };
    expect(pairs(raw)).toEqual([
      'ip 1.0.0.1 src_ip',
      'ip 1.0.0.2 dest_ip',
      'ip 1.0.0.3 source_ip',
      'ip 1.0.0.4 destination_ip',
      'ip 1.0.0.5 ip',
      'domain a.example domain',
      'domain b.example hostname',
      'url https://c.example/ url',
      'account u1 user',
      'account u2 username',
      'email e@d.example email',
      'hash_md5 m md5',
      'hash_sha1 s1 sha1',
      'hash_sha256 s256 sha256',
      'hash_sha256 h hash',
    ]);
  });

  it('ignores non-string top-level values and a non-array indicators field', () => {
    expect(pairs({ title: 'T', src_ip: 12, user: ['a'], indicators: { type: 'ip', value: '1.1.1.1' } })).toEqual([]);
    // Our own shape is read only where the contract says; nested keys are left to mappings.
    expect(pairs({ title: 'T', custom: { attacker_ip: '203.0.113.50' } })).toEqual([]);
  });

  it('reads indicator-named keys anywhere, never identifier keys', () => {
    expect(
      pairs({
        name: 'Vendor alert',
        metadata: { customerIDString: '46de5283260647ec8f28def00bffd094' },
        event: {
          HostGroups: '6252fc7505974dc38abfef73269b8deb',
          SHA256String: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
          UserName: 'Administrator',
          ProcessId: 22164474048,
        },
        host_ip: ['1.2.3.4'],
        events: [{ user_name: 'JDOE', contains_featured_ip: 'NO', tenant_md5: '0'.repeat(32) }],
      }),
    ).toEqual([
      'hash_sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855 event.SHA256String',
      'account Administrator event.UserName',
      'ip 1.2.3.4 host_ip',
      'account JDOE events.0.user_name',
    ]);
  });

  it('stays bounded on deep and wide documents', () => {
    let deep: Record<string, unknown> = { src_ip: '9.9.9.9' };
    for (let i = 0; i < 10_000; i++) deep = { a: deep };
    const wide = Object.fromEntries(Array.from({ length: 50_000 }, (_, i) => [`k${i}_ip`, '1.1.1.1']));
    const started = performance.now();
    expect(pairs({ name: 'T', deep })).toEqual([]);
    expect(pairs({ name: 'T', wide }).length).toBe(1);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('names the rule from rule_id, else rule_name; null without either', () => {
    expect(generic.detectionRule?.({ title: 'T', rule_name: 'Brute force' })).toEqual({
      source_rule_id: 'Brute force',
      name: 'Brute force',
    });
    expect(generic.detectionRule?.({ title: 'T', rule_id: 17 })).toEqual({ source_rule_id: '17' });
    expect(generic.detectionRule?.({ title: 'T' })).toBeNull();
  });
});

describe('generic: verifySignature', () => {
  const body = new TextEncoder().encode('{"title":"T"}');
  const secret = 'generic-secret';
  const good = createHmac('sha256', secret).update(body).digest('hex');
  const verify = (headers: Record<string, string>) => generic.verifySignature?.({ headers, rawBody: body, secret });

  it('accepts the hex HMAC-SHA256 of the raw body in x-calseta-signature', () => {
    expect(verify({ 'x-calseta-signature': good })).toBe(true);
    expect(verify({ 'x-calseta-signature': `sha256=${good}` })).toBe(true);
  });

  it('rejects a wrong or missing signature', () => {
    expect(verify({ 'x-calseta-signature': '0'.repeat(64) })).toBe(false);
    expect(verify({ 'x-calseta-signature': 'not-hex' })).toBe(false);
    expect(verify({})).toBe(false);
  });
});
