import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { NormalizedAlertSchema } from '@calseta/schema';
import { describe, expect, it } from 'vitest';
import { describeCorpus } from './corpus-indicators.js';
import { elasticSource as elastic } from './elastic.js';

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
}

function pairs(raw: unknown): string[] {
  return elastic.extractIndicators(raw).map((i) => `${i.type} ${i.value} ${i.source_field}`);
}

/** Turn flat dotted keys into nested objects (`{"a.b": 1}` → `{a: {b: 1}}`), as some senders do. */
function nest(flat: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(flat)) {
    const parts = key.split('.');
    let node = out;
    for (const part of parts.slice(0, -1)) {
      if (typeof node[part] !== 'object' || node[part] === null) {
        node[part] = {};
      }
      node = node[part] as Record<string, unknown>;
    }
    node[parts[parts.length - 1] as string] = value;
  }
  return out;
}

const RULE = { 'kibana.alert.rule.name': 'Rule', 'kibana.alert.rule.uuid': 'r-1' };

describe('elastic: tests/fixtures/elastic_alert.json', () => {
  const raw = fixture('elastic_alert.json');

  it('validates', () => {
    expect(elastic.validate(raw)).toEqual({ ok: true });
  });

  it('normalizes title, severity, time, description and tags', () => {
    const alert = elastic.normalize(raw);
    expect(alert.title).toBe('Suspicious PowerShell Execution');
    expect(alert.severity).toBe('High');
    expect(alert.occurred_at).toBe('2024-01-15T10:29:50.000Z');
    expect(alert.source_name).toBe('elastic');
    expect(alert.description).toBe('Detects PowerShell with encoded arguments');
    expect(alert.tags).toEqual(['PowerShell', 'Endpoint', 'T1059.001']);
    expect(() => NormalizedAlertSchema.parse(alert)).not.toThrow();
  });

  it('extracts the Pass-1 indicators', () => {
    expect(pairs(raw)).toEqual([
      'ip 10.0.0.55 source.ip',
      'ip 185.220.101.32 destination.ip',
      'domain evil.example.com destination.domain',
      'domain c2-server.evil.com dns.question.name',
      'url https://evil.example.com/payload/stage2.ps1 url.full',
      'hash_sha256 a1b2c3d4e5f6789012345678901234567890abcdef1234567890abcdef123456 process.hash.sha256',
      'hash_md5 d41d8cd98f00b204e9800998ecf8427e process.hash.md5',
      'email jdoe@corp.com user.email',
      'account jdoe user.name',
    ]);
  });

  it('fills the normalized indicator fields', () => {
    expect(elastic.normalize(raw)).toMatchObject({
      src_ip: '10.0.0.55',
      dst_ip: '185.220.101.32',
      src_hostname: 'WORKSTATION-01.corp.com',
      dst_hostname: 'evil.example.com',
      file_hash_sha256: 'a1b2c3d4e5f6789012345678901234567890abcdef1234567890abcdef123456',
      file_hash_md5: 'd41d8cd98f00b204e9800998ecf8427e',
      actor_email: 'jdoe@corp.com',
      actor_username: 'jdoe',
      dns_query: 'c2-server.evil.com',
      http_url: 'https://evil.example.com/payload/stage2.ps1',
    });
  });

  it('keeps process, host and alert facts in extra, numbers as numbers', () => {
    expect(elastic.normalize(raw).extra).toMatchObject({
      alert_id: 'alert-uuid-elastic-001',
      workflow_status: 'open',
      alert_end: '2024-01-15T10:30:05.000Z',
      alert_reason: 'powershell.exe executed with suspicious encoded arguments on WORKSTATION-01',
      risk_score: 73,
      event_action: 'process_started',
      event_category: ['process'],
      host_name: 'WORKSTATION-01',
      host_ip: ['10.0.0.55'],
      agent_id: 'agent-uuid-001',
      process_name: 'powershell.exe',
      process_pid: 4892,
      process_executable: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe',
    });
  });

  it('refers to the rule by its uuid and names it', () => {
    expect(elastic.detectionRule?.(raw)).toEqual({
      source_rule_id: 'rule-uuid-elastic-abc',
      name: 'Suspicious PowerShell Execution',
      severity: 'high',
      description: 'Detects PowerShell with encoded arguments',
    });
  });

  it('reads nested objects and mixed flat/nested keys exactly like flat keys', () => {
    const flat = elastic.normalize(raw);
    const nested = nest(raw);
    expect(nested).toHaveProperty(['kibana', 'alert', 'rule', 'name'], 'Suspicious PowerShell Execution');
    expect(elastic.validate(nested)).toEqual({ ok: true });
    expect(elastic.normalize(nested)).toEqual(flat);
    expect(elastic.extractIndicators(nested)).toEqual(elastic.extractIndicators(raw));
    expect(elastic.detectionRule?.(nested)).toEqual(elastic.detectionRule?.(raw));
    const mixed = { 'kibana.alert': { 'rule.name': 'Mixed', rule: { uuid: 'u-9' } }, source: { ip: '1.2.3.4' } };
    expect(elastic.validate(mixed)).toEqual({ ok: true });
    expect(elastic.normalize(mixed).title).toBe('Mixed');
    expect(pairs(mixed)).toEqual(['ip 1.2.3.4 source.ip']);
    expect(elastic.detectionRule?.(mixed)?.source_rule_id).toBe('u-9');
  });
});

