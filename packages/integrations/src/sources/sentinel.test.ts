import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { NormalizedAlertSchema } from '@calseta/schema';
import { describe, expect, it } from 'vitest';
import { describeCorpus } from './corpus-indicators.js';
import { sentinelSource as sentinel } from './sentinel.js';

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
}

/** A minimal incident with the given properties and entities. */
function incident(properties: Record<string, unknown>, entities?: unknown): Record<string, unknown> {
  return entities === undefined ? { properties } : { properties, Entities: entities };
}

function pairs(raw: unknown): string[] {
  return sentinel.extractIndicators(raw).map((i) => `${i.type} ${i.value} ${i.source_field}`);
}

describe('sentinel: tests/fixtures/sentinel_alert.json', () => {
  const raw = fixture('sentinel_alert.json');

  it('validates', () => {
    expect(sentinel.validate(raw)).toEqual({ ok: true });
  });

  it('normalizes title, severity, time, description and tags', () => {
    const alert = sentinel.normalize(raw);
    expect(alert.title).toBe('Suspicious PowerShell Execution on WORKSTATION-01');
    expect(alert.severity).toBe('High');
    expect(alert.occurred_at).toBe('2024-01-15T10:29:50.000Z');
    expect(alert.source_name).toBe('sentinel');
    expect(alert.description).toBe('Multiple suspicious PowerShell commands were executed with encoded arguments.');
    expect(alert.tags).toEqual(['powershell', 'endpoint']);
    expect(() => NormalizedAlertSchema.parse(alert)).not.toThrow();
  });

  it('extracts the Pass-1 indicators in entity order', () => {
    expect(pairs(raw)).toEqual([
      'ip 10.0.0.55 Entities.ip',
      'ip 185.220.101.32 Entities.ip',
      'account jdoe@corp.com Entities.account',
      'domain WORKSTATION-01.corp.com Entities.host',
      'hash_sha256 a1b2c3d4e5f6789012345678901234567890abcdef1234567890abcdef123456 Entities.filehash',
      'hash_md5 d41d8cd98f00b204e9800998ecf8427e Entities.filehash',
    ]);
  });

  it('fills the normalized indicator fields from the first entity of each kind', () => {
    const alert = sentinel.normalize(raw);
    expect(alert.src_ip).toBe('10.0.0.55');
    expect(alert.dst_ip).toBeUndefined();
    expect(alert.src_hostname).toBe('WORKSTATION-01.corp.com');
    expect(alert.actor_username).toBe('jdoe@corp.com');
    expect(alert.file_hash_sha256).toBe('a1b2c3d4e5f6789012345678901234567890abcdef1234567890abcdef123456');
    expect(alert.file_hash_md5).toBe('d41d8cd98f00b204e9800998ecf8427e');
    expect(alert.file_hash_sha1).toBeUndefined();
    expect(Object.values(alert)).not.toContain(undefined);
  });

  it('keeps incident facts in extra', () => {
    const extra = sentinel.normalize(raw).extra ?? {};
    expect(extra).toMatchObject({
      incident_id: 'incident-uuid-001',
      incident_number: 12345,
      incident_url: 'https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/incident/incident-uuid-001',
      status: 'New',
      provider_name: 'Azure Sentinel',
      alerts_count: 2,
      first_activity_time: '2024-01-15T10:29:50.000Z',
      last_activity_time: '2024-01-15T10:32:00.000Z',
      activity_duration_seconds: 130,
      alert_product_names: ['Microsoft Defender for Endpoint'],
      mitre_tactics: ['Execution', 'DefenseEvasion'],
      entity_counts: { ip: 2, account: 1, host: 1, filehash: 2 },
      hosts: [{ hostname: 'WORKSTATION-01.corp.com' }],
      accounts: [{ name: 'jdoe@corp.com' }],
    });
    // Null source values (classification, owner) are left out rather than copied as null.
    expect(extra).not.toHaveProperty('classification');
    expect(extra).not.toHaveProperty('owner');
  });

  it('names the detection rule after the last segment of the first related analytic rule id', () => {
    expect(sentinel.detectionRule?.(raw)).toEqual({
      source_rule_id: 'rule-uuid-abc123',
      name: 'Suspicious PowerShell Execution on WORKSTATION-01',
      severity: 'High',
      mitre_tactics: ['Execution', 'DefenseEvasion'],
    });
  });
});

