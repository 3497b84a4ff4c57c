import { readdirSync, readFileSync } from 'node:fs';
import { DetectionRuleRefSchema, ExtractedIndicatorSchema, NormalizedAlertSchema } from '@calseta/schema';
import { describe, expect, it } from 'vitest';
import { builtinSources, elasticSource, genericSource, sentinelSource, splunkSource } from './index.js';

const FIXTURES = new URL('../fixtures/', import.meta.url);

/** Every vendor payload of `corpus/<source>/` (not the `.expected.json` beside it). */
function corpus(): unknown[] {
  const root = new URL('../corpus/', import.meta.url);
  const sources = readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory());
  return sources.flatMap(({ name: source }) =>
    readdirSync(new URL(`${source}/`, root))
      .filter((file) => file.endsWith('.json') && !file.endsWith('.expected.json'))
      .sort()
      .map((file) => JSON.parse(readFileSync(new URL(`${source}/${file}`, root), 'utf8')) as unknown),
  );
}

function fixtures(): Array<{ file: string; raw: unknown }> {
  return readdirSync(FIXTURES)
    .filter((file) => file.endsWith('.json'))
    .sort()
    .map((file) => ({ file, raw: JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as unknown }));
}

describe('builtinSources', () => {
  it('lists the four first-party sources with unique names', () => {
    expect(builtinSources.map((s) => [s.name, s.displayName])).toEqual([
      ['sentinel', 'Microsoft Sentinel'],
      ['elastic', 'Elastic Security'],
      ['splunk', 'Splunk'],
      ['generic', 'Generic Webhook'],
    ]);
    expect(builtinSources).toEqual([sentinelSource, elasticSource, splunkSource, genericSource]);
    expect(Object.isFrozen(builtinSources)).toBe(true);
  });

  it('documents its extractions', () => {
    const documented = (name: string) =>
      builtinSources
        .find((s) => s.name === name)
        ?.documentedExtractions.map((d) => `${d.field_path}:${d.indicator_type}`);
    // Every entity kind is read from SecurityAlert `Entities`, incident `relatedEntities` and Graph `evidence`.
    expect(documented('sentinel')).toEqual(
      expect.arrayContaining([
        'Entities.ip:ip',
        'Entities.account:account',
        'Entities.host:domain',
        'Entities.url:url',
        'Entities.filehash:hash_sha256',
        'Entities.filehash:hash_sha1',
        'Entities.filehash:hash_md5',
        'relatedEntities.account:account',
        'evidence.filehash:hash_sha256',
        'relatedEntities.mailbox:email',
        'Entities.dns:domain',
      ]),
    );
    expect(documented('sentinel')).toHaveLength(36);
    expect(documented('elastic')).toEqual(
      expect.arrayContaining(['host.ip:ip', 'dll[].hash.sha256:hash_sha256', 'threat.enrichments[].indicator.ip:ip']),
    );
    expect(documented('elastic')).toHaveLength(37);
    expect(documented('splunk')).toEqual([
      'result.src_ip:ip',
      'result.dest_ip:ip',
      'result.src:ip',
      'result.dest:ip',
      'result.user:account',
      'result.src_user:account',
      'result.sha256:hash_sha256',
      'result.md5:hash_md5',
      'result.sha1:hash_sha1',
      'result.file_hash:hash_sha256',
      'result.url:url',
      'result.domain:domain',
      'result.url_domain:domain',
      'result.query:domain',
      'result.sender:email',
    ]);
    expect(documented('generic')?.[0]).toBe('indicators[]:ip');
    expect(documented('generic')).toHaveLength(17);
    for (const source of builtinSources) {
      for (const d of source.documentedExtractions) {
        expect(d.description.length).toBeGreaterThan(0);
      }
    }
  });

  it('routes every fixture to exactly one source that accepts it', () => {
    for (const { file, raw } of fixtures()) {
      const accepting = builtinSources.filter((s) => s.validate(raw).ok).map((s) => s.name);
      const owner = builtinSources.find((s) => file.includes(s.name))?.name;
      expect(owner, file).toBeDefined();
      expect(accepting, file).toContain(owner);
      expect(
        accepting.filter((n) => n !== 'generic'),
        file,
      ).toEqual([owner]);
    }
  });

  it('produces schema-valid output for every fixture', () => {
    for (const { file, raw } of fixtures()) {
      const source = builtinSources.find((s) => file.includes(s.name));
      if (!source) {
        throw new Error(`no source for ${file}`);
      }
      const alert = NormalizedAlertSchema.parse(source.normalize(raw));
      expect(alert.source_name, file).toBe(source.name);
      expect(alert.occurred_at, file).not.toBeNull();
      const extracted = source.extractIndicators(raw);
      expect(extracted.length, file).toBeGreaterThan(0);
      for (const found of extracted) {
        ExtractedIndicatorSchema.parse(found);
      }
      DetectionRuleRefSchema.parse(source.detectionRule?.(raw));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzzing: no dependency, a seeded PRNG and a generator biased towards the keys the sources read.

function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const KEYS = [
  'properties',
  'Entities',
  'Type',
  'type',
  'Address',
  'Name',
  'UPNSuffix',
  'HostName',
  'Algorithm',
  'Value',
  'value',
  'title',
  'severity',
  'labels',
  'labelName',
  'relatedAnalyticRuleIds',
  'additionalData',
  'firstActivityTimeUtc',
  'kibana.alert.rule.name',
  'kibana.alert.rule.uuid',
  'kibana.alert.rule.threat',
  'kibana',
  'alert',
  'rule',
  'source.ip',
  'host.ip',
  'user.name',
  '@timestamp',
  'result',
  'search_name',
  'sid',
  '_time',
  '_raw',
  'src_ip',
  'src',
  'user',
  'count',
  'indicators',
  'occurred_at',
  'tags',
  'extra',
  'rule_id',
  '__proto__',
  'constructor',
  'toString',
  '',
  '.',
  'a..b',
];

const STRINGS = [
  '',
  ' ',
  'high',
  'None',
  'Critical',
  'constructor',
  '__proto__',
  'hasOwnProperty',
  'ip',
  'account',
  'host',
  'url',
  'filehash',
  'SHA256',
  '1.2.3.4',
  '2001:db8::1',
  '2024-01-15T10:29:50.000Z',
  '1705312200.0',
  '99999999999999999999',
  '-1',
  'not a date',
  '/a/b/',
  '/',
  'ünïcødé ✓',
  '\u0000',
];

function randomValue(rand: () => number, depth: number): unknown {
  const roll = rand();
  if (depth <= 0 || roll < 0.45) {
    const kind = Math.floor(rand() * 7);
    switch (kind) {
      case 0:
        return null;
      case 1:
        return rand() < 0.5;
      case 2:
        return Math.floor(rand() * 2e12) - 1e12;
      case 3:
        return rand() * 1e20;
      default:
        return STRINGS[Math.floor(rand() * STRINGS.length)];
    }
  }
  if (roll < 0.65) {
    return Array.from({ length: Math.floor(rand() * 5) }, () => randomValue(rand, depth - 1));
  }
  const entries = Array.from(
    { length: Math.floor(rand() * 7) },
    () => [KEYS[Math.floor(rand() * KEYS.length)] as string, randomValue(rand, depth - 1)] as const,
  );
  return Object.fromEntries(entries);
}

/** Replace random nodes of a real payload, so that deep paths are reached with wrong shapes. */
function mutate(value: unknown, rand: () => number, depth = 0): unknown {
  if (rand() < 0.08) {
    return randomValue(rand, 2);
  }
  if (Array.isArray(value)) {
    return value.map((v) => mutate(v, rand, depth + 1));
  }
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, mutate(v, rand, depth + 1)]));
  }
  return value;
}

/** A JSON round trip, as ingest does: only JSON-representable values reach a plugin. */
function asJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value) ?? 'null');
}

