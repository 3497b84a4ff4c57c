/**
 * What a mapping author and an analyst see of indicator validation and unreadable severities through the
 * real API: test-extraction lists refused candidates with their reason, hash mappings on identifier fields
 * are refused when written, and an unreadable severity is stored visibly (flagged, filterable, counted).
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

const realWorld = (name: string): Record<string, unknown> =>
  JSON.parse(
    readFileSync(new URL(`../../../packages/integrations/corpus/generic/${name}.json`, import.meta.url), 'utf8'),
  );

let h: Harness;
beforeAll(async () => {
  h = await createHarness();
});
afterAll(() => h.close());

describe('test-extraction shows what validation refused and why', () => {
  it('the Cortex XDR alert: truncated hashes and anonymizer junk refused, the real indicators kept', async () => {
    const res = await h.request('POST', '/v1/indicator-mappings/test-extraction', {
      json: { source_name: 'generic', raw_payload: realWorld('real_sekoia_cortex_xdr_large_upload') },
    });
    expect(res.status).toBe(200);
    const data = res.body.data;
    expect(data.deduplicated.map((i: { type: string; value: string }) => `${i.type} ${i.value}`).sort()).toEqual([
      'account JDOE',
      'ip 1.2.3.4',
    ]);
    expect(data.refused).toContainEqual({
      type: 'hash_sha256',
      value: 'a1c3a3d3522ff153a4',
      field: 'events.0.actor_process_image_sha256',
      pass_name: 'source_plugin',
      reason: 'hash_length',
      detail: '18 hex characters; a hash_sha256 has exactly 64',
    });
    expect(data.refused).toContainEqual(
      expect.objectContaining({ type: 'domain', value: '2023-2024', field: 'host_name', reason: 'domain_invalid' }),
    );
    expect(data.refused_count).toBe(data.refused.length);
    expect(data.indicators_over_cap).toBe(0);
  });

  it('a raw-payload mapping: what it finds is validated like every other pass', async () => {
    const created = await h.request('POST', '/v1/indicator-mappings', {
      json: {
        source_name: 'generic',
        field_path: 'event.SHA1String',
        indicator_type: 'hash_sha1',
        extraction_target: 'raw_payload',
      },
    });
    expect(created.status).toBe(201);
    const res = await h.request('POST', '/v1/indicator-mappings/test-extraction', {
      json: {
        source_name: 'generic',
        // Falcon's all-zero placeholder, as the pre-anonymization Sekoia sample carried it.
        raw_payload: { name: 'Falcon', event: { SHA1String: '0000000000000000000000000000000000000000' } },
      },
    });
    expect(res.body.data.deduplicated).toEqual([]);
    expect(res.body.data.refused).toContainEqual(
      expect.objectContaining({
        field: 'raw_payload.event.SHA1String',
        pass_name: 'raw_payload_mappings',
        reason: 'hash_placeholder',
      }),
    );
    await h.request('DELETE', `/v1/indicator-mappings/${created.body.data.uuid}`);
  });

  it('a hash mapping on an identifier field is refused when written', async () => {
    for (const field_path of ['metadata.customerIDString', 'event.HostGroups', 'tenant_id']) {
      const res = await h.request('POST', '/v1/indicator-mappings', {
        json: { field_path, indicator_type: 'hash_md5', extraction_target: 'raw_payload' },
      });
      expect(res.status, field_path).toBe(422);
      expect(res.body.error.code).toBe('VALIDATION_ERROR');
    }
    const fine = await h.request('POST', '/v1/indicator-mappings', {
      json: { field_path: 'event.MD5String', indicator_type: 'hash_md5', extraction_target: 'raw_payload' },
    });
    expect(fine.status).toBe(201);
  });
});

describe('an unreadable severity stays visible', () => {
  const uuids: Record<string, string> = {};

  beforeAll(async () => {
    for (const [name, severity] of [
      ['unmapped', 'P2'],
      ['mapped', 'severe'],
      ['absent', undefined],
    ] as const) {
      const res = await h.request('POST', '/v1/ingest/generic', {
        json: { title: `Severity ${name}`, ...(severity === undefined ? {} : { severity }) },
      });
      expect(res.status).toBe(202);
      uuids[name] = res.body.data.alert_uuid;
    }
  });

  it('is stored with the visible default, its raw value and a flag; absence alone is Pending', async () => {
    const get = async (name: string) => (await h.request('GET', `/v1/alerts/${uuids[name]}`)).body.data;
    expect(await get('unmapped')).toMatchObject({ severity: 'Medium', severity_raw: 'P2', severity_unmapped: true });
    expect(await get('mapped')).toMatchObject({ severity: 'High', severity_raw: 'severe', severity_unmapped: false });
    expect(await get('absent')).toMatchObject({ severity: 'Pending', severity_raw: null, severity_unmapped: false });
  });

  it('the alert list filters on it and the metrics count it', async () => {
    const list = await h.request('GET', '/v1/alerts?severity_unmapped=true');
    expect(list.status).toBe(200);
    expect(list.body.data.map((a: { uuid: string }) => a.uuid)).toEqual([uuids.unmapped]);
    expect(list.body.data[0]).toMatchObject({ severity_raw: 'P2', severity_unmapped: true });
    const metrics = await h.request('GET', '/v1/metrics/alerts');
    expect(metrics.status).toBe(200);
    expect(metrics.body.data.severity_unmapped_alerts).toBe(1);
  });
});
