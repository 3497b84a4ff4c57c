import { type CorrelationConfig, CorrelationConfigSchema } from '@calseta/schema';
import { describe, expect, it } from 'vitest';
import { Correlator, type EngineAlert } from './engine.js';
import { type AlertEntities, compileExclusions, correlationKeys, lockId } from './keys.js';

const config = (overrides: Partial<CorrelationConfig> = {}) => CorrelationConfigSchema.parse(overrides);
const alertOf = (overrides: Partial<AlertEntities>): AlertEntities => ({
  sourceName: 'generic',
  detectionRuleId: null,
  indicators: [],
  hostnames: [],
  groups: {},
  ...overrides,
});
const keysOf = (alert: AlertEntities, c = config()) => correlationKeys(alert, c, compileExclusions(c));
const link = (id: number, type: string, value: string, source_field: string | null = null) => ({
  id,
  type,
  value,
  source_field,
});

describe('correlation keys', () => {
  it('public IPs count; private, documentation and excluded ranges do not', () => {
    const alert = alertOf({
      indicators: [
        link(1, 'ip', '185.220.101.47'),
        link(2, 'ip', '10.0.0.5'),
        link(3, 'ip', '192.0.2.10'),
        link(4, 'ip', '52.95.110.1'),
        link(5, 'ip', '::ffff:192.168.1.1'),
      ],
    });
    expect(keysOf(alert).map((k) => k.entity?.value)).toEqual(['185.220.101.47', '52.95.110.1']);
    const excluded = keysOf(alert, config({ excluded_cidrs: ['52.95.0.0/16'] }));
    expect(excluded.map((k) => k.entity?.value)).toEqual(['185.220.101.47']);
  });

  it('a host name is the host entity, once, whether or not it is also a domain indicator', () => {
    const bare = keysOf(alertOf({ hostnames: ['FIN-WS-042', null] }));
    expect(bare.map((k) => k.entity)).toEqual([{ type: 'host', value: 'fin-ws-042' }]);
    expect(bare[0]?.key).toMatch(/^h:[0-9a-f]{40}$/);
    const fqdn = keysOf(
      alertOf({
        hostnames: ['dc01.corp.example.com'],
        indicators: [link(9, 'domain', 'dc01.corp.example.com', 'Entities.host')],
      }),
    );
    expect(fqdn.map((k) => [k.key, k.entity?.type])).toEqual([['i:9', 'host']]);
  });

  it('the rule adds a key per entity; the source grouping a key per group field; placeholders none', () => {
    const keys = keysOf(
      alertOf({
        sourceName: 'sentinel',
        detectionRuleId: 7,
        indicators: [link(1, 'account', 'alice@contoso.com')],
        groups: { sentinel_incident_number: '59', elastic_group_id: 'N/A', splunk_notable_event_id: '' },
      }),
    );
    expect(keys.map((k) => [k.kind, k.key])).toEqual([
      ['entity', 'i:1'],
      ['rule_entity', 'r:7:i:1'],
      ['source_group', expect.stringMatching(/^g:[0-9a-f]{40}$/)],
    ]);
    expect(keys[2]?.sourceGroup).toEqual({ source_name: 'sentinel', field: 'sentinel_incident_number', value: '59' });
  });

  it('types that do not count and excluded values (whole, any case) add nothing', () => {
    const alert = alertOf({
      indicators: [link(1, 'account', 'SVC_Scanner@contoso.com'), link(2, 'url', 'https://a.example/x')],
    });
    const c = config({ entity_types: ['account'], excluded_values: ['svc_scanner@contoso.com'] });
    expect(keysOf(alert, c)).toEqual([]);
  });

  it('lock ids are stable signed 64-bit numbers', () => {
    expect(lockId('i:1')).toBe(lockId('i:1'));
    expect(lockId('i:1')).not.toBe(lockId('i:2'));
    expect(lockId('i:1') >= -(2n ** 63n) && lockId('i:1') < 2n ** 63n).toBe(true);
  });
});