function exercise(value: unknown): void {
  for (const source of builtinSources) {
    const validation = source.validate(value);
    expect(typeof validation.ok).toBe('boolean');
    if (!validation.ok) {
      expect(validation.issues.length).toBeGreaterThan(0);
      for (const issue of validation.issues) {
        expect(typeof issue.path).toBe('string');
        expect(issue.message.length).toBeGreaterThan(0);
      }
    }
    // normalize must yield a schema-valid alert for any JSON, valid or not.
    const parsed = NormalizedAlertSchema.safeParse(source.normalize(value));
    expect(parsed.success, `${source.name}: ${JSON.stringify(value)}`).toBe(true);
    for (const found of source.extractIndicators(value)) {
      expect(ExtractedIndicatorSchema.safeParse(found).success).toBe(true);
    }
    const rule = source.detectionRule?.(value) ?? null;
    if (rule !== null) {
      expect(DetectionRuleRefSchema.safeParse(rule).success).toBe(true);
    }
    const headers = asJson(randomValue(prng(JSON.stringify(value)?.length ?? 0), 1));
    expect(
      typeof source.verifySignature?.({
        headers: (typeof headers === 'object' && headers !== null ? headers : {}) as Record<string, string>,
        rawBody: new TextEncoder().encode(JSON.stringify(value) ?? ''),
        secret: 's',
      }),
    ).toBe('boolean');
  }
}

