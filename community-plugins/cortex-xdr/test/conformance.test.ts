import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { alertSourceConformance } from '@calseta/plugin-sdk/testing';
import { describe, expect, it } from 'vitest';
import { cortexXdrSource, plugin, xdrSeverity } from '../src/index.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), 'utf8'));

const alert = fixture('alert-powershell-c2');
const incident = fixture('incident-extra-data');

alertSourceConformance(
  cortexXdrSource,
  {
    valid: [
      {
        name: 'alert (get_alerts_multi_events)',
        payload: alert,
        expect: {
          title: 'Suspicious PowerShell Command Line on ENG-WS-0456',
          severity: 'High',
          occurred_at: '2026-11-23T09:35:42.118Z',
          detection_rule_id: 'a1b2c3d4-0000-4e5f-8a9b-112233445566',
          tags: ['cortex-xdr', 'Execution', 'T1059.001'],
          indicators: [
            { type: 'ip', value: '10.12.4.56' },
            { type: 'domain', value: 'ENG-WS-0456' },
            { type: 'account', value: 'CORP\\rpatel' },
            { type: 'ip', value: '45.148.10.92' },
            { type: 'hash_sha256', value: 'de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c' },
            { type: 'hash_md5', value: '7353f60b1739074eb17c5f4dddefe239' },
            { type: 'domain', value: 'cdn-telemetry-sync.com' },
          ],
        },
      },
      {
        name: 'incident with its alerts (get_incident_extra_data)',
        payload: incident,
        expect: {
          severity: 'Critical',
          occurred_at: '2026-11-23T10:35:01.000Z',
          detection_rule_id: null,
          tags: ['incident', 'Credential Access', 'T1003.001'],
          indicators: [
            { type: 'ip', value: '10.8.1.22' },
            { type: 'domain', value: 'FIN-SRV-02' },
            { type: 'account', value: 'CORP\\svc_backup' },
            { type: 'hash_sha256', value: '01b407af0200b66a34d9b1fa6d9eaab758efa36a36bb99b554384f59f8690b1a' },
            { type: 'hash_sha256', value: 'b5a1d2c3e4f5061728394a5b6c7d8e9f0a1b2c3d4e5f60718293a4b5c6d7e8f9' },
          ],
        },
      },
    ],
    invalid: [
      { name: 'neither alert nor incident', payload: { name: 'x', severity: 'high' } },
      { name: 'alert without name or description', payload: { alert_id: '1', severity: 'low' } },
      { name: 'incident without id', payload: { incident: { incident_name: 'x' } } },
    ],
    severities: [
      { name: 'API SEV_ spelling', payload: { alert_id: '1', name: 'n', severity: 'SEV_040_HIGH' }, severity: 'High' },
      { name: 'medium', payload: { alert_id: '1', name: 'n', severity: 'medium' }, severity: 'Medium' },
      {
        name: 'informational',
        payload: { alert_id: '1', name: 'n', severity: 'informational' },
        severity: 'Informational',
      },
      { name: 'unknown', payload: { alert_id: '1', name: 'n', severity: 'unknown' }, severity: 'Pending' },
    ],
    signature: {
      secret: 'xdr-relay-secret',
      sign: (body, secret) => ({ 'x-xdr-signature': createHmac('sha256', secret).update(body).digest('hex') }),
    },
  },
  { describe, it },
);

describe('cortex xdr specifics', () => {
  it('exports a plugin with the source', () => {
    expect(plugin.sources.map((s) => s.name)).toEqual(['cortex_xdr']);
  });

  it('keeps the incident link, status and hosts as facts', () => {
    expect(cortexXdrSource.normalize(incident).extra).toMatchObject({
      incident_id: '1337',
      xdr_url: expect.stringContaining('caseId=1337'),
      hosts: ['fin-srv-02'],
      alert_count: 4,
    });
  });

  it('reads the process command line of an alert', () => {
    expect(cortexXdrSource.normalize(alert).extra).toMatchObject({
      process_name: 'powershell.exe',
      command_line: expect.stringContaining('-enc'),
    });
  });

  it('treats the SEV_ prefix and case alike', () => {
    expect(xdrSeverity('SEV_050_CRITICAL')).toBe('Critical');
    expect(xdrSeverity('Low')).toBe('Low');
    expect(xdrSeverity(undefined)).toBe('Pending');
  });
});