describe('sentinel: case-study fixtures', () => {
  it('01_sentinel_brute_force_tor.json', () => {
    const raw = fixture('01_sentinel_brute_force_tor.json');
    expect(sentinel.validate(raw)).toEqual({ ok: true });
    const alert = sentinel.normalize(raw);
    expect(alert.title).toBe('Brute force sign-in attempts from TOR network detected');
    expect(alert.severity).toBe('High');
    expect(alert.occurred_at).toBe('2026-03-01T14:23:11.000Z');
    expect(alert.tags).toEqual(['TOR', 'BruteForce', 'IdentityThreat']);
    expect(alert.description).toMatch(/^Multiple failed sign-in attempts detected/);
    expect(pairs(raw)).toEqual([
      'account j.martinez@contoso.com Entities.account',
      'ip 185.220.101.34 Entities.ip',
      'domain AAD-SIGNIN-SVC.contoso.com Entities.host',
    ]);
    expect(alert).toMatchObject({
      src_ip: '185.220.101.34',
      src_hostname: 'AAD-SIGNIN-SVC.contoso.com',
      actor_username: 'j.martinez@contoso.com',
    });
    expect(alert.extra).toMatchObject({
      incident_number: 48291,
      activity_duration_seconds: 936,
      mitre_techniques: ['T1110', 'T1110.001'],
      accounts: [{ name: 'j.martinez@contoso.com', display_name: 'Julia Martinez' }],
      ips: [{ address: '185.220.101.34', country: 'Germany', city: 'Frankfurt am Main' }],
      hosts: [{ hostname: 'AAD-SIGNIN-SVC.contoso.com', os_family: 'Windows' }],
    });
    expect(sentinel.detectionRule?.(raw)).toEqual({
      source_rule_id: 'c9a7e4d2-3b1f-4e8a-9c6d-f0123456789a',
      name: 'Brute force sign-in attempts from TOR network detected',
      severity: 'High',
      mitre_tactics: ['InitialAccess', 'CredentialAccess'],
      mitre_techniques: ['T1110', 'T1110.001'],
    });
  });

  it('04_sentinel_impossible_travel.json', () => {
    const raw = fixture('04_sentinel_impossible_travel.json');
    expect(sentinel.validate(raw)).toEqual({ ok: true });
    const alert = sentinel.normalize(raw);
    expect(alert.title).toBe('Impossible travel activity detected for user r.chen@contoso.com');
    expect(alert.severity).toBe('High');
    expect(alert.occurred_at).toBe('2026-03-01T09:15:22.000Z');
    expect(alert.tags).toEqual(['ImpossibleTravel', 'IdentityThreat', 'HighPrivilege', 'GlobalAdmin']);
    expect(pairs(raw)).toEqual([
      'account r.chen@contoso.com Entities.account',
      'ip 91.234.56.78 Entities.ip',
      'ip 203.0.113.25 Entities.ip',
      'domain RChen-Laptop.contoso.com Entities.host',
      'url https://portal.azure.com Entities.url',
    ]);
    expect(alert).toMatchObject({
      src_ip: '91.234.56.78',
      src_hostname: 'RChen-Laptop.contoso.com',
      actor_username: 'r.chen@contoso.com',
      http_url: 'https://portal.azure.com',
    });
    // Both sign-in locations and the 32-minute gap survive: that is the whole case.
    expect(alert.extra).toMatchObject({
      first_activity_time: '2026-03-01T09:15:22.000Z',
      last_activity_time: '2026-03-01T09:47:33.000Z',
      activity_duration_seconds: 1931,
      entity_counts: { account: 1, ip: 2, host: 1, url: 1 },
      ips: [
        { address: '91.234.56.78', country: 'Russia', city: 'Moscow' },
        { address: '203.0.113.25', country: 'United States', city: 'New York' },
      ],
      hosts: [{ hostname: 'RChen-Laptop.contoso.com', os_family: 'Windows', os_version: '11.0.22631' }],
    });
    expect(sentinel.detectionRule?.(raw)).toMatchObject({
      source_rule_id: 'e7f8a9b0-c1d2-4e3f-a5b6-c7d8e9f01234',
      name: 'Impossible travel activity detected for user r.chen@contoso.com',
      mitre_techniques: ['T1078', 'T1078.004'],
    });
  });
});

