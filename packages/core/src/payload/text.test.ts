import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { describe, expect, it } from 'vitest';
import { tokensOf } from './text.js';

// Third-party texts (vendor payloads, the docs we ship) and hostile shapes: counting in remembered
// pieces gives what the tokenizer gives for the whole text — exactly, but for runs of over 64
// characters with no pre-token boundary (hashes, base64, indentation), cut where BPE might not have
// (within 3 %: markdown with deep indentation is the worst seen).
const SHARED = path.resolve(import.meta.dirname, '../../../../../shared/fixtures');
const DOCS = path.resolve(import.meta.dirname, '../../../../docs');

function texts(): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const dir of ['real-world', 'calseta-v1']) {
    for (const name of readdirSync(path.join(SHARED, dir)).filter((n) => n.endsWith('.json'))) {
      const raw = readFileSync(path.join(SHARED, dir, name), 'utf8');
      out.push([`${dir}/${name} (as stored)`, raw], [`${dir}/${name} (compact)`, JSON.stringify(JSON.parse(raw))]);
    }
  }
  for (const name of readdirSync(DOCS).filter((n) => n.endsWith('.md'))) {
    out.push([`docs/${name}`, readFileSync(path.join(DOCS, name), 'utf8')]);
  }
  out.push(
    ['a run of one character', '*'.repeat(5_000)],
    ['CJK and emoji', '日本語のテキスト🙂🙂 emoji 🙂 mixed with words, 中文字符和标点。'.repeat(40)],
    ['whitespace shapes', ' a  b\t\tc \n\n d\r\n e   \u00a0 f'.repeat(100)],
    ['numbers and punctuation', '1234567890,.;:!?"\'()[]{}<>/\\|-_=+*&^%$#@~`'.repeat(60)],
  );
  return out;
}

describe('tokensOf', () => {
  it.each(texts())('counts %s as the tokenizer does, and the same again from the memo', (_name, text) => {
    const exact = countTokens(text);
    const counted = tokensOf(text);
    expect(Math.abs(counted - exact)).toBeLessThanOrEqual(Math.max(1, Math.ceil((exact * 3) / 100)));
    expect(tokensOf(text)).toBe(counted);
  });

  it('counts text without long runs exactly', () => {
    const prose = readFileSync(path.join(DOCS, 'README.md'), 'utf8');
    const json = JSON.stringify({ title: 'Brute force from Tor', severity: 'High', tags: ['a b', 'c'], n: 12 });
    for (const text of [prose, json, `${json} ${prose}`]) expect(tokensOf(text)).toBe(countTokens(text));
  });
});
