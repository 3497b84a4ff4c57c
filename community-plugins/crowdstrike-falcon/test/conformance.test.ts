import { readFileSync } from 'node:fs';
import { alertSourceConformance } from '@calseta/plugin-sdk/testing';
import { describe, expect, it } from 'vitest';
import { falconSeverity, falconSource, plugin } from '../src/index.js';

const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../fixtures/${name}.json`, import.meta.url), 'utf8'));

const streamDetection = fixture('event-stream-detection-summary');
const eppDetection = fixture('event-stream-epp-detection');
const apiAlert = fixture('alerts-api-v2-alert');

alertSourceConformance(
  falconSource,
  {
    valid: [
      {
        name: 'Event Streams DetectionSummaryEvent',
        payload: streamDetection,
        expect: {
          title: 'Credential Dumping on FIN-WS-0142',
          severity: 'Critical',
          occurred_at: '2025-11-23T09:46:50.000Z',
          detection_rule_id: '10197',
          tags: ['crowdstrike', 'Credential Access'],
          indicators: [
            { type: 'ip', value: '10.20.30.142' },
            { type: 'domain', value: 'FIN-WS-0142' },
            { type: 'account', value: 'jsmith' },
            { type: 'hash_sha256', value: 'a0e2b6bd2e0f6e3c5d74b3a1c9c3b5a8e2f64a1d9b7c4e3f2a1b0c9d8e7f6a5b' },
            { type: 'hash_md5', value: '7c2b1f1a3e4d5c6b7a8f9e0d1c2b3a4f' },
            { type: 'ip', value: '185.220.101.34' },
            { type: 'domain', value: 'update-cdn-check.net' },
          ],
        },
      },
      {
        name: 'Event Streams EppDetectionSummaryEvent',
        payload: eppDetection,
        expect: {
          title: 'SuspiciousPowerShellDownload on HR-LT-0077',
          severity: 'High',
          occurred_at: '2025-11-23T10:46:51.000Z',
          detection_rule_id: '10302',
          tags: ['T1059.001'],
          indicators: [
            { type: 'ip', value: '10.44.2.77' },
            { type: 'account', value: 'CORP\\mlopez' },
            { type: 'hash_sha256', value: 'de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c' },
          ],
        },
      },
      {
        name: 'Alerts API v2 alert',
        payload: apiAlert,
        expect: {
          title: 'MaliciousDocument on SALES-LT-0019',
          severity: 'Critical',
          occurred_at: '2026-11-23T10:15:42.118Z',
          detection_rule_id: '5702',
          indicators: [
            { type: 'ip', value: '10.60.8.19' },
            { type: 'ip', value: '203.0.113.77' },
            { type: 'domain', value: 'SALES-LT-0019' },
            { type: 'account', value: 'akhan' },
            { type: 'hash_md5', value: '5d41402abc4b2a76b9719d911017c592' },
          ],
        },
      },
    ],
    invalid: [
      {
        name: 'another Event Streams event type',
        payload: { metadata: { eventType: 'AuthActivityAuditEvent' }, event: {} },
      },
      { name: 'Event Streams detection without event', payload: { metadata: { eventType: 'DetectionSummaryEvent' } } },
      { name: 'alert without composite_id', payload: { name: 'X', severity: 50 } },
      { name: 'detection without name or description', payload: { composite_id: 'cid:ind:x' } },
    ],
    severities: [
      { name: 'Event Streams 1–5 scale', payload: { composite_id: 'a', name: 'n', severity: 2 }, severity: 'Low' },
      { name: 'Alerts API 0–100 score', payload: { composite_id: 'a', name: 'n', severity: 55 }, severity: 'Medium' },
      {
        name: 'name wins over score',
        payload: { composite_id: 'a', name: 'n', severity: 99, severity_name: 'Low' },
        severity: 'Low',
      },
      { name: 'no severity', payload: { composite_id: 'a', name: 'n' }, severity: 'Pending' },
    ],
    signature: {
      secret: 'falcon-shared-secret',
      sign: (_body, secret) => ({ 'x-calseta-webhook-secret': secret }),
      coversBody: false,
    },
  },
  { describe, it },
);

describe('crowdstrike falcon specifics', () => {
  it('exports a plugin with the source', () => {
    expect(plugin.name).toBe('@calseta-community/crowdstrike-falcon');
    expect(plugin.sources.map((s) => s.name)).toEqual(['crowdstrike_falcon']);
  });

  it('keeps process lineage and the console link as facts', () => {
    const alert = falconSource.normalize(streamDetection);
    expect(alert.extra).toMatchObject({
      falcon_link: expect.stringContaining('falcon.crowdstrike.com'),
      file_name: 'procdump64.exe',
      parent_process: expect.stringContaining('cmd.exe'),
      action_taken: 'Prevention, process killed.',
    });
  });

  it('maps MITRE ids into the detection rule', () => {
    expect(falconSource.detectionRule?.(eppDetection)).toMatchObject({
      source_rule_id: '10302',
      mitre_tactics: ['TA0002', 'Execution'],
      mitre_techniques: ['T1059.001', 'PowerShell'],
    });
  });

  it('reads Informational at the bottom of both scales', () => {
    expect(falconSeverity({ severity: 1 })).toBe('Informational');
    expect(falconSeverity({ severity: 10 })).toBe('Informational');
  });
});
