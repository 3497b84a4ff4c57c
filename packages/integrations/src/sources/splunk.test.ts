import { readFileSync } from 'node:fs';
import { NormalizedAlertSchema } from '@calseta/schema';
import { describe, expect, it } from 'vitest';
import { splunkSource as splunk } from './splunk.js';

function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../fixtures/${name}`, import.meta.url), 'utf8')) as Record<
    string,
    unknown
  >;
}

function pairs(raw: unknown): string[] {
  return splunk.extractIndicators(raw).map((i) => `${i.type} ${i.value} ${i.source_field}`);
}

/** A minimal webhook envelope around `result`. */
function hook(result: Record<string, unknown>): Record<string, unknown> {
  return { search_name: 'Search', sid: 'sid-1', result };
}

describe('splunk: tests/fixtures/splunk_alert.json', () => {
  const raw = fixture('splunk_alert.json');

  it('validates', () => {
    expect(splunk.validate(raw)).toEqual({ ok: true });
  });

  it('normalizes title, severity, time, description and tags', () => {
    const alert = splunk.normalize(raw);
    expect(alert.title).toBe('Brute Force Login Attempt');
    expect(alert.severity).toBe('High');
    expect(alert.occurred_at).toBe('2024-01-15T09:50:00.000Z');
    expect(alert.source_name).toBe('splunk');
    expect(alert.description).toBe('Brute Force Attack Detected');
    expect(alert.tags).toEqual([]);
    expect(() => NormalizedAlertSchema.parse(alert)).not.toThrow();
  });

  it('extracts the Pass-1 indicators', () => {
    expect(pairs(raw)).toEqual([
      'ip 10.0.0.99 result.src_ip',
      'ip 192.168.1.10 result.dest_ip',
      'account admin result.user',
      'hash_sha256 b94f6f125c79e3a5ffaa826f584c10d52ada669e6762051b826b55776d05a8a result.sha256',
      'domain corp.example.com result.domain',
    ]);
  });

  it('fills the normalized indicator fields', () => {
    const alert = splunk.normalize(raw);
    expect(alert).toMatchObject({
      src_ip: '10.0.0.99',
      dst_ip: '192.168.1.10',
      actor_username: 'admin',
      file_hash_sha256: 'b94f6f125c79e3a5ffaa826f584c10d52ada669e6762051b826b55776d05a8a',
    });
    // `domain` here is the user's AD domain, not a web host: it is not reported as http_hostname.
    expect(alert.http_hostname).toBeUndefined();
  });

  it('keeps the search context and the raw event (which holds count=50) in extra', () => {
    const extra = splunk.normalize(raw).extra ?? {};
    expect(extra).toMatchObject({
      sid: 'scheduler__admin__search_YnJ1dGVmb3JjZQ_at_1705312200_1',
      search_name: 'Brute Force Login Attempt',
      splunk_app: 'SplunkEnterpriseSecuritySuite',
      results_link: 'https://splunk.corp.com/app/SplunkEnterpriseSecuritySuite/incidents',
      status: 'New',
      priority: 'medium',
      kill_chain_phase: 'privilege-escalation',
      drilldown_search: 'index=notable event_id=1705312200.12345',
      mitre_techniques: ['T1110.001'],
    });
    expect(extra.raw_event).toContain('count=50');
    expect(Object.keys(extra).some((k) => k.startsWith('_'))).toBe(false);
  });

  it('names the rule after result.rule_name', () => {
    expect(splunk.detectionRule?.(raw)).toEqual({
      source_rule_id: 'Brute Force Login Attempt',
      name: 'Brute Force Login Attempt',
      severity: 'high',
      description: 'More than 10 failed logins from a single IP in 5 minutes',
      mitre_techniques: ['T1110.001'],
    });
  });
});

describe('splunk: 03_splunk_anomalous_data_transfer.json', () => {
  const raw = fixture('03_splunk_anomalous_data_transfer.json');

  it('normalizes and extracts', () => {
    expect(splunk.validate(raw)).toEqual({ ok: true });
    const alert = splunk.normalize(raw);
    expect(alert.title).toBe('Anomalous Outbound Data Transfer');
    expect(alert.severity).toBe('High');
    expect(alert.occurred_at).toBe('2024-03-01T15:00:00.000Z');
    expect(alert.description).toBe('Data Exfiltration - Anomalous Volume');
    expect(alert.tags).toEqual([]);
    expect(pairs(raw)).toEqual([
      'ip 10.0.8.55 result.src_ip',
      'ip 45.33.32.156 result.dest_ip',
      'account svc_backup result.user',
      'url https://suspicious-cloud-sync.com/api/v2/upload result.url',
      'domain suspicious-cloud-sync.com result.domain',
    ]);
    expect(alert).toMatchObject({
      src_ip: '10.0.8.55',
      dst_ip: '45.33.32.156',
      src_hostname: 'FILESERVER03',
      actor_username: 'svc_backup',
      http_url: 'https://suspicious-cloud-sync.com/api/v2/upload',
    });
    // dest_host is CIM's "unknown" placeholder: not a hostname.
    expect(alert.dst_hostname).toBeUndefined();
  });

  it('keeps volumes, durations, ports, the search window and the network context in extra, as sent', () => {
    expect(splunk.normalize(raw).extra).toMatchObject({
      bytes_out: '2147483648',
      bytes_in: '1048576',
      duration: '3847',
      dest_port: '443',
      risk_score: '82',
      info_min_time: '1709301600',
      info_max_time: '1709305200',
      app: 'custom_sync.exe',
      splunk_app: 'SplunkEnterpriseSecuritySuite',
      action: 'allowed',
      protocol: 'TLS1.3',
      src_host: 'FILESERVER03',
      src_zone: 'corporate_servers',
      dest_zone: 'external',
      vendor_product: 'Palo Alto Networks Firewall',
      risk_object: 'FILESERVER03',
      search_name: 'Anomalous Outbound Data Transfer Detected',
      results_link: expect.stringContaining('sid=scheduler__admin__search__RMD5a3b7c9d1e2f4'),
      mitre_tactics: ['TA0010'],
      mitre_techniques: ['T1048.001'],
    });
  });

  it('names the rule', () => {
    expect(splunk.detectionRule?.(raw)).toMatchObject({
      source_rule_id: 'Anomalous Outbound Data Transfer',
      name: 'Anomalous Outbound Data Transfer',
      mitre_tactics: ['TA0010'],
      mitre_techniques: ['T1048.001'],
    });
  });
});

describe('splunk: validate', () => {
  it.each([null, [], 'x', 1.5])('rejects the non-object %j', (value) => {
    const res = splunk.validate(value);
    expect(res.ok).toBe(false);
    expect(!res.ok && res.issues[0]?.path).toBe('');
  });

  it('needs a result object and a search_name or sid', () => {
    expect(splunk.validate({ result: [] })).toEqual({
      ok: false,
      issues: [
        { path: 'result', message: 'Splunk webhooks need a result object (the alert result row)' },
        { path: 'search_name', message: 'Splunk webhooks need search_name or sid' },
      ],
    });
    expect(splunk.validate({ sid: 'x', result: {} })).toEqual({ ok: true });
    expect(splunk.validate({ search_name: 'x', result: {} })).toEqual({ ok: true });
  });
});

describe('splunk: normalize edge cases', () => {
  it('uses src/dest only when src_ip/dest_ip are empty', () => {
    expect(pairs(hook({ src: '1.1.1.1', dest: '2.2.2.2' }))).toEqual([
      'ip 1.1.1.1 result.src',
      'ip 2.2.2.2 result.dest',
    ]);
    expect(pairs(hook({ src_ip: '3.3.3.3', src: 'host-a', dest_ip: '4.4.4.4', dest: 'host-b' }))).toEqual([
      'ip 3.3.3.3 result.src_ip',
      'ip 4.4.4.4 result.dest_ip',
    ]);
    expect(splunk.normalize(hook({ src: '1.1.1.1' })).src_ip).toBe('1.1.1.1');
  });

  it('titles from rule_name, signature, search_name, then a default', () => {
    expect(splunk.normalize(hook({ signature: 'Sig' })).title).toBe('Sig');
    expect(splunk.normalize(hook({})).title).toBe('Search');
    // Splunk documents `search_name: null` for ad-hoc searches: the app and owner say where it came from.
    expect(splunk.normalize({ sid: 'x', result: {} }).title).toBe('Splunk alert');
    expect(splunk.normalize({ sid: 'x', search_name: null, app: 'search', owner: 'admin', result: {} }).title).toBe(
      'Splunk alert (app search, owner admin)',
    );
    expect(splunk.normalize(hook({ rule_title: 'Brute force from 10.1.1.1', rule_name: 'R' })).title).toBe(
      'Brute force from 10.1.1.1',
    );
    expect(splunk.normalize(hook({ rule_name: ['R1', 'R2'] })).title).toBe('R1');
    expect(splunk.normalize(hook({ rule_name: '', signature: 'Sig' })).title).toBe('Sig');
  });

  it('replaces a description equal to the title by _raw when present', () => {
    expect(splunk.normalize(hook({ signature: 'Sig', _raw: 'raw line' })).description).toBe('raw line');
    expect(splunk.normalize(hook({ signature: 'Sig' })).description).toBe('Sig');
    expect(splunk.normalize(hook({ rule_name: 'R', search_name: 'S' })).description).toBe('S');
    expect(splunk.normalize(hook({})).description).toBeNull();
  });

  it('maps urgency, then severity, defaulting to low; an unreadable value is flagged, not Pending', () => {
    const severity = (result: Record<string, unknown>) => splunk.normalize(hook(result)).severity;
    expect(severity({})).toBe('Low');
    expect(severity({ urgency: 'CRITICAL', severity: 'low' })).toBe('Critical');
    expect(severity({ severity: 'info' })).toBe('Informational');
    expect(severity({ urgency: 'informational' })).toBe('Informational');
    expect(severity({ urgency: '', severity: 'high' })).toBe('High');
    expect(severity({ urgency: ['medium', 'low'] })).toBe('Medium');
    expect(severity({ severity: '6' })).toBe('Critical'); // Splunk's alert.severity scale: 6 fatal
    expect(splunk.normalize(hook({ urgency: 'urgent' }))).toMatchObject({
      severity: 'Medium',
      severity_raw: 'urgent',
      severity_unmapped: true,
    });
    expect(splunk.normalize(hook({ urgency: 'constructor' }))).toMatchObject({ severity_unmapped: true });
  });

  it('multi-value and empty result fields: every real member, blanks skipped; src/dest host names as domains', () => {
    expect(
      pairs(
        hook({
          src: ['10.1.1.1', 'ws01.corp.example.com', 'WS01'],
          dest: '',
          user: ['alice', '', 'bob'],
          file_hash: 'd41d8cd98f00b204e9800998ecf8427e',
          url: '',
        }),
      ),
    ).toEqual([
      'ip 10.1.1.1 result.src',
      'domain ws01.corp.example.com result.src',
      'account alice result.user',
      'account bob result.user',
      'hash_md5 d41d8cd98f00b204e9800998ecf8427e result.file_hash',
    ]);
  });

  it('results_link and server_uri are context, never indicators', () => {
    const raw = {
      sid: 'rt_1',
      search_name: null,
      results_link: 'http://Splunk-HF:8000/app/search/search?sid=rt_1',
      server_uri: 'https://127.0.0.1:8089',
      result: { count: '3' },
    };
    expect(pairs(raw)).toEqual([]);
    expect(splunk.normalize(raw).http_url).toBeUndefined();
    expect(splunk.normalize(raw).extra).toMatchObject({ server_uri: 'https://127.0.0.1:8089' });
  });

  it('parses _time as epoch seconds (or ISO) and gives null, not now, otherwise', () => {
    const at = (time: unknown) => splunk.normalize(hook({ _time: time })).occurred_at;
    expect(at('1705312200.0')).toBe('2024-01-15T09:50:00.000Z');
    expect(at(1705312200.5)).toBe('2024-01-15T09:50:00.500Z');
    expect(at('2024-01-15T09:50:00.000+00:00')).toBe('2024-01-15T09:50:00.000Z');
    expect(at(undefined)).toBeNull();
    expect(at('soon')).toBeNull();
  });

  it('keeps count-like fields, numbers as numbers, under snake_case keys', () => {
    const extra = splunk.normalize(hook({ count: 50, 'Failed Count': '3', src_port: 51515, comment: 'dropped' })).extra;
    expect(extra).toMatchObject({ count: 50, failed_count: '3', src_port: 51515 });
    expect(extra).not.toHaveProperty('comment');
  });

  it('takes the first member of multivalue fields for normalized fields', () => {
    const alert = splunk.normalize(hook({ user: ['unknown', 'alice', 'bob'], url: ['https://a.example/'] }));
    expect(alert.actor_username).toBe('alice');
    expect(alert.http_url).toBe('https://a.example/');
  });

  it('falls back to search_name for the rule and is null without either', () => {
    expect(splunk.detectionRule?.(hook({}))).toEqual({ source_rule_id: 'Search', name: 'Search' });
    expect(splunk.detectionRule?.({ sid: 'x', result: {} })).toBeNull();
  });
});

describe('splunk: verifySignature', () => {
  const rawBody = new TextEncoder().encode('{}');
  const verify = (headers: Record<string, string>) => splunk.verifySignature?.({ headers, rawBody, secret: 'tok-123' });

  it('accepts the shared secret in x-splunk-webhook-secret', () => {
    expect(verify({ 'x-splunk-webhook-secret': 'tok-123' })).toBe(true);
  });

  it('rejects a wrong, differently sized or missing secret', () => {
    expect(verify({ 'x-splunk-webhook-secret': 'tok-124' })).toBe(false);
    expect(verify({ 'x-splunk-webhook-secret': 'tok-1234' })).toBe(false);
    expect(verify({ 'x-splunk-webhook-secret': '' })).toBe(false);
    expect(verify({ authorization: 'tok-123' })).toBe(false);
    expect(verify({})).toBe(false);
  });
});
