import { describe, expect, it } from 'vitest';
import { getPath, isRecord } from './helpers.js';

/** The original (segment-array) reading of a dotted path: the rewrite must answer exactly as it did. */
function reference(value: unknown, path: string): unknown {
  if (path === '') return value;
  if (isRecord(value) && Object.hasOwn(value, path)) return value[path];
  const segments = path.split('.');
  for (let i = segments.length - 1; i >= 1; i--) {
    const head = segments.slice(0, i).join('.');
    let next: unknown;
    if (isRecord(value) && Object.hasOwn(value, head)) next = value[head];
    else if (Array.isArray(value) && i === 1 && /^\d+$/.test(head)) next = value[Number(head)];
    else continue;
    const found = reference(next, segments.slice(i).join('.'));
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure reproduces. */
function rng(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['a', 'b', 'c', '0', '1', '', 'a.b', 'b.c', '0.a', '__proto__', 'constructor'];

describe('getPath', () => {
  it('reads flat dotted keys, nesting, mixtures and array indexes', () => {
    const payload = {
      'kibana.alert.rule.name': 'flat',
      kibana: { alert: { rule: { name: 'nested', uuid: 'u1' } } },
      'host.os': { name: 'linux' },
      hosts: [{ name: 'h0' }, { name: 'h1' }],
      'a.b': { c: null },
      a: { b: { c: 'deep' } },
    };
    expect(getPath(payload, 'kibana.alert.rule.name')).toBe('flat');
    expect(getPath(payload, 'kibana.alert.rule.uuid')).toBe('u1');
    expect(getPath(payload, 'host.os.name')).toBe('linux');
    expect(getPath(payload, 'hosts.1.name')).toBe('h1');
    expect(getPath(payload, 'hosts.2.name')).toBeUndefined();
    expect(getPath(payload, 'a.b.c')).toBeNull(); // the longest flat head wins, even holding null
    expect(getPath(payload, '')).toBe(payload);
    expect(getPath('text', 'length')).toBeUndefined();
    expect(getPath(payload, 'toString')).toBeUndefined();
  });

  it('answers as the segment-array reading did, on random payloads and paths', () => {
    const random = rng(20);
    const pick = <T>(list: readonly T[]) => list[Math.floor(random() * list.length)] as T;
    const build = (depth: number): unknown => {
      const roll = random();
      if (depth === 0 || roll < 0.2) return pick(['x', 0, null, true]);
      if (roll < 0.4) return Array.from({ length: 1 + Math.floor(random() * 3) }, () => build(depth - 1));
      const out: Record<string, unknown> = {};
      for (let i = Math.floor(random() * 5); i > 0; i--)
        Object.defineProperty(out, pick(WORDS), {
          value: build(depth - 1),
          enumerable: true,
          configurable: true,
          writable: true,
        });
      return out;
    };
    for (let n = 0; n < 3_000; n++) {
      const payload = build(4);
      const path = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(WORDS)).join('.');
      expect(getPath(payload, path), `${JSON.stringify(payload)} @ ${path}`).toBe(reference(payload, path));
    }
  });
});
