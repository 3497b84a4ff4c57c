import { describe, expect, it } from 'vitest';
import { globPrefixMatches } from './http.js';

/** The former matcher (a regex built from the pattern), as the reference of the semantics. */
function regexMatches(pattern: string, url: string): boolean {
  if (!pattern.includes('*')) return url.startsWith(pattern);
  const body = pattern
    .split('*')
    .map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${body}`).test(url);
}

describe('globPrefixMatches (mock_http url_pattern)', () => {
  const urls = [
    'https://api.example.com/v1/users/42?x=1',
    'https://api.example.com/v1/users/',
    'https://api.example.com/',
    'http://api.example.com/v1/users/42',
    'https://other.example.org/v1/users/aaa',
    'https://api.example.com/aaaa/abab/abcabc',
  ];
  const patterns = [
    'https://api.example.com/v1/users/42',
    'https://api.example.com/v1/users/',
    'https://api.example.com/*/users/*',
    '*users*',
    '*',
    '**',
    'https://*.example.*/v1',
    'https://api.example.com/*abab*abc',
    'https://api.example.com/*aab*',
    'https://api.example.com/*?x=*',
    '*42?x=1',
    'http://*',
    '*zzz',
    'https://api.example.com/v1/users/42?x=1&more',
  ];

  it('agrees with the former regex semantics (prefix match, * = any run)', () => {
    for (const pattern of patterns) {
      for (const url of urls) {
        expect(globPrefixMatches(pattern, url), `${pattern} vs ${url}`).toBe(regexMatches(pattern, url));
      }
    }
  });

  it('is linear on adversarial input: 40 stars and a `!`, 2,000-char pattern on a 200 KB URL', () => {
    const started = performance.now();
    expect(globPrefixMatches(`https://a/${'*'.repeat(40)}!`, `https://a/${'a'.repeat(200_000)}`)).toBe(false);
    expect(globPrefixMatches(`*${'a*'.repeat(999)}b`, 'a'.repeat(200_000))).toBe(false);
    expect(globPrefixMatches(`*${'a'.repeat(1_999)}b`, 'a'.repeat(200_000))).toBe(false);
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
