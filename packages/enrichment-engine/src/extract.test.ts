import { type ExtractionValueType, type FieldExtractionInput, FieldExtractionSchema } from '@calseta/schema';
import { describe, expect, it } from 'vitest';
import { coerce, extractFields } from './extract.js';
import { resolvePath, splitPath } from './path.js';

describe('resolvePath', () => {
  const doc = {
    data: { id: 'x', zero: 0, empty: '', nothing: null, flag: false },
    devices: [
      { name: 'lap-1', edr: { status: 'ok' }, ips: ['10.0.0.1', '10.0.0.2'] },
      { name: 'lap-2', edr: null, ips: ['10.0.0.3'] },
      { name: 'lap-3' },
    ],
    categories: { engineA: 'malware', engineB: 'phishing' },
    'dotted.key': 1,
  };

  it.each<[string, unknown]>([
    ['data.id', 'x'],
    ['data.zero', 0],
    ['data.empty', ''],
    ['data.flag', false],
    ['data.nothing', undefined],
    ['data.nothing.deeper', undefined],
    ['data.missing', undefined],
    ['devices.0.name', 'lap-1'],
    ['devices[1].name', 'lap-2'],
    ['devices.0.ips.1', '10.0.0.2'],
    ['devices[0].ips[1]', '10.0.0.2'],
    ['devices.9.name', undefined],
    ['devices.x', undefined],
    ['devices.-1.name', undefined],
    ['devices.*.name', ['lap-1', 'lap-2', 'lap-3']],
    ['devices[*].edr.status', ['ok']],
    ['devices.*.ips', [['10.0.0.1', '10.0.0.2'], ['10.0.0.3']]],
    ['devices.*.ips.*', ['10.0.0.1', '10.0.0.2', '10.0.0.3']],
    ['devices.*.missing', []],
    ['categories.*', ['malware', 'phishing']],
    ['data.id.*', undefined],
    ['data.id.length', undefined],
    ['data.constructor', undefined],
    ['__proto__', undefined],
    ['devices.length', undefined],
    ['dotted.key', undefined],
  ])('%s → %j', (path, expected) => {
    expect(resolvePath(doc, path)).toEqual(expected);
  });

  it('splitPath normalizes brackets', () => {
    expect(splitPath('a[0].b[*].c')).toEqual(['a', '0', 'b', '*', 'c']);
    expect(splitPath('[2].x')).toEqual(['2', 'x']);
  });
});

describe('coerce', () => {
  const ok = (value: unknown) => ({ ok: true, value });
  const fail = { ok: false };
  it.each<[ExtractionValueType, unknown, unknown]>([
    ['string', 'DE', ok('DE')],
    ['string', 5, ok('5')],
    ['string', true, ok('true')],
    ['string', { a: 1 }, ok('{"a":1}')],
    ['int', 42, ok(42)],
    ['int', 3.7, ok(3)],
    ['int', -3.7, ok(-3)],
    ['int', '42', ok(42)],
    ['int', ' -7 ', ok(-7)],
    ['int', '3.5', fail],
    ['int', 'abc', fail],
    ['int', '', fail],
    ['int', true, ok(1)],
    ['int', [1], fail],
    ['float', '3.5', ok(3.5)],
    ['float', 2, ok(2)],
    ['float', '1e2', ok(100)],
    ['float', 'x', fail],
    ['float', 'inf', fail],
    ['float', false, ok(0)],
    ['number', '12', ok(12)],
    ['number', 'twelve', fail],
    ['bool', 'true', ok(true)],
    ['bool', 'YES', ok(true)],
    ['bool', '1', ok(true)],
    ['bool', 'no', ok(false)],
    ['bool', 'false', ok(false)],
    ['bool', 'anything', ok(false)],
    ['bool', 0, ok(false)],
    ['bool', 2, ok(true)],
    ['bool', [], ok(false)],
    ['bool', {}, ok(false)],
    ['bool', { a: 1 }, ok(true)],
    ['bool', true, ok(true)],
    ['list', ['a'], ok(['a'])],
    ['list', 'a', fail],
    ['list', { a: 1 }, fail],
    ['dict', { a: 1 }, ok({ a: 1 })],
    ['dict', ['a'], fail],
    ['any', ['whatever', 1], ok(['whatever', 1])],
  ])('%s(%j) → %j', (type, value, expected) => {
    expect(coerce(value, type)).toEqual(expected);
  });
});

