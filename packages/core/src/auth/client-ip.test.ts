import { describe, expect, it } from 'vitest';
import { clientIp, parseTrustedProxies } from './client-ip.js';
import { rateLimitClassOf } from './rate-limit.js';

describe('clientIp', () => {
  const trusted = parseTrustedProxies('10.0.0.0/8, 192.168.1.1, fd00::/8');

  it('is the peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    expect(clientIp('203.0.113.1', '1.2.3.4', [])).toBe('203.0.113.1');
    expect(clientIp('10.0.0.1', '1.2.3.4', [])).toBe('10.0.0.1');
  });

  it('is the peer when the peer is not a trusted proxy', () => {
    expect(clientIp('203.0.113.1', '1.2.3.4', trusted)).toBe('203.0.113.1');
  });

  it('walks X-Forwarded-For from the right through trusted hops only', () => {
    expect(clientIp('10.0.0.1', '198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(clientIp('10.0.0.1', '6.6.6.6, 198.51.100.7, 192.168.1.1', trusted)).toBe('198.51.100.7');
    expect(clientIp('::ffff:10.0.0.1', '198.51.100.7', trusted)).toBe('198.51.100.7');
    expect(clientIp('fd00::1', '2001:db8::5', trusted)).toBe('2001:db8::5');
  });

  it('stops at a malformed entry, and all-trusted chains end at the left-most', () => {
    expect(clientIp('10.0.0.1', 'not-an-ip, 10.0.0.2', trusted)).toBe('10.0.0.2');
    expect(clientIp('10.0.0.1', '10.0.0.3, 10.0.0.2', trusted)).toBe('10.0.0.3');
    expect(clientIp('10.0.0.1', undefined, trusted)).toBe('10.0.0.1');
  });

  it('refuses a malformed TRUSTED_PROXIES entry', () => {
    expect(() => parseTrustedProxies('10.0.0.0/8, proxy.local')).toThrow(/TRUSTED_PROXIES/);
    expect(parseTrustedProxies('')).toEqual([]);
  });
});

describe('rateLimitClassOf', () => {
  it('maps routes to the reference classes', () => {
    expect(rateLimitClassOf('POST', '/v1/ingest/:source_name')).toBe('ingest');
    expect(rateLimitClassOf('POST', '/v1/alerts')).toBe('ingest');
    expect(rateLimitClassOf('GET', '/v1/alerts')).toBe('authenticated');
    expect(rateLimitClassOf('POST', '/v1/enrichments')).toBe('enrichment');
    expect(rateLimitClassOf('POST', '/v1/alerts/:alert_uuid/enrich')).toBe('enrichment');
    expect(rateLimitClassOf('POST', '/v1/enrichment-providers/:provider_uuid/test')).toBe('enrichment');
    expect(rateLimitClassOf('POST', '/v1/workflows/:workflow_uuid/execute')).toBe('workflow_execute');
    expect(rateLimitClassOf('POST', '/v1/workflows/:workflow_uuid/test')).toBe('authenticated');
  });
});
