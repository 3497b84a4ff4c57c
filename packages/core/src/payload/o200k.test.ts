import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { countTokens as gptTokenizerCount } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { O200K_RANKS } from './o200k-ranks.js';
import { countTokens } from './text.js';

// The compact o200k counter against gpt-tokenizer's, whole texts at once (no memo, no pieces).
const SHARED = path.resolve(import.meta.dirname, '../../../../../shared/fixtures/real-world');
const DOCS = path.resolve(import.meta.dirname, '../../../../docs');

/** Deterministic pseudo-random text over the code point ranges a payload can hold, lone surrogates included. */
function randomText(seed: number, length: number): string {
  let x = seed;
  const next = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x;
  };
  const ranges: Array<[number, number]> = [
    [0x20, 0x7e],
    [0x09, 0x0d],
    [0xa0, 0x24f],
    [0x300, 0x36f],
    [0x400, 0x4ff],
    [0x600, 0x6ff],
    [0x900, 0x97f],
    [0x3040, 0x30ff],
    [0x4e00, 0x9fff],
    [0xac00, 0xd7a3],
    [0xd800, 0xdfff],
    [0x1f300, 0x1faff],
  ];
  let out = '';
  while (out.length < length) {
    const [lo, hi] = ranges[next() % ranges.length] as [number, number];
    const run = 1 + (next() % 12);
    for (let i = 0; i < run; i++) out += String.fromCodePoint(lo + (next() % (hi - lo + 1)));
    if (next() % 3 === 0) out += ' ';
  }
  return out;
}

describe('o200k counts', () => {
  const texts: Array<[string, string]> = [
    ['docs/security.md', readFileSync(path.join(DOCS, 'security.md'), 'utf8').slice(0, 60_000)],
    ['docs/api/differences.md', readFileSync(path.join(DOCS, 'api/differences.md'), 'utf8').slice(0, 60_000)],
    [
      'CJK, emoji and words',
      '日本語のテキスト🙂🙂 emoji 🙂 mixed with words, 中文字符和标点。한국어 текст العربية'.repeat(20),
    ],
    ['whitespace shapes', ' a  b\t\tc \n\n d\r\n e   \u00a0 f\u3000g'.repeat(100)],
    ['contractions and case', "DON'T they're I'LL we've HTTPServer camelCaseWord XMLHttpRequest".repeat(30)],
    ['special-token spellings', 'a <|endoftext|> b <|im_start|>system<|im_end|> <|fim_prefix|>'],
    ...Array.from({ length: 12 }, (_, i): [string, string] => [`random unicode #${i}`, randomText(i + 1, 3_000)]),
  ];
  for (const name of readdirSync(SHARED).filter((n) => n.endsWith('.json'))) {
    texts.push([`real-world/${name}`, readFileSync(path.join(SHARED, name), 'utf8').slice(0, 60_000)]);
  }

  it.each(texts)('%s: as gpt-tokenizer counts it', (_name, text) => {
    // Special-token spellings count as the ordinary text they are (by default gpt-tokenizer throws).
    expect(countTokens(text)).toBe(gptTokenizerCount(text, { disallowedSpecial: new Set() }));
  });

  it('holds the ranks of the tokenizer data gpt-tokenizer ships (regenerate with scripts/o200k-ranks.mjs)', () => {
    const require = createRequire(import.meta.url);
    const lines = readFileSync(require.resolve('gpt-tokenizer/data/o200k_base.tiktoken'), 'utf8').split('\n');
    const expected = Buffer.concat(
      lines.filter(Boolean).flatMap((line) => {
        const bytes = Buffer.from(line.split(' ')[0] as string, 'base64');
        return [Buffer.from([bytes.length]), bytes];
      }),
    );
    expect(brotliDecompressSync(Buffer.from(O200K_RANKS, 'base64')).equals(expected)).toBe(true);
  });
});