describe('elastic: case-study fixtures', () => {
  it('02_elastic_malware_hash.json', () => {
    const raw = fixture('02_elastic_malware_hash.json');
    expect(elastic.validate(raw)).toEqual({ ok: true });
    const alert = elastic.normalize(raw);
    expect(alert.title).toBe('Known Malware Hash Detected on Endpoint');
    expect(alert.severity).toBe('Critical');
    expect(alert.occurred_at).toBe('2026-03-01T16:42:18.000Z');
    expect(alert.tags).toEqual(['Malware', 'Emotet', 'Endpoint', 'T1204.002', 'Execution']);
    expect(alert.description).toMatch(/^Detects execution of a file whose SHA-256 hash matches/);
    expect(pairs(raw)).toEqual([
      'ip 198.51.100.42 source.ip',
      'ip 10.0.15.201 host.ip',
      'ip fe80::1a2b:3c4d:5e6f:7890 host.ip',
      'hash_sha256 a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2 process.hash.sha256',
      'hash_sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709 process.hash.sha1',
      'hash_md5 d41d8cd98f00b204e9800998ecf8427e process.hash.md5',
      'email admin@acmeinc.com user.email',
      'account admin user.name',
    ]);
    expect(alert).toMatchObject({
      src_ip: '198.51.100.42',
      file_hash_sha256: 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2',
      file_hash_sha1: 'da39a3ee5e6b4b0d3255bfef95601890afd80709',
      file_hash_md5: 'd41d8cd98f00b204e9800998ecf8427e',
      actor_email: 'admin@acmeinc.com',
      actor_username: 'admin',
    });
    // Process lineage, user, host, file and threat context survive.
    expect(alert.extra).toMatchObject({
      process_name: 'svchost_update.exe',
      process_pid: 7892,
      process_args: ['svchost_update.exe', '--silent', '--install'],
      process_executable: 'C:\\Users\\admin\\AppData\\Local\\Temp\\svchost_update.exe',
      parent_process_name: 'outlook.exe',
      parent_process_pid: 3456,
      parent_process_executable: 'C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE',
      user_domain: 'WORKSTATION12',
      host_name: 'WORKSTATION12',
      host_os_name: 'Windows',
      host_os_version: '10.0.19045',
      host_ip: ['10.0.15.201', 'fe80::1a2b:3c4d:5e6f:7890'],
      file_name: 'svchost_update.exe',
      file_size: 245760,
      event_action: 'execution',
      event_outcome: 'success',
      event_category: ['malware'],
      risk_score: 95,
      source_geo_country: 'Netherlands',
      source_geo_city: 'Amsterdam',
      source_as_org: 'Suspicious Hosting LLC',
      mitre_tactics: ['TA0002'],
      mitre_techniques: ['T1204.002'],
      alert_reason: expect.stringContaining('47/72 engines'),
    });
    expect(elastic.detectionRule?.(raw)).toMatchObject({
      source_rule_id: 'd8e5f6a7-b9c0-4d1e-a2f3-456789abcdef',
      name: 'Known Malware Hash Detected on Endpoint',
      severity: 'critical',
      mitre_tactics: ['TA0002'],
      mitre_techniques: ['T1204.002'],
    });
  });

  it('05_elastic_suspicious_powershell.json', () => {
    const raw = fixture('05_elastic_suspicious_powershell.json');
    expect(elastic.validate(raw)).toEqual({ ok: true });
    const alert = elastic.normalize(raw);
    expect(alert.title).toBe('Suspicious PowerShell Execution with Encoded Command');
    expect(alert.severity).toBe('High');
    expect(alert.occurred_at).toBe('2026-03-01T22:14:37.000Z');
    expect(alert.tags).toEqual([
      'PowerShell',
      'EncodedCommand',
      'LivingOffTheLand',
      'T1059.001',
      'T1027',
      'DefenseEvasion',
      'Execution',
    ]);
    expect(pairs(raw)).toEqual([
      'ip 10.0.1.10 source.ip',
      'ip 198.51.100.99 destination.ip',
      'domain c2-relay.darkops.net destination.domain',
      'url https://c2-relay.darkops.net/stager.ps1 url.full',
      'hash_sha256 de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c process.hash.sha256',
      'account SYSTEM user.name',
    ]);
    expect(alert).toMatchObject({
      src_ip: '10.0.1.10',
      dst_ip: '198.51.100.99',
      dst_hostname: 'c2-relay.darkops.net',
      dns_query: 'c2-relay.darkops.net',
      http_url: 'https://c2-relay.darkops.net/stager.ps1',
      http_hostname: 'c2-relay.darkops.net',
      actor_username: 'SYSTEM',
    });
    expect(alert.extra).toMatchObject({
      process_name: 'powershell.exe',
      process_pid: 4128,
      process_command_line: expect.stringContaining('-EncodedCommand SQBFAFgA'),
      parent_process_name: 'cmd.exe',
      parent_process_pid: 2048,
      parent_process_command_line: expect.stringMatching(/^cmd\.exe \/c powershell\.exe/),
      user_domain: 'NT AUTHORITY',
      host_name: 'DC01',
      host_os_name: 'Windows Server',
      risk_score: 87,
      mitre_tactic_names: ['Execution', 'Defense Evasion'],
    });
    expect(elastic.detectionRule?.(raw)).toMatchObject({
      source_rule_id: 'a9b0c1d2-e3f4-5678-9abc-def012345678',
      name: 'Suspicious PowerShell Execution with Encoded Command',
      mitre_tactics: ['TA0002', 'TA0005'],
      mitre_techniques: ['T1059.001', 'T1027'],
    });
  });
});

