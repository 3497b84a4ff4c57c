import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// A frozen migration cannot import the engine; the engine's test reads the migration's copy instead.
import { NAMES as SCRUBBED_BY_MIGRATION_0011 } from '../../db/src/migrations/0011_scrub_provider_credentials.js';
import { containsJwt, MAX_REDACT_DEPTH, REDACTED, redactCredentials, redactText, scan, TOO_DEEP } from './redact.js';

// A real-shaped JWT (header {"alg":"RS256","typ":"JWT"}), as Entra's token endpoint returns.
const JWT =
  'eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJodHRwczovL2dyYXBoLm1pY3Jvc29mdC5jb20iLCJ0aWQiOiJ0In0.c2lnbmF0dXJl';

describe('redactCredentials', () => {
  it('replaces credential-named members in any case and spelling, at any depth', () => {
    const body = {
      token_type: 'Bearer',
      expires_in: 3599,
      access_token: 'opaque-token-1',
      Refresh_Token: 'r-2',
      nested: [{ 'ID-TOKEN': 'i-3', clientSecret: 's-4', PASSWORD: { x: 1 }, 'X-ApiKey': 'k-5', apiKey: 'k-6' }],
      password_last_changed: '2026-01-01',
      empty: { password: null, api_key: '' },
    };
    expect(redactCredentials(body)).toEqual({
      token_type: 'Bearer',
      expires_in: 3599,
      access_token: REDACTED,
      Refresh_Token: REDACTED,
      nested: [
        { 'ID-TOKEN': REDACTED, clientSecret: REDACTED, PASSWORD: REDACTED, 'X-ApiKey': REDACTED, apiKey: REDACTED },
      ],
      password_last_changed: '2026-01-01',
      empty: { password: null, api_key: '' },
    });
  });

  it('redacts bearer and SSWS values, JWT-shaped words, key=value pairs and given secrets in text', () => {
    expect(redactText('Authorization: Bearer abc.def-123 then more')).toBe(
      `Authorization: Bearer ${REDACTED} then more`,
    );
    expect(redactText('SSWS 00aBcD_efGh-1234 was used')).toBe(`SSWS ${REDACTED} was used`);
    expect(redactText(`id ${JWT} end`)).toBe(`id ${REDACTED} end`);
    expect(redactText('access_token=abc123&token_type=bearer&expires_in=3600')).toBe(
      `access_token=${REDACTED}&token_type=bearer&expires_in=3600`,
    );
    expect(redactText('{"client_secret": "s3cr3t-value", "scope": "x"}')).toBe(
      `{"client_secret": "${REDACTED}", "scope": "x"}`,
    );
    expect(redactText('you sent my-api-key-9 back', ['my-api-key-9'])).toBe(`you sent ${REDACTED} back`);
    expect(redactCredentials({ echo: 'key my-api-key-9' }, { secrets: ['my-api-key-9'] })).toEqual({
      echo: `key ${REDACTED}`,
    });
  });

  it('keeps ordinary provider answers as they are', () => {
    const vt = {
      data: {
        id: '185.220.101.32',
        attributes: { last_analysis_stats: { malicious: 12 }, as_owner: 'Tor exit', tags: ['tor'], whois: 'a.b.c' },
      },
    };
    expect(redactCredentials(vt)).toEqual(vt);
    const text = 'The token type is bearer-like; password policy: strong. v1.2.3 eyJ-not.a.jwt';
    expect(redactText(text)).toBe(text);
    expect(containsJwt('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.')).toBe(true);
    expect(containsJwt('eyJhbGciOiJIUzI1NiJ9')).toBe(false);
  });

  it('bounds depth: a deeply nested body ends in a marker instead of a stack overflow', () => {
    let deep: unknown = { access_token: 'x' };
    for (let i = 0; i < 100_000; i += 1) deep = [deep];
    const out = redactCredentials(deep);
    let level: unknown = out;
    let depth = 0;
    while (Array.isArray(level)) {
      level = level[0];
      depth += 1;
    }
    expect(level).toBe(TOO_DEEP);
    expect(depth).toBe(MAX_REDACT_DEPTH);
  });

  it('is linear on attacker-sized text (no backtracking): 4 MB of near-misses in seconds, not hours', () => {
    const cases = [
      'eyJ'.repeat(1_400_000), // JWT prefixes without dots
      `${'eyJaaaaaaaaaaa.'.repeat(280_000)}`, // JWT-like segments, never three base64url parts
      'bearer '.repeat(600_000), // scheme words followed by scheme words
      'password: '.repeat(400_000),
      `${'a'.repeat(4_000_000)}!`,
    ];
    for (const text of cases) {
      const started = performance.now();
      redactText(text);
      // Generous for a loaded machine: a quadratic scan of 4 MB would take hours.
      expect(performance.now() - started).toBeLessThan(3000);
    }
    const wide = { items: Array.from({ length: 200_000 }, (_, i) => ({ id: i, note: `Bearer t${i}`, ok: true })) };
    const started = performance.now();
    const out = redactCredentials(wide) as typeof wide;
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(out.items[7]?.note).toBe(`Bearer ${REDACTED}`);
  });

  it('keeps a __proto__ member a member', () => {
    const parsed = JSON.parse('{"__proto__": {"password": "p"}, "a": 1}') as unknown;
    const out = redactCredentials(parsed) as Record<string, unknown>;
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.hasOwn(out, '__proto__')).toBe(true);
    expect(JSON.stringify(out)).toBe(`{"__proto__":{"password":"${REDACTED}"},"a":1}`);
  });

  it('returns clean parts as they are and copies only the path to what it replaced', () => {
    const clean = { engines: [{ name: 'Acronis', result: 'clean' }], whois: 'NetRange: 192.0.2.0 - 192.0.2.255' };
    const body = { clean, leaked: { note: `Authorization: Bearer ${JWT}` } };
    const out = redactCredentials(body) as typeof body;
    expect(out).not.toBe(body);
    expect(out.clean).toBe(clean);
    expect(out.leaked.note).toBe(`Authorization: Bearer ${REDACTED}`);
    expect(body.leaked.note).toContain(JWT); // the input is never changed
    expect(redactCredentials(clean)).toBe(clean);
  });

  it('its shortcuts agree with the full scan on every string of the real-world and reference payloads', () => {
    const root = path.resolve(import.meta.dirname, '../../../../shared/fixtures');
    const strings: string[] = [];
    const collect = (value: unknown): void => {
      if (typeof value === 'string') strings.push(value);
      else if (value !== null && typeof value === 'object') for (const v of Object.values(value)) collect(v);
    };
    for (const dir of ['real-world', 'calseta-v1']) {
      for (const name of readdirSync(path.join(root, dir)).filter((n) => n.endsWith('.json'))) {
        const text = readFileSync(path.join(root, dir, name), 'utf8');
        strings.push(text);
        collect(JSON.parse(text));
      }
    }
    expect(strings.length).toBeGreaterThan(500);
    for (const s of strings) expect(redactText(s), s.slice(0, 80)).toBe(s.length < 8 ? s : scan(s));
  });

  it('its shortcuts (memo, text passed over natively) redact exactly what the full scan redacts', () => {
    // Pieces of every kind the scanner reacts to, joined at random (a seeded generator: reproducible).
    const pieces = [
      'password',
      'api_key',
      'X-Auth-Token',
      'client_secret',
      'sessionId',
      'Bearer',
      'ssws',
      'Basic',
      'Authorization',
      'token',
      JWT,
      'eyJ',
      'NetRange',
      'https',
      'a1b2c3d4e5f6',
      'value',
      '12',
      ':',
      '=',
      ': ',
      ' = ',
      '"',
      "'",
      ' ',
      '\n',
      ',',
      '&',
      '?',
      '/',
      '.',
      '-',
      '_',
      '{',
      '}',
      'Ü',
      '🙂',
    ];
    let seed = 20;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    for (let n = 0; n < 5_000; n++) {
      let text = '';
      const length = 1 + (next() % 12);
      for (let i = 0; i < length; i++) text += pieces[next() % pieces.length];
      expect(redactText(text), text).toBe(text.length < 8 ? text : scan(text));
    }
  });

  it('remembers short strings without letting a remembered one keep a secret', () => {
    // Scanned once without secrets, then with one: the secret goes, whatever was remembered.
    expect(redactText('user=alice id=42')).toBe(`user=alice id=42`);
    expect(redactText('user=alice id=42', ['alice'])).toBe(`user=${REDACTED} id=42`);
    expect(redactText('Bearer abcdefgh12')).toBe(`Bearer ${REDACTED}`);
    expect(redactText('Bearer abcdefgh12')).toBe(`Bearer ${REDACTED}`);
    // Text with no `=`, `:`, scheme word or JWT is passed over whole; with any of them it is scanned.
    expect(redactText('a'.repeat(100))).toBe('a'.repeat(100));
    expect(redactText(`x ${JWT} y`)).toBe(`x ${REDACTED} y`);
    expect(redactText(`SSWS ${'t'.repeat(80)}`)).toBe(`SSWS ${REDACTED}`);
    expect(redactText(`client_secret=${'s'.repeat(80)}`)).toBe(`client_secret=${REDACTED}`);
  });
});

describe('the credential names of migration 0011 (a frozen copy)', () => {
  it('are all still redacted by the engine: its list stays a superset of what the migration scrubbed', () => {
    expect(SCRUBBED_BY_MIGRATION_0011.length).toBeGreaterThan(10);
    const missed = SCRUBBED_BY_MIGRATION_0011.filter((name) => {
      const redacted = redactCredentials({ [name]: 'value-1', [name.toUpperCase()]: 'value-2' }) as Record<
        string,
        unknown
      >;
      return redacted[name] !== REDACTED || redacted[name.toUpperCase()] !== REDACTED;
    });
    expect(missed).toEqual([]);
  });
});