describe('sentinel: validate', () => {
  it.each([null, [], 'incident', 42, true])('rejects the non-object %j', (value) => {
    const res = sentinel.validate(value);
    expect(res.ok).toBe(false);
    expect(!res.ok && res.issues[0]?.path).toBe('');
  });

  it('rejects a payload with neither a title nor a severity, in any shape', () => {
    const missing = (path: string) => ({
      ok: false,
      issues: [
        {
          path,
          message:
            'Sentinel payloads need a title or a severity: properties.title (incident), AlertDisplayName (alert), ' +
            'title (Graph alert) or alertDisplayName (custom playbook body)',
        },
      ],
    });
    expect(sentinel.validate({ Entities: [] })).toEqual(missing('title'));
    expect(sentinel.validate({ properties: 'x' })).toEqual(missing('title'));
    expect(sentinel.validate(incident({}))).toEqual(missing('properties.title'));
    expect(sentinel.validate(incident({ title: '  ', severity: '' }))).toEqual(missing('properties.title'));
    expect(sentinel.validate({ object: { properties: { status: 'New' } } })).toEqual(missing('properties.title'));
  });

  it('accepts a title or a severity in every documented shape', () => {
    expect(sentinel.validate(incident({ title: 'T' }))).toEqual({ ok: true });
    expect(sentinel.validate(incident({ severity: 'Low' }))).toEqual({ ok: true });
    expect(sentinel.validate({ object: { properties: { title: 'T' } } })).toEqual({ ok: true });
    expect(sentinel.validate({ AlertDisplayName: 'A' })).toEqual({ ok: true });
    expect(sentinel.validate({ alert_display_name: 'A' })).toEqual({ ok: true });
    expect(sentinel.validate({ title: 'Graph', evidence: [] })).toEqual({ ok: true });
  });
});

describe('sentinel: normalize edge cases', () => {
  it('reads severities as a person would: any case, Critical, numbers; Pending only when none is given', () => {
    const severity = (value: unknown) => sentinel.normalize(incident({ title: 'T', severity: value })).severity;
    expect(severity('High')).toBe('High');
    expect(severity('HIGH')).toBe('High');
    expect(severity('medium')).toBe('Medium');
    expect(severity('Low')).toBe('Low');
    expect(severity('Informational')).toBe('Informational');
    expect(severity('Critical')).toBe('Critical');
    expect(severity(3)).toBe('Medium');
    expect(severity('None')).toBe('Pending');
    expect(severity(undefined)).toBe('Pending');
    // Present but unreadable: visible (Medium) and flagged, never silently demoted; prototype words stay data.
    for (const word of ['bogus', 'constructor']) {
      const alert = sentinel.normalize(incident({ title: 'T', severity: word }));
      expect(alert.severity).toBe('Medium');
      expect(alert).toMatchObject({ severity_raw: word, severity_unmapped: true });
    }
  });

  it('uses createdTimeUtc when firstActivityTimeUtc is missing or unparseable, and null (not now) when neither parses', () => {
    const at = (props: Record<string, unknown>) => sentinel.normalize(incident({ title: 'T', ...props })).occurred_at;
    expect(at({ createdTimeUtc: '2024-01-15T10:35:00Z' })).toBe('2024-01-15T10:35:00.000Z');
    expect(at({ firstActivityTimeUtc: 'yesterday', createdTimeUtc: '2024-01-15T10:35:00Z' })).toBe(
      '2024-01-15T10:35:00.000Z',
    );
    expect(at({})).toBeNull();
    expect(at({ firstActivityTimeUtc: 'not a date', createdTimeUtc: {} })).toBeNull();
  });

  it('falls back to a default title and null description', () => {
    const alert = sentinel.normalize(incident({ severity: 'Low' }));
    expect(alert.title).toBe('Untitled Sentinel Incident');
    expect(alert.description).toBeNull();
    expect(alert.tags).toEqual([]);
  });

  it('reads PascalCase and camelCase entity keys, skips junk and deduplicates', () => {
    const raw = incident({ title: 'T' }, [
      'not an entity',
      null,
      { type: 'IP', address: '2001:db8::1' },
      { Type: 'account', Name: 'alice' },
      { type: 'account', name: 'bob', upnSuffix: 'corp.example' },
      { type: 'host', hostName: 'pc-7' },
      { type: 'url', url: 'https://x.example/a' },
      { type: 'FileHash', algorithm: 'sha1', value: 'da39a3ee5e6b4b0d3255bfef95601890afd80709' },
      { Type: 'filehash', Algorithm: 'SHA512', Value: 'abc' },
      { Type: 'ip', Address: '2001:db8::1' },
      { Type: 'ip', Address: 12345 },
      { Type: 'process', ProcessId: '1' },
      { Address: '9.9.9.9' },
    ]);
    expect(pairs(raw)).toEqual([
      'ip 2001:db8::1 Entities.ip',
      'account alice Entities.account',
      'account bob@corp.example Entities.account',
      'url https://x.example/a Entities.url',
      'hash_sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 Entities.filehash',
    ]);
    const alert = sentinel.normalize(raw);
    expect(alert.file_hash_sha1).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    // A bare host name is not a domain, but it still names the host.
    expect(alert.src_hostname).toBe('pc-7');
  });

  it('fills email and DNS fields from mailbox, mail message and DNS entities', () => {
    const alert = sentinel.normalize(
      incident({ title: 'Phish' }, [
        { Type: 'mailbox', MailboxPrimaryAddress: 'victim@corp.example' },
        { Type: 'mailMessage', Sender: 'attacker@evil.example' },
        { Type: 'dns', DomainName: 'evil.example' },
      ]),
    );
    expect(alert).toMatchObject({
      actor_email: 'victim@corp.example',
      email_from: 'attacker@evil.example',
      dns_query: 'evil.example',
    });
  });

  it('ignores a non-array Entities and non-object labels', () => {
    const raw = { properties: { title: 'T', labels: ['x', { labelName: 'ok' }, { labelName: '' }] }, Entities: {} };
    expect(sentinel.extractIndicators(raw)).toEqual([]);
    expect(sentinel.normalize(raw).tags).toEqual(['ok']);
  });
});