describe('elastic: validate', () => {
  it.each([null, [], 'alert', 0])('rejects the non-object %j', (value) => {
    const res = elastic.validate(value);
    expect(res.ok).toBe(false);
    expect(!res.ok && res.issues[0]?.path).toBe('');
  });

  it('needs a rule name or uuid', () => {
    expect(elastic.validate({ '@timestamp': '2024-01-15T10:30:00Z', 'kibana.alert.rule.name': '' })).toEqual({
      ok: false,
      issues: [
        {
          path: 'kibana.alert.rule.name',
          message:
            'Elastic alerts need kibana.alert.rule.name or kibana.alert.rule.uuid (8.x), or signal.rule.name or ' +
            'signal.rule.id (7.x), flat or nested keys',
        },
      ],
    });
    expect(elastic.validate({ 'kibana.alert.rule.uuid': 'u' })).toEqual({ ok: true });
    expect(elastic.validate({ kibana: { alert: { rule: { name: 'n' } } } })).toEqual({ ok: true });
    expect(elastic.validate({ signal: { rule: { name: 'legacy' } } })).toEqual({ ok: true });
    expect(elastic.validate({ 'signal.rule.id': 'u' })).toEqual({ ok: true });
  });
});

describe('elastic: normalize edge cases', () => {
  it('titles from the reason, then a default', () => {
    expect(elastic.normalize({ 'kibana.alert.rule.uuid': 'u', 'kibana.alert.reason': 'why' }).title).toBe('why');
    expect(elastic.normalize({ 'kibana.alert.rule.uuid': 'u' }).title).toBe('Untitled Elastic Alert');
  });

  it('describes with the rule description, else the reason; never repeats the title', () => {
    const describe_ = (extra: Record<string, unknown>) => elastic.normalize({ ...RULE, ...extra }).description;
    expect(describe_({ 'kibana.alert.reason': 'why' })).toBe('why');
    expect(describe_({ 'kibana.alert.rule.description': 'Rule', 'kibana.alert.reason': 'why' })).toBe('why');
    expect(describe_({ 'kibana.alert.rule.description': 'Rule' })).toBeNull();
    expect(describe_({})).toBeNull();
  });

  it('prefers the alert severity over the rule severity, then the risk score; Pending only with neither', () => {
    const severity = (extra: Record<string, unknown>) => elastic.normalize({ ...RULE, ...extra }).severity;
    expect(severity({ 'kibana.alert.severity': 'LOW', 'kibana.alert.rule.severity': 'high' })).toBe('Low');
    expect(severity({ 'kibana.alert.rule.severity': 'medium' })).toBe('Medium');
    expect(severity({ 'kibana.alert.severity': 'informational' })).toBe('Informational');
    expect(severity({ 'signal.rule.severity': 'critical' })).toBe('Critical');
    // Elastic's documented risk-score bands: 0–21 Low, 22–47 Medium, 48–73 High, 74–100 Critical.
    expect(severity({ 'kibana.alert.risk_score': 21 })).toBe('Low');
    expect(severity({ 'kibana.alert.rule.risk_score': 47 })).toBe('Medium');
    expect(severity({ 'kibana.alert.risk_score': 73 })).toBe('High');
    expect(severity({ 'signal.rule.risk_score': 99 })).toBe('Critical');
    expect(severity({ 'kibana.alert.severity': 'high', 'kibana.alert.risk_score': 10 })).toBe('High');
    expect(severity({})).toBe('Pending');
    // Present but unreadable: visible (Medium) and flagged; prototype words stay data.
    for (const word of ['bogus', '__proto__']) {
      const alert = elastic.normalize({ ...RULE, 'kibana.alert.severity': word });
      expect(alert.severity).toBe('Medium');
      expect(alert).toMatchObject({ severity_raw: word, severity_unmapped: true });
    }
  });

  it('takes kibana.alert.start, then @timestamp, and null (not now) when neither parses', () => {
    const at = (extra: Record<string, unknown>) => elastic.normalize({ ...RULE, ...extra }).occurred_at;
    expect(at({ '@timestamp': '2024-01-15T10:30:00.000Z' })).toBe('2024-01-15T10:30:00.000Z');
    expect(at({ 'kibana.alert.start': 'garbage', '@timestamp': '2024-01-15T10:30:00+02:00' })).toBe(
      '2024-01-15T08:30:00.000Z',
    );
    expect(at({ '@timestamp': 1705314600000 })).toBe('2024-01-15T10:30:00.000Z');
    expect(at({})).toBeNull();
    expect(at({ '@timestamp': 'last tuesday' })).toBeNull();
  });

  it('accepts strings or arrays of strings (IPv6 included) in every field, nothing else', () => {
    const raw = {
      ...RULE,
      'source.ip': ['2001:db8::1', 42, '', '10.1.1.1'],
      'destination.ip': '2001:db8::2',
      'threat.indicator.ip': ['203.0.113.9'],
      'threat.indicator.domain': 'bad.example',
      'threat.indicator.file.hash.sha256': 'f'.repeat(64),
      'user.name': 1001,
      'dns.question.name': ['resolved.example', { nested: 'no' }],
    };
    expect(pairs(raw)).toEqual([
      'ip 2001:db8::1 source.ip',
      'ip 10.1.1.1 source.ip',
      'ip 2001:db8::2 destination.ip',
      'ip 203.0.113.9 threat.indicator.ip',
      'domain resolved.example dns.question.name',
      'domain bad.example threat.indicator.domain',
      `hash_sha256 ${'f'.repeat(64)} threat.indicator.file.hash.sha256`,
    ]);
    const alert = elastic.normalize(raw);
    expect(alert.src_ip).toBe('2001:db8::1');
    expect(alert.dst_ip).toBe('2001:db8::2');
    expect(alert.actor_username).toBeUndefined();
  });

  it('fills email fields from ECS email.*', () => {
    const alert = elastic.normalize({
      ...RULE,
      'email.from.address': ['phisher@evil.example'],
      'email.reply_to.address': ['collect@evil.example'],
      'url.original': 'http://evil.example/x',
    });
    expect(alert).toMatchObject({
      email_from: 'phisher@evil.example',
      email_reply_to: 'collect@evil.example',
      http_url: 'http://evil.example/x',
    });
  });

  it('reads MITRE from kibana.alert.rule.threat when the alert has no threat.* fields', () => {
    const raw = {
      ...RULE,
      'kibana.alert.rule.threat': [
        {
          framework: 'MITRE ATT&CK',
          tactic: { id: 'TA0006', name: 'Credential Access' },
          technique: [
            { id: 'T1003', name: 'OS Credential Dumping', subtechnique: [{ id: 'T1003.001', name: 'LSASS' }] },
          ],
        },
        'junk',
      ],
    };
    expect(elastic.detectionRule?.(raw)).toMatchObject({
      mitre_tactics: ['TA0006'],
      mitre_techniques: ['T1003', 'T1003.001'],
    });
    expect(elastic.normalize(raw).extra).toMatchObject({ mitre_tactic_names: ['Credential Access'] });
  });

  it('has no detection rule without a rule uuid', () => {
    expect(elastic.detectionRule?.({ 'kibana.alert.rule.name': 'only a name' })).toBeNull();
    expect(elastic.detectionRule?.({ 'kibana.alert.rule.uuid': 7 })).toEqual({ source_rule_id: '7' });
  });
});