describe('the engine', () => {
  const c = config({ prevalence_cap: 3, window_minutes: 60 });
  const ex = compileExclusions(c);
  let nextId = 1;
  const alert = (entities: Partial<AlertEntities>, minutes: number): EngineAlert => {
    const id = nextId++;
    return {
      id,
      uuid: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
      title: `alert ${id}`,
      severity: 'Low',
      occurredAt: minutes * 60_000,
      detectionRuleUuid: null,
      keys: correlationKeys(alertOf(entities), c, ex),
    };
  };

  it('opens on the second related alert, joins later ones, ignores alerts outside the window', () => {
    const engine = new Correlator(c, () => 1);
    const a = alert({ indicators: [link(1, 'account', 'a@x.com')] }, 0);
    const b = alert({ indicators: [link(1, 'account', 'a@x.com')] }, 30);
    const late = alert({ indicators: [link(1, 'account', 'a@x.com')] }, 200);
    expect(engine.place(a)).toBeNull();
    const opened = engine.place(b);
    expect(opened).toMatchObject({ opened: true, incident: { ref: 'new:1' } });
    expect(opened?.members.map((m) => m.alert.id)).toEqual([b.id, a.id]);
    expect(opened?.members[1]?.reason.matched_alert_uuid).toBe(b.uuid);
    expect(engine.place(late)).toBeNull();
  });

  it('a prevalent value does not correlate by itself; a closed incident takes no one', () => {
    const prevalent = new Correlator(c, () => 4);
    prevalent.place(alert({ indicators: [link(2, 'ip', '52.95.110.1')] }, 0));
    expect(prevalent.place(alert({ indicators: [link(2, 'ip', '52.95.110.1')] }, 1))).toBeNull();
    const closed = new Correlator(c, () => 1);
    const member = alert({ indicators: [link(3, 'account', 'c@x.com')] }, 0);
    closed.know(
      member,
      member.keys.map((k) => k.key),
      { ref: 'db:9', open: false },
    );
    expect(closed.place(alert({ indicators: [link(3, 'account', 'c@x.com')] }, 1))).toBeNull();
  });

  it('needs min_shared_entities on entities alone', () => {
    const two = config({ min_shared_entities: 2 });
    const engine = new Correlator(two, () => 1);
    const exTwo = compileExclusions(two);
    const mk = (links: ReturnType<typeof link>[]) => ({
      ...alert({}, 0),
      keys: correlationKeys(alertOf({ indicators: links }), two, exTwo),
    });
    engine.place(mk([link(4, 'account', 'd@x.com'), link(5, 'ip', '81.2.69.142')]));
    expect(engine.place(mk([link(4, 'account', 'd@x.com')]))).toBeNull();
    expect(engine.place(mk([link(4, 'account', 'd@x.com'), link(5, 'ip', '81.2.69.142')]))?.opened).toBe(true);
  });

  it('examines a bounded number of known alerts per key, however long a storm runs', () => {
    const engine = new Correlator(c, () => 1);
    const ruleKeys = correlationKeys(
      alertOf({ detectionRuleId: 5, hostnames: ['storm-host'] }),
      config({ entity_types: [] }),
      compileExclusions(config({ entity_types: [] })),
    );
    expect(ruleKeys).toEqual([]); // no entity that counts: no rule key either
    const keys = correlationKeys(alertOf({ detectionRuleId: 5, hostnames: ['storm-host'] }), c, ex).filter(
      (k) => k.kind === 'rule_entity',
    );
    let reads = 0;
    for (let i = 0; i < 5000; i++) {
      const known = { uuid: `u${i}`, title: 't', occurredAt: 0 } as {
        id: number;
        uuid: string;
        title: string;
        occurredAt: number;
      };
      Object.defineProperty(known, 'id', {
        get: () => {
          reads++;
          return 100_000 + i;
        },
      });
      engine.know(known, [keys[0]?.key as string], { ref: 'db:1', open: true });
    }
    reads = 0;
    const placed = engine.place({ ...alert({}, 1), keys });
    expect(placed?.incident.ref).toBe('db:1');
    expect(reads).toBeLessThan(500);
  });
});