const extraction = (input: FieldExtractionInput) => FieldExtractionSchema.parse(input);

describe('extractFields', () => {
  const vtIp = {
    data: {
      attributes: {
        last_analysis_stats: { malicious: 14, suspicious: '2' },
        country: 'DE',
        asn: '208294',
        tags: ['tor'],
        registrar: 'should not be read for an ip',
        nothing: null,
      },
    },
  };
  const extractions = [
    extraction({
      indicator_type: 'ip',
      source_path: 'data.attributes.last_analysis_stats.malicious',
      target_key: 'malicious_count',
      value_type: 'int',
    }),
    extraction({
      indicator_type: 'domain',
      source_path: 'data.attributes.last_analysis_stats.malicious',
      target_key: 'malicious_count',
      value_type: 'string',
    }),
    extraction({
      indicator_type: 'ip',
      source_path: 'data.attributes.last_analysis_stats.suspicious',
      target_key: 'suspicious_count',
      value_type: 'int',
    }),
    extraction({ indicator_type: 'ip', source_path: 'data.attributes.country', target_key: 'country' }),
    extraction({ indicator_type: 'ip', source_path: 'data.attributes.asn', target_key: 'asn', value_type: 'int' }),
    extraction({ indicator_type: 'ip', source_path: 'data.attributes.tags', target_key: 'tags', value_type: 'list' }),
    extraction({ indicator_type: 'domain', source_path: 'data.attributes.registrar', target_key: 'registrar' }),
    extraction({ indicator_type: 'ip', source_path: 'data.attributes.missing', target_key: 'missing' }),
    extraction({ indicator_type: 'ip', source_path: 'data.attributes.nothing', target_key: 'nothing' }),
    extraction({
      indicator_type: 'ip',
      source_path: 'data.attributes.country',
      target_key: 'as_list',
      value_type: 'list',
    }),
    extraction({ indicator_type: 'ip', source_path: 'data.attributes.country', target_key: 'off', is_active: false }),
  ];

  it('applies only the active extractions of the indicator type being enriched', () => {
    expect(extractFields(vtIp, extractions, 'ip')).toEqual({
      malicious_count: 14,
      suspicious_count: 2,
      country: 'DE',
      asn: 208294,
      tags: ['tor'],
    });
    expect(extractFields(vtIp, extractions, 'domain')).toEqual({
      malicious_count: '14',
      registrar: 'should not be read for an ip',
    });
    expect(extractFields(vtIp, extractions, 'hash_md5')).toEqual({});
  });

  it('reads multi-step raw responses and array elements', () => {
    const raw = {
      user_lookup: { id: '00u1', profile: { login: 'j.martinez@contoso.com' } },
      user_groups: [{ profile: { name: 'Admins' } }, { profile: { name: 'VPN' } }],
    };
    const list = [
      extraction({ indicator_type: 'account', source_path: 'user_lookup.profile.login', target_key: 'login' }),
      extraction({
        indicator_type: 'account',
        source_path: 'user_groups.*.profile.name',
        target_key: 'groups',
        value_type: 'list',
      }),
      extraction({
        indicator_type: 'account',
        source_path: 'user_groups.0.profile.name',
        target_key: 'first_group',
        value_type: 'string',
      }),
    ];
    expect(extractFields(raw, list, 'account')).toEqual({
      login: 'j.martinez@contoso.com',
      groups: ['Admins', 'VPN'],
      first_group: 'Admins',
    });
  });

  it('a later extraction to the same key wins', () => {
    const list = [
      extraction({ indicator_type: 'ip', source_path: 'a', target_key: 'k' }),
      extraction({ indicator_type: 'ip', source_path: 'b', target_key: 'k' }),
    ];
    expect(extractFields({ a: 1, b: 2 }, list, 'ip')).toEqual({ k: 2 });
    expect(extractFields({ a: 1 }, list, 'ip')).toEqual({ k: 1 });
  });
});