describe('never throws on garbage', () => {
  it('survives 400 random JSON values', () => {
    const rand = prng(20240115);
    for (let i = 0; i < 400; i++) {
      exercise(asJson(randomValue(rand, 4)));
    }
  });

  it('survives 400 mutations of the real fixtures', () => {
    const rand = prng(7);
    const all = fixtures();
    for (let i = 0; i < 400; i++) {
      const base = all[i % all.length];
      exercise(asJson(mutate(base?.raw, rand)));
    }
  });

  it('survives 400 mutations of the vendor corpus payloads', () => {
    const rand = prng(16);
    const all = corpus();
    expect(all.length).toBeGreaterThan(20);
    for (let i = 0; i < 400; i++) {
      exercise(asJson(mutate(all[i % all.length], rand)));
    }
  });

  it('survives prototype-shaped keys and values', () => {
    const nasty = JSON.parse(
      '{"__proto__":{"title":"x"},"constructor":"high","title":"T","severity":"constructor",' +
        '"properties":{"title":"T","severity":"__proto__","labels":[{"labelName":"__proto__"}]},' +
        '"Entities":[{"Type":"__proto__"},{"Type":"constructor","Address":"1.1.1.1"}],' +
        '"kibana.alert.severity":"constructor","kibana.alert.rule.name":"R",' +
        '"result":{"urgency":"__proto__","__proto__":"x","constructor":{"count":1}},"sid":"s",' +
        '"extra":{"__proto__":{"polluted":true},"ok":1}}',
    ) as unknown;
    exercise(nasty);
    for (const source of builtinSources) {
      // A prototype word is never resolved through the prototype: Pending, or (where the source reads
      // severities with normalizeSeverity) an unmapped value shown as Medium.
      expect(['Pending', 'Medium'], source.name).toContain(source.normalize(nasty).severity);
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const extra = genericSource.normalize(nasty).extra ?? {};
    expect(extra.ok).toBe(1);
    expect(Object.hasOwn(extra, '__proto__')).toBe(false);
    expect(Object.getPrototypeOf(extra)).toBe(Object.prototype);
  });

  it('never stamps "now" on a payload without a time', () => {
    const timeless: unknown[] = [
      { properties: { title: 'T', severity: 'High' }, Entities: [] },
      { 'kibana.alert.rule.name': 'R' },
      { search_name: 'S', result: {} },
      { title: 'T' },
    ];
    for (const [i, source] of builtinSources.entries()) {
      expect(source.normalize(timeless[i]).occurred_at, source.name).toBeNull();
    }
  });
});