describe('sentinel: the shapes a playbook really sends', () => {
  const corpus = (name: string): Record<string, unknown> =>
    JSON.parse(readFileSync(new URL(`../../corpus/sentinel/${name}.json`, import.meta.url), 'utf8')) as Record<
      string,
      unknown
    >;

  it('reads a custom playbook body built from the alert trigger (flat keys, incidentNumber a string)', () => {
    // The shape of the real-world body (SEKOIA-IO/intake-formats sentinel_alert.json), reduced.
    const raw = {
      alertDisplayName: 'TI map Domain entity to Dns Events (ASIM DNS Schema)',
      alertDescription: 'This analytic rule uses [ASIM](https://aka.ms/AboutASIM) and supports any built-in source.',
      severity: 'Medium',
      alertType: '8e013f8e-94d8-405e-8b55-73d451f17239_9da2b00c-5ca3-44a6-8f5d-a26a1117e301',
      incidentNumber: '59',
      incidentUrl:
        'https://portal.azure.com/#asset/Microsoft_Azure_Security_Insights/Incident/subscriptions/x/Incidents/y',
      alertStartTime: '2023-12-17T17:21:26.0968264Z',
      relatedEntities: [
        { kind: 'Ip', properties: { address: '8.8.8.8', friendlyName: '8.8.8.8' } },
        { kind: 'Host', properties: { hostName: 'WIN2K16-DNS-ARY', netBiosName: 'WIN2K16-DNS-ARY' } },
      ],
    };
    expect(sentinel.validate(raw)).toEqual({ ok: true });
    const alert = sentinel.normalize(raw);
    expect(alert).toMatchObject({
      title: 'TI map Domain entity to Dns Events (ASIM DNS Schema)',
      severity: 'Medium',
      occurred_at: '2023-12-17T17:21:26.096Z',
      src_hostname: 'WIN2K16-DNS-ARY',
    });
    expect(alert.extra).toMatchObject({ incident_number: '59' });
    // The documentation link and the portal link are not indicators; a host without a DNS domain is no domain.
    expect(pairs(raw)).toEqual(['ip 8.8.8.8 relatedEntities.ip']);
    expect(sentinel.detectionRule?.(raw)?.source_rule_id).toBe('9da2b00c-5ca3-44a6-8f5d-a26a1117e301');
  });

  it('resolves $ref entities of a SecurityAlert Entities JSON string and never counts one twice', () => {
    const raw = corpus('securityalert_row_entities_string_refs');
    expect(typeof raw.Entities).toBe('string');
    const alert = sentinel.normalize(raw);
    expect(alert.extra?.entity_counts).toEqual({
      account: 1,
      process: 3,
      file: 2,
      filehash: 6,
      url: 1,
      ip: 1,
      host: 1,
    });
    // The process lineage an analyst needs: image paths through $ref, command lines, the parent.
    expect(alert.extra?.processes).toContainEqual(
      expect.objectContaining({
        process_id: '7908',
        executable: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
        parent_executable: 'C:\\Windows\\System32\\cmd.exe',
        parent_command_line: expect.stringContaining('"cmd.exe" /c powershell.exe'),
      }),
    );
    expect(alert.extra?.mitre_techniques).toEqual(['T1059.001', 'T1105']);
    expect(alert.actor_username).toBe('CONTOSO\\jdoe');
  });

  it('survives a self-referencing, cyclic or broken Entities string', () => {
    const cyclic = {
      AlertDisplayName: 'A',
      Entities: '[{"$id":"1","Type":"process","ParentProcess":{"$ref":"1"}},{"$ref":"1"},{"$ref":"9"}]',
    };
    expect(sentinel.normalize(cyclic).extra?.entity_counts).toEqual({ process: 1 });
    expect(sentinel.extractIndicators({ AlertDisplayName: 'A', Entities: '[{"Type":"ip",' })).toEqual([]);
    const deep = { AlertDisplayName: 'A', Entities: `${'['.repeat(5000)}${']'.repeat(5000)}` };
    expect(sentinel.extractIndicators(deep)).toEqual([]);
  });

  it('walks a deeply nested, self-referencing Entities string within its bounds', () => {
    const nested = `${'{"Type":"process","ParentProcess":'.repeat(2000)}{"$ref":"1"}${'}'.repeat(2000)}`;
    const refs = Array.from({ length: 20_000 }, () => '{"$ref":"1"}').join(',');
    const raw = {
      AlertDisplayName: 'A',
      Entities: `[{"$id":"1","Type":"ip","Address":"192.0.2.1"},${nested},${refs}]`,
    };
    const started = performance.now();
    const alert = sentinel.normalize(raw);
    const indicators = sentinel.extractIndicators(raw);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(indicators.map((i) => i.value)).toEqual(['192.0.2.1']);
    // The ip entity is counted once however often it is referenced; the nested chain is cut at the depth bound.
    expect(alert.extra?.entity_counts).toMatchObject({ ip: 1 });
  });

  it('never gives a UPN its suffix twice; NT accounts read DOMAIN\\name', () => {
    const account = (properties: Record<string, unknown>) =>
      pairs({ object: { properties: { title: 'T', relatedEntities: [{ kind: 'Account', properties }] } } });
    expect(account({ accountName: 'user1@example.com', upnSuffix: 'example.com' })).toEqual([
      'account user1@example.com relatedEntities.account',
    ]);
    expect(account({ accountName: 'user1', upnSuffix: 'example.com' })).toEqual([
      'account user1@example.com relatedEntities.account',
    ]);
    expect(account({ accountName: 'svc_sql', ntDomain: 'FABRIKAM' })).toEqual([
      'account FABRIKAM\\svc_sql relatedEntities.account',
    ]);
    expect(account({ aadUserId: '3f2e1d0c-9b8a-4765-8432-10fedcba9876' })).toEqual([]);
  });

  it('makes a host an FQDN only with a DNS domain, never twice', () => {
    const host = (properties: Record<string, unknown>) =>
      pairs({ properties: { title: 'T' }, Entities: [{ Type: 'host', ...properties }] });
    expect(host({ HostName: 'host01', DnsDomain: 'example.com' })).toEqual(['domain host01.example.com Entities.host']);
    expect(host({ HostName: 'host01.example.com', DnsDomain: 'EXAMPLE.com' })).toEqual([
      'domain host01.example.com Entities.host',
    ]);
    expect(host({ HostName: 'alert-windows', FQDN: 'alert-windows', DnsDomain: '' })).toEqual([]);
  });

  it('reads file hash algorithms in any case, from value or hashValue', () => {
    const sha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
    const hash = (algorithm: string, key = 'value') =>
      pairs({ properties: { title: 'T' }, Entities: [{ type: 'FileHash', algorithm, [key]: sha }] });
    for (const algorithm of ['SHA256', 'sha256', 'Sha256', 'SHA-256']) {
      expect(hash(algorithm)).toEqual([`hash_sha256 ${sha} Entities.filehash`]);
    }
    expect(hash('SHA256', 'hashValue')).toEqual([`hash_sha256 ${sha} Entities.filehash`]);
    expect(hash('SHA256AC')).toEqual([]);
  });

  it('reads Graph evidence: a device name without a dot is no domain; process image files keep their path', () => {
    const raw = corpus('graph_alert_v2_get_alert_example');
    const alert = sentinel.normalize(raw);
    expect(alert.src_hostname).toBe('tempDns');
    expect(pairs(raw).some((p) => p.startsWith('domain'))).toBe(false);
    expect(alert.extra?.processes).toEqual([
      expect.objectContaining({ executable: 'C:\\Program Files\\temp\\MsSense.exe', command_line: '"MsSense.exe"' }),
    ]);
    expect(sentinel.detectionRule?.(raw)).toMatchObject({ source_rule_id: 'e0da400f-affd-43ef-b1d5-afc2eb6f2756' });
  });

  it('reads snake_case serialisations like camelCase ones', () => {
    const raw = corpus('incident_snake_case_sdk');
    expect(sentinel.normalize(raw)).toMatchObject({
      title: 'P-BHA-IDB_UID-01-06 Possible BEC-AiTM stolen Token attack',
      occurred_at: '2026-03-18T13:46:52.889Z',
      extra: { incident_number: 12372, alerts_count: 1, mitre_tactics: ['InitialAccess', 'CredentialAccess'] },
    });
    expect(sentinel.detectionRule?.(raw)?.source_rule_id).toBe('853d5d3b-6e14-482f-a11a-5e8d8593be95');
  });
});

