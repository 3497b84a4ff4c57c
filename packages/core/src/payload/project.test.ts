import { describe, expect, it } from 'vitest';
import { projectFacts } from './project.js';

const at = { occurredAt: '2026-03-01T14:23:11.000Z' };
const facts = (type: string, extracted: Record<string, unknown>) =>
  Object.fromEntries(projectFacts(type, extracted, at));

describe('provider facts', () => {
  it('ip: detections as malicious/suspicious/total, AbuseIPDB categories by name, most reported first', () => {
    expect(
      facts('ip', {
        malicious_count: 14,
        suspicious_count: 2,
        harmless_count: 60,
        undetected_count: 17,
        timeout_count: 1,
        abuse_confidence_score: 100,
        total_reports: 1321,
        categories: [18, 22, 18, 15, 18, 22, 99],
        is_tor: true,
        country_code: 'DE',
        isp: 'Tor exit',
      }),
    ).toEqual({
      detections: { malicious: 14, suspicious: 2, total: 94 },
      abuse_confidence: 100,
      reports: 1321,
      categories: ['Brute-Force', 'SSH', 'Hacking', 'category 99'],
      tor: true,
      country: 'DE',
      as_owner: 'Tor exit',
    });
  });

  it('domain: registration date and age at the alert', () => {
    const registered = Date.parse('2026-02-17T00:00:00Z') / 1000;
    expect(facts('domain', { creation_date: registered })).toEqual({ registered: '2026-02-17', age_days: 12 });
  });

  it('account: Entra authentication methods by kind without the password; privileged groups first', () => {
    expect(
      facts('account', {
        account_enabled: false,
        mfa_methods: [
          { '@odata.type': '#microsoft.graph.passwordAuthenticationMethod', id: 'p' },
          { '@odata.type': '#microsoft.graph.phoneAuthenticationMethod', phoneNumber: '+1 555 0100' },
          { '@odata.type': '#microsoft.graph.fido2AuthenticationMethod' },
        ],
        groups: ['Everyone', 'All Staff', 'Finance', 'Global Administrator', 'Backup-Operators', 'VPN', 'Sales'],
      }),
    ).toEqual({
      enabled: false,
      mfa: ['phone', 'fido2'],
      groups: ['Global Administrator', 'Backup-Operators', 'All Staff', 'Finance', '…(+2)'],
    });
  });

  it('a fact keeps its type whatever a provider sends under the source name', () => {
    // A custom provider's `country` object or numeric `status` is not passed off as the fact.
    expect(facts('ip', { country: { name: 'Germany' }, asn: '60729' })).toEqual({});
    expect(facts('account', { status: 3, title: ['x'] })).toEqual({});
  });
});