describe('elastic: what Kibana really sends', () => {
  const corpus = (name: string): Record<string, unknown> =>
    JSON.parse(readFileSync(new URL(`../../corpus/elastic/${name}.json`, import.meta.url), 'utf8')) as Record<
      string,
      unknown
    >;

  it('never takes "fake md5" for a hash; the real dll[] hashes are found', () => {
    const raw = corpus('endpoint_malware_alert_placeholder_hashes');
    const alert = elastic.normalize(raw);
    expect(alert.file_hash_md5).toBeUndefined();
    expect(alert.file_hash_sha1).toBeUndefined();
    expect(alert.file_hash_sha256).toBeUndefined();
    expect(pairs(raw)).toEqual(
      expect.arrayContaining([
        'hash_md5 1f2d082566b0fc5f2c238a5180db7451 dll[].hash.md5',
        'hash_sha256 d4c2b0a9f8e7d6c5b4a3928170f6e5d4c3b2a1908f7e6d5c4b3a29180f7e6d5c dll[].hash.sha256',
      ]),
    );
    // The analyst still sees where the binary ran from.
    expect(alert.extra).toMatchObject({
      process_executable: 'C:/Users/r.silva/AppData/Local/Temp/malware.exe',
      file_path: 'C:/Users/r.silva/AppData/Local/Temp/fake_malware.exe',
      parent_process_executable: 'C:/Windows/explorer.exe',
    });
  });

  it('fills the hash fields with the first well-formed value', () => {
    const sha = '6f1a0b5c9e2d4a7f8b3c1e5d9a0f2b4c6e8d1a3f5b7c9e0d2f4a6b8c1e3d5f7a';
    const alert = elastic.normalize({ ...RULE, 'process.hash.sha256': 'fake sha256', 'file.hash.sha256': sha });
    expect(alert.file_hash_sha256).toBe(sha);
  });

  it('reads a legacy 7.x signal: rule, severity, time, status and MITRE from signal.*', () => {
    const raw = corpus('signal_7x_nested_rdp_logon');
    expect(elastic.validate(raw)).toEqual({ ok: true });
    const alert = elastic.normalize(raw);
    expect(alert).toMatchObject({
      title: 'Successful RDP Logon from External Address',
      severity: 'High',
      occurred_at: '2021-09-14T08:21:57.412Z',
      description: expect.stringMatching(/^Identifies a successful RDP/),
      tags: ['Elastic', 'Windows', 'Initial Access'],
      src_ip: '45.155.205.233',
      actor_username: 'Administrator',
    });
    expect(alert.extra).toMatchObject({
      workflow_status: 'open',
      risk_score: 73,
      rule_id: '8c1bdde8-4204-45c0-9e0c-c85ca3902488',
    });
    expect(elastic.detectionRule?.(raw)).toEqual({
      source_rule_id: '3c7e1f9a-5b2d-4e8f-a6c4-0d2b8f6e4a1c',
      name: 'Successful RDP Logon from External Address',
      severity: 'high',
      description: expect.stringMatching(/^Identifies a successful RDP/),
      mitre_tactics: ['TA0001'],
      mitre_techniques: ['T1133'],
    });
  });

  it('unwraps a search hit (what a poller of the alerts index relays) to its _source', () => {
    const source = corpus('signal_7x_nested_rdp_logon');
    const hit = { _index: '.siem-signals-default-000001', _id: 'a1b2c3', _score: 1, _source: source };
    expect(elastic.validate(hit)).toEqual({ ok: true });
    expect(elastic.normalize(hit)).toEqual(elastic.normalize(source));
    expect(elastic.extractIndicators(hit)).toEqual(elastic.extractIndicators(source));
    expect(elastic.detectionRule?.(hit)).toEqual(elastic.detectionRule?.(source));
    expect(elastic.validate({ _source: { nothing: 1 } }).ok).toBe(false);
  });

  it('reads the matched indicators of threat.enrichments[]; Kibana links and rule references are not indicators', () => {
    const raw = corpus('threat_match_enrichments');
    const found = pairs(raw);
    expect(found).toEqual(
      expect.arrayContaining([
        'ip 193.42.33.7 destination.ip',
        'hash_md5 0c9e8d7f6a5b4c3d2e1f0a9b8c7d6e5f threat.enrichments[].indicator.file.hash.md5',
      ]),
    );
    expect(found.filter((p) => /kibana\.example\.com|elastic\.co|urlhaus/.test(p))).toEqual([]);
    expect(elastic.normalize(raw).extra?.alert_url).toMatch(/^https:\/\/kibana\.example\.com/);
  });
});

describe('elastic: verifySignature', () => {
  const body = new TextEncoder().encode('{"kibana.alert.rule.name":"x"}');
  const secret = 'elastic-secret';
  const good = createHmac('sha256', secret).update(body).digest('hex');
  const verify = (headers: Record<string, string>) => elastic.verifySignature?.({ headers, rawBody: body, secret });

  it('accepts the hex HMAC-SHA256 of the raw body in x-elastic-signature', () => {
    expect(verify({ 'x-elastic-signature': good })).toBe(true);
    expect(verify({ 'x-elastic-signature': `sha256=${good.toUpperCase()}` })).toBe(true);
  });

  it('rejects a wrong or missing signature', () => {
    expect(verify({ 'x-elastic-signature': createHmac('sha256', 'nope').update(body).digest('hex') })).toBe(false);
    expect(verify({ 'x-elastic-signature': '' })).toBe(false);
    expect(verify({ 'x-sentinel-signature': good })).toBe(false);
    expect(verify({})).toBe(false);
  });
});

describeCorpus('elastic', elastic, 9);