describe('sentinel: detectionRule', () => {
  it('trims a trailing slash', () => {
    const raw = incident({ title: 'T', relatedAnalyticRuleIds: ['/a/alertRules/rule-9/'] });
    expect(sentinel.detectionRule?.(raw)?.source_rule_id).toBe('rule-9');
  });

  it('is null without related analytic rules', () => {
    expect(sentinel.detectionRule?.(incident({ title: 'T' }))).toBeNull();
    expect(sentinel.detectionRule?.(incident({ title: 'T', relatedAnalyticRuleIds: [] }))).toBeNull();
    expect(sentinel.detectionRule?.(incident({ title: 'T', relatedAnalyticRuleIds: [7] }))).toBeNull();
    expect(sentinel.detectionRule?.('garbage')).toBeNull();
  });
});

describe('sentinel: verifySignature', () => {
  const body = new TextEncoder().encode('{"properties":{"title":"T"}}');
  const secret = 's3cret';
  const good = createHmac('sha256', secret).update(body).digest('hex');
  const verify = (headers: Record<string, string>, key = secret) =>
    sentinel.verifySignature?.({ headers, rawBody: body, secret: key });

  it('accepts the hex HMAC-SHA256 of the raw body, with or without sha256=', () => {
    expect(verify({ 'x-sentinel-signature': good })).toBe(true);
    expect(verify({ 'x-sentinel-signature': `sha256=${good}` })).toBe(true);
  });

  it('rejects a wrong signature, a wrong secret, a missing header or another source header', () => {
    expect(verify({ 'x-sentinel-signature': good.replace(/.$/, (c) => (c === '0' ? '1' : '0')) })).toBe(false);
    expect(verify({ 'x-sentinel-signature': good }, 'other')).toBe(false);
    expect(verify({})).toBe(false);
    expect(verify({ 'x-elastic-signature': good })).toBe(false);
  });
});

describeCorpus('sentinel', sentinel, 12);
