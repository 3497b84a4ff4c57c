import { brotliDecompressSync } from 'node:zlib';
import { O200K_TOKEN_SPLIT_REGEX } from 'gpt-tokenizer/encodingParams/constants';
import { O200K_RANKS } from './o200k-ranks.js';

// Everything here runs on stored or attacker text (alert fields, documents, provider answers): each
// transform is linear in its input — hand-written scanners, or regexes whose quantified classes
// exclude what follows them, so no match attempt rescans what an earlier one read.

const isWhitespaceCode = (c: number) => c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x3000;
const isAsciiLetter = (c: number) => (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
/** ASCII punctuation, without the apostrophe (it joins letters: `'s`). */
const isPunct = (c: number) =>
  (c >= 33 && c <= 47 && c !== 39) || (c >= 58 && c <= 64) || (c >= 91 && c <= 96) || (c >= 123 && c <= 126);

// ---------------------------------------------------------------- o200k token counts

/**
 * o200k_base's ranks held compactly: every token's bytes in one buffer and an open-addressing
 * table of ranks (about 4 MB the GC never scans). gpt-tokenizer's own encoder holds them as 200,000
 * strings in a Map built from a 200,000-element array literal: ~55 MB of a process's RSS (its heap
 * objects, and the parser's memory that malloc keeps), marked again by every full GC. Counts are
 * the same (o200k.test.ts compares them on text of every kind); gpt-tokenizer supplies the data
 * (scripts/o200k-ranks.mjs) and the pre-tokenizer.
 */
const RANK_BYTES = brotliDecompressSync(Buffer.from(O200K_RANKS, 'base64'));
const TABLE_BITS = 19;
const TABLE_MASK = (1 << TABLE_BITS) - 1;
let tokenCount = 0;
for (let at = 0; at < RANK_BYTES.length; at += 1 + (RANK_BYTES[at] as number)) tokenCount++;
/** Rank → offset of its bytes in RANK_BYTES (their length is the byte before). */
const rankStart = new Uint32Array(tokenCount);
/** Hash of a token's bytes → its rank (-1: empty slot); linear probing. */
const rankTable = new Int32Array(1 << TABLE_BITS).fill(-1);

function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ (bytes[i] as number), 0x01000193);
  return h >>> 0;
}

for (let at = 0, rank = 0; at < RANK_BYTES.length; at += 1 + (RANK_BYTES[at] as number), rank++) {
  rankStart[rank] = at + 1;
  let slot = hashBytes(RANK_BYTES, at + 1, at + 1 + (RANK_BYTES[at] as number)) & TABLE_MASK;
  while (rankTable[slot] !== -1) slot = (slot + 1) & TABLE_MASK;
  rankTable[slot] = rank;
}

/** The rank of bytes[start, end), or Infinity when no token is those bytes. */
function rankOf(bytes: Uint8Array, start: number, end: number): number {
  const length = end - start;
  for (let slot = hashBytes(bytes, start, end) & TABLE_MASK; ; slot = (slot + 1) & TABLE_MASK) {
    const rank = rankTable[slot] as number;
    if (rank === -1) return Number.POSITIVE_INFINITY;
    const at = rankStart[rank] as number;
    if (RANK_BYTES[at - 1] !== length) continue;
    let i = 0;
    while (i < length && RANK_BYTES[at + i] === bytes[start + i]) i++;
    if (i === length) return rank;
  }
}

const utf8 = new TextEncoder();
/** In unicode mode a pair of surrogates is one code point: this matches only unpaired halves. */
const LONE_SURROGATE = /\p{Cs}/u;
let pieceBytes = new Uint8Array(256);

/**
 * Tokens of one pre-token: one if its bytes are a token, else byte-pair merging as tiktoken does
 * (repeatedly join the adjacent pair of lowest rank, leftmost first). Quadratic in the pre-token:
 * callers pass short pieces.
 */
function bpeCount(pretoken: string): number {
  if (pieceBytes.length < pretoken.length * 3) pieceBytes = new Uint8Array(pretoken.length * 3);
  const bytes = pieceBytes;
  const n = utf8.encodeInto(pretoken, bytes).written;
  if (n <= 1) return n;
  // gpt-tokenizer looks a whole pre-token up as a string, which a lone surrogate never matches.
  if (!LONE_SURROGATE.test(pretoken) && rankOf(bytes, 0, n) !== Number.POSITIVE_INFINITY) return 1;
  const starts: number[] = [];
  const ranks: number[] = [];
  for (let i = 0; i <= n; i++) {
    starts.push(i);
    ranks.push(i < n - 1 ? rankOf(bytes, i, i + 2) : Number.POSITIVE_INFINITY);
  }
  const pairRank = (i: number) =>
    i + 2 < starts.length ? rankOf(bytes, starts[i] as number, starts[i + 2] as number) : Number.POSITIVE_INFINITY;
  while (starts.length > 1) {
    let lowest = Number.POSITIVE_INFINITY;
    let at = -1;
    for (let i = 0; i < ranks.length - 1; i++) {
      if ((ranks[i] as number) < lowest) {
        lowest = ranks[i] as number;
        at = i;
      }
    }
    if (at === -1) break;
    starts.splice(at + 1, 1);
    ranks.splice(at, 1);
    ranks[at] = pairRank(at);
    if (at > 0) ranks[at - 1] = pairRank(at - 1);
  }
  return starts.length - 1;
}

const PRETOKEN = new RegExp(O200K_TOKEN_SPLIT_REGEX.source, 'gu');

/**
 * o200k tokens of `text` as ordinary text: a special token's spelling (`<|endoftext|>`) is counted
 * as the characters it is — it reaches an agent as text (gpt-tokenizer threw on it).
 */
export function countTokens(text: string): number {
  let total = 0;
  PRETOKEN.lastIndex = 0;
  for (let m = PRETOKEN.exec(text); m !== null; m = PRETOKEN.exec(text)) total += bpeCount(m[0]);
  return total;
}

/**
 * BPE on one long pre-token (100,000 `*`, a run of spaces, of CJK or emoji) is quadratic, so text
 * is counted in pieces. Pieces end where o200k's pre-tokenizer starts a new pre-token anyway — at a
 * space or tab after a non-space, or at a letter after two punctuation marks (`","value`: JSON) —
 * so text and JSON count exactly; inside a longer run with no such point, after RUN_MAX characters.
 */
const RUN_MAX = 64;

/**
 * Pieces recur — JSON punctuation with a key (`","severity":"`), field values, words — so short
 * ones are counted once per process: a payload costs mostly map lookups, not BPE. Bounded: cleared
 * when full (attacker text can only make it miss, never grow past the bound).
 */
const PIECE_MEMO_MAX_LENGTH = 48;
const PIECE_MEMO_ENTRIES = 50_000;
const pieceCounts = new Map<string, number>();
function countPiece(piece: string): number {
  if (piece.length > PIECE_MEMO_MAX_LENGTH) return countTokens(piece);
  let n = pieceCounts.get(piece);
  if (n === undefined) {
    if (pieceCounts.size >= PIECE_MEMO_ENTRIES) pieceCounts.clear();
    n = countTokens(piece);
    pieceCounts.set(piece, n);
  }
  return n;
}

function countText(text: string): number {
  if (text.length <= RUN_MAX) return countPiece(text);
  let total = 0;
  let start = 0;
  let run = 0;
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const before = text.charCodeAt(i - 1);
    if (
      ((c === 32 || c === 9) && !isWhitespaceCode(before)) ||
      (isAsciiLetter(c) && isPunct(before) && i > 1 && isPunct(text.charCodeAt(i - 2)))
    ) {
      run = 0;
      total += countPiece(text.slice(start, i));
      start = i;
    } else if (++run >= RUN_MAX && !(c >= 0xdc00 && c <= 0xdfff)) {
      // Never between the halves of a surrogate pair.
      total += countPiece(text.slice(start, i));
      start = i;
      run = 0;
    }
  }
  return total + countPiece(text.slice(start));
}

/** Strings this long are counted on their own and remembered (a document recurs across trimming steps and requests). */
const LONG_STRING = 512;
const longCounts = new Map<string, number>();
function countLong(json: string): number {
  let n = longCounts.get(json);
  if (n === undefined) {
    if (longCounts.size >= 256) longCounts.clear();
    n = countText(json);
    longCounts.set(json, n);
  }
  return n;
}

/**
 * o200k tokens of a text, or of a value as it is delivered (compact JSON). Linear in the text.
 * Long strings inside a value are counted apart from the JSON around them (within a token or two
 * of counting the whole at once) and remembered.
 */
export function tokensOf(value: unknown): number {
  if (typeof value === 'string') return countText(value);
  let long = 0;
  const rest = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'string' || v.length <= LONG_STRING) return v;
    long += countLong(JSON.stringify(v));
    return '';
  });
  return long + countText(rest ?? '');
}

/** The placeholder a payload's own `token_count` holds while it is counted: 5 digits, 2 tokens. */
const COUNT_PLACEHOLDER = 99_999;
/** o200k splits a number into 1–3 digit pieces, one token each, whatever surrounds it. */
const numberTokens = (n: number) => Math.ceil(String(n).length / 3);

/**
 * Set `payload.token_count` to the payload's o200k tokens, its own count included — exactly, with
 * one count: counted with the placeholder, then corrected for the digits of the real count (a count
 * has at most as many digit tokens as the placeholder, so the correction never grows it).
 */
export function settleTokenCount<P extends { token_count: number }>(payload: P): P {
  payload.token_count = COUNT_PLACEHOLDER;
  const counted = tokensOf(payload);
  let count = counted;
  for (let i = 0; i < 3; i++) count = counted - numberTokens(COUNT_PLACEHOLDER) + numberTokens(count);
  payload.token_count = count;
  return payload;
}

// ---------------------------------------------------------------- untrusted text

export const OPEN = '<untrusted>';
export const CLOSE = '</untrusted>';

/** Characters that read as `<`, `/` or `>` (NFKC forms and Unicode confusables). */
// Split by code point (`[...]`): `'𝈺'.split('')` gives two surrogate halves that never match.
const LESS = new Set([...'<＜﹤‹〈〈⟨❮ᐸ˂≺⋖⧼⦑⟪《']);
const SLASH = new Set([...'/／⁄∕⧸╱⟋᜵〳𝈺']);
const GREATER = new Set([...'>＞﹥›〉〉⟩❯ᐳ˃≻⋗⧽⦒⟫》']);
/** Latin look-alikes (Cyrillic, Greek, Armenian, small capitals) of the letters of `untrusted`. */
const LOOKALIKE: Readonly<Record<string, string>> = {
  υ: 'u',
  ս: 'u',
  ᴜ: 'u',
  ʋ: 'u',
  ո: 'n',
  п: 'n',
  ɴ: 'n',
  η: 'n',
  т: 't',
  τ: 't',
  ᴛ: 't',
  г: 'r',
  ʀ: 'r',
  ᴦ: 'r',
  ѕ: 's',
  ꜱ: 's',
  ʂ: 's',
  е: 'e',
  ҽ: 'e',
  ε: 'e',
  ᴇ: 'e',
  ԁ: 'd',
  ɗ: 'd',
  ᴅ: 'd',
};
const MARKER_NAME = 'untrusted';
/** Invisible or spacing characters an attacker can slip into a tag: whitespace, format (zero-width, bidi) and combining marks. */
const IGNORABLE = /^[\s\p{Cf}\p{Mn}\p{Me}]$/u;
const COMBINING = /\p{M}/gu;

/** One character folded for comparison with `untrusted`: compatibility forms, accents and case removed, look-alikes mapped. */
const foldSeen = new Map<string, string>();
function foldLetter(ch: string): string {
  if (ch.length === 1 && ch.charCodeAt(0) < 128) return ch.toLowerCase();
  let folded = foldSeen.get(ch);
  if (folded === undefined) {
    if (foldSeen.size > 10_000) foldSeen.clear();
    const base = ch.normalize('NFKD').replace(COMBINING, '').toLowerCase();
    folded = LOOKALIKE[base] ?? LOOKALIKE[ch.toLowerCase()] ?? base;
    foldSeen.set(ch, folded);
  }
  return folded;
}

/** NFKC forms of non-ASCII characters, remembered (a text repeating one character normalizes it once). */
const nfkcSeen = new Map<string, string>();
function nfkc(ch: string): string {
  let folded = nfkcSeen.get(ch);
  if (folded === undefined) {
    if (nfkcSeen.size > 10_000) nfkcSeen.clear();
    folded = ch.normalize('NFKC');
    nfkcSeen.set(ch, folded);
  }
  return folded;
}

const classOf = (ch: string, set: ReadonlySet<string>, ascii: string) =>
  ch === ascii || set.has(ch) || (ch.charCodeAt(0) > 127 && set.has(nfkc(ch)));

/**
 * An entity spelling of `<` or `>` at `i`, as HTML reads it: `&lt;`, `&lt` (legacy, no `;`),
 * `&#60;`, `&#060;`, `&#x3c;`, `&#X003C` (any leading zeros, `;` optional): its length, or 0.
 */
function entityAt(text: string, i: number, gt: boolean): number {
  if (text[i] !== '&') return 0;
  if (text.slice(i + 1, i + 3).toLowerCase() === (gt ? 'gt' : 'lt')) return text[i + 3] === ';' ? 4 : 3;
  if (text[i + 1] !== '#') return 0;
  const hex = text[i + 2] === 'x' || text[i + 2] === 'X';
  let j = i + (hex ? 3 : 2);
  let value = 0;
  const start = j;
  for (; j < text.length && value <= 0x10ffff; j++) {
    const digit = Number.parseInt(text[j] as string, hex ? 16 : 10);
    if (Number.isNaN(digit)) break;
    value = value * (hex ? 16 : 10) + digit;
  }
  if (j === start || value !== (gt ? 62 : 60)) return 0;
  return text[j] === ';' ? j + 1 - i : j - i;
}

/** The length of a `<`-like opener at `i` (a character or an entity), or 0. */
function lessAt(text: string, i: number): number {
  const code = text.charCodeAt(i);
  if (code < 128) return code === 60 ? 1 : code === 38 ? entityAt(text, i, false) : 0;
  const cp = text.codePointAt(i) as number;
  const ch = String.fromCodePoint(cp);
  if (classOf(ch, LESS, '<')) return ch.length;
  return entityAt(text, i, false);
}

/**
 * The end of a marker-like tag starting with the opener at `i` (length `open`): opener, ignorables,
 * an optional slash, ignorables, the letters of `untrusted` (ignorables between them, any case,
 * compatibility forms and look-alikes), ignorables, an optional `>`-like closer. Null when it is not
 * one. Scans only characters that cannot start another opener, so the caller's scan stays linear.
 */
function markerEnd(text: string, i: number, open: number): { end: number; closer: [number, number] | null } | null {
  let j = i + open;
  let slash = false;
  let matched = 0;
  while (j < text.length) {
    const ch = String.fromCodePoint(text.codePointAt(j) as number);
    if (IGNORABLE.test(ch)) {
      j += ch.length;
      continue;
    }
    if (matched === 0 && !slash && classOf(ch, SLASH, '/')) {
      slash = true;
      j += ch.length;
      continue;
    }
    if (matched < MARKER_NAME.length) {
      const folded = foldLetter(ch);
      if (folded !== MARKER_NAME[matched]) return null;
      matched++;
      j += ch.length;
      continue;
    }
    const gt = classOf(ch, GREATER, '>') ? ch.length : entityAt(text, j, true);
    return { end: j + gt, closer: gt > 0 ? [j, j + gt] : null };
  }
  return matched === MARKER_NAME.length ? { end: j, closer: null } : null;
}

/**
 * `text` with every marker-like tag defused: `</untrusted>`, `<untrusted>` and their spellings with
 * zero-width or other invisible characters, spaces, any case, fullwidth or look-alike brackets,
 * slashes and letters, or HTML entities lose their brackets (`[/untrusted]`), so the text cannot
 * close its block early or fake a new one. Linear time.
 */
export function defuse(text: string): string {
  let out = '';
  let copied = 0;
  for (let i = 0; i < text.length; ) {
    const open = lessAt(text, i);
    if (open === 0) {
      i++;
      continue;
    }
    const marker = markerEnd(text, i, open);
    if (marker === null) {
      i += open;
      continue;
    }
    out += `${text.slice(copied, i)}[`;
    if (marker.closer) out += `${text.slice(i + open, marker.closer[0])}]${text.slice(marker.closer[1], marker.end)}`;
    else out += text.slice(i + open, marker.end);
    copied = marker.end;
    i = marker.end;
  }
  return copied === 0 ? text : out + text.slice(copied);
}

/**
 * Text an attacker may control — from an alert source, a provider's answer or an API writer —
 * delimited so an agent can tell data from instructions. Markers inside the text are defused
 * first, so the text cannot break out.
 */
export function untrusted(text: string): string {
  return `${OPEN}${defuse(text)}${CLOSE}`;
}

const INVISIBLE = /^[\p{Cf}\p{Mn}\p{Me}]$/u;
const LETTER = /^\p{L}$/u;

/**
 * Words in `text`: runs of two or more letters, split at case changes (`ignoreAllRules` is three);
 * a caseless letter (CJK, Arabic…) counts as a word on its own; invisible characters are skipped
 * (`ig\u200Bnore` is one word). Stops counting at `atLeast`.
 */
export function wordCount(text: string, atLeast = Number.POSITIVE_INFINITY): number {
  let words = 0;
  let run = 0;
  let lowerBefore = false;
  const endWord = () => {
    if (run >= 2) words++;
    run = 0;
    lowerBefore = false;
  };
  for (const ch of text) {
    if (words >= atLeast) return words;
    if (INVISIBLE.test(ch)) continue;
    if (!LETTER.test(ch)) {
      endWord();
      continue;
    }
    const upper = ch !== ch.toLowerCase();
    const lower = ch !== ch.toUpperCase();
    if (!upper && !lower) {
      endWord();
      words++;
      continue;
    }
    if (upper && lowerBefore) endWord();
    run++;
    lowerBefore = lower;
  }
  endWord();
  return words;
}

/** Identifiers with no room for words: numbers, IPs, hashes, UUIDs, MAC addresses. */
const HEXISH = /^[0-9a-f:.-]+$/i;

/**
 * Can this string carry an instruction? A value that cannot — a hex/IP/uuid shape, or at most two
 * short words (`TOR`, `powershell.exe`, `Julia Martinez`, `T1110.003`) — stays bare to keep the payload
 * compact; anything else that an attacker controls is wrapped. An instruction needs a few words
 * ("ignore previous instructions"), and a long unspaced run can hide several
 * ("ignoreallpreviousinstructions"), so runs longer than a word are wrapped too.
 */
export function isInert(text: string): boolean {
  if (HEXISH.test(text) && text.length <= 128) return true;
  return text.length <= 64 && wordCount(text, 3) <= 2 && longestRun(text) <= INERT_RUN_MAX;
}

/** The longest unspaced run left bare (`powershell.exe`, `svchost_update.exe`). */
const INERT_RUN_MAX = 20;

function longestRun(text: string): number {
  let longest = 0;
  let run = 0;
  for (const ch of text) {
    run = /\s/.test(ch) ? 0 : run + 1;
    if (run > longest) longest = run;
  }
  return longest;
}

/** A field name that cannot carry an instruction: identifier characters, at most four words (`process_command_line`). */
export function isInertKey(key: string): boolean {
  return key.length <= 64 && /^[A-Za-z0-9_.@$-]+$/.test(key) && wordCount(key, 5) <= 4;
}

// ---------------------------------------------------------------- clipping and markdown

/** Input any summary reads at most: the start of a document (text beyond this is never summarized). */
export const SCAN_MAX = 32_000;

/**
 * A long unbroken run (no spaces): a path or URL keeps its start and its end (the file name, the
 * folder it ran from); anything else — an encoded blob — only its start.
 */
function shortRun(run: string): string {
  if (/[\\/]/.test(run.slice(0, 400))) return run.length <= 160 ? run : `${run.slice(0, 48)}…${run.slice(-96)}`;
  return `${run.slice(0, 32)}…`;
}

/** `text` without trailing characters of `chars`. */
function trimEndOf(text: string, chars: string): string {
  let end = text.length;
  while (end > 0 && chars.includes(text[end - 1] as string)) end--;
  return text.slice(0, end);
}

/**
 * Cut `text` to about `max` characters at a word boundary, saying it was cut; long unbroken runs
 * (encoded blobs) are shortened (paths keep their end).
 */
export function clip(text: string, max: number): string {
  // Only the start is read: collapsing whitespace and shortening runs shrink text, so a window of a
  // few times `max` holds what is kept (unless the text is mostly whitespace or blobs).
  const window = max * 4 + 512;
  const flat = text
    .slice(0, window)
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\S{49,}/g, shortRun);
  if (flat.length <= max) return text.length <= window ? flat : `${flat}…`;
  const cut = flat.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${trimEndOf(space > max * 0.6 ? cut.slice(0, space) : cut, ',;:. ')}…`;
}

export interface Section {
  heading: string;
  depth: number;
  /** The section's own text (not its subsections'), markdown stripped to plain text. */
  text: string;
}

/** Markdown to plain text: code fences, inline code marks, link targets, list and emphasis marks removed. */
export function plain(markdown: string): string {
  return (
    markdown
      .replace(/`/g, '')
      // The link text excludes brackets and the target excludes parentheses: each attempt stops at
      // the next bracket, so `[[[[…` is read once.
      .replace(/!?\[([^[\]\n]*)\]\([^()\n]*\)/g, '$1')
      .replace(/^[> \t]*[-*+][ \t]+/gm, '- ')
      .replace(/[*_#>|]/g, '')
      .replace(/\s+/g, ' ')
      .trim()
  );
}

/** `### Heading ##` → [3, 'Heading'] (CommonMark ATX heading), else null. */
function atxHeading(line: string): [number, string] | null {
  let i = 0;
  while (i < 3 && line[i] === ' ') i++;
  let depth = 0;
  while (line[i + depth] === '#') depth++;
  if (depth === 0 || depth > 6) return null;
  const rest = line.slice(i + depth);
  if (rest !== '' && rest[0] !== ' ' && rest[0] !== '\t') return null;
  let text = rest.trim();
  // An optional closing sequence of #s, after a space.
  let end = text.length;
  while (end > 0 && text[end - 1] === '#') end--;
  if (end === 0 || text[end - 1] === ' ' || text[end - 1] === '\t') text = text.slice(0, end).trim();
  return [depth, text];
}

/** The fence a line opens (```` ``` ```` or `~~~`, three or more), or null. */
function fenceOf(line: string): string | null {
  const t = line.trimStart();
  if (line.length - t.length > 3) return null;
  const ch = t[0];
  if (ch !== '`' && ch !== '~') return null;
  let n = 0;
  while (t[n] === ch) n++;
  return n >= 3 ? ch.repeat(n) : null;
}

const isSetextUnderline = (line: string) => /^ {0,3}(=+|-+)[ \t]*$/.test(line);

/** Sections read at most: a summary lists a few; a document of thousands of headings is not read past them. */
const MAX_SCANNED_SECTIONS = 500;

/**
 * Split markdown into its heading sections (text before the first heading is a section titled '').
 * One pass over the lines: ATX and setext headings; fenced code is skipped (a `#` in code is no heading).
 */
export function sections(markdown: string): Section[] {
  const out: Section[] = [];
  let heading = '';
  let depth = 0;
  let body: string[] = [];
  const flush = () => {
    const text = plain(body.join('\n'));
    if (heading !== '' || text !== '') out.push({ heading, depth, text });
  };
  let fence: string | null = null;
  for (const line of markdown.split('\n')) {
    if (out.length >= MAX_SCANNED_SECTIONS) break;
    if (fence !== null) {
      const closing = fenceOf(line);
      if (closing !== null && closing[0] === fence[0] && closing.length >= fence.length && line.trim() === closing)
        fence = null;
      continue;
    }
    fence = fenceOf(line);
    if (fence !== null) continue;
    const atx = atxHeading(line);
    const previous = body.at(-1);
    if (atx) {
      flush();
      [depth, heading] = [atx[0], plain(atx[1])];
      body = [];
    } else if (
      previous !== undefined &&
      previous.trim() !== '' &&
      isSetextUnderline(line) &&
      !/^\s*[-*+>]/.test(previous)
    ) {
      body.pop();
      flush();
      [depth, heading] = [line.trim()[0] === '=' ? 1 : 2, plain(previous)];
      body = [];
    } else {
      body.push(line);
    }
  }
  flush();
  return out;
}

/** Sections a summary lists at most. */
const MAX_SECTIONS = 30;

/**
 * A document in a few lines: each section's heading and the start of its text. `prefer` headings
 * (case-insensitive substrings) come first and keep more text; the document title section is dropped.
 * Reads at most the first SCAN_MAX characters.
 */
export function summarizeMarkdown(
  markdown: string,
  options: {
    perSection: number;
    prefer?: readonly string[];
    maxSections?: number /** Preferred sections get twice the text. */;
    emphasize?: boolean;
  },
): string {
  // The document's own title (a level-1 heading) is not a section worth repeating.
  const all = sections(markdown.slice(0, SCAN_MAX)).filter((s) => s.depth > 1 || (s.depth === 0 && s.text !== ''));
  const prefer = (options.prefer ?? []).map((p) => p.toLowerCase());
  const rank = (s: Section) => {
    const heading = s.heading.slice(0, 200).toLowerCase();
    const i = prefer.findIndex((p) => heading.includes(p));
    return i === -1 ? Number.POSITIVE_INFINITY : i;
  };
  const chosen = [...all]
    .map((s, index) => ({ s, index, rank: rank(s) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .slice(0, options.maxSections ?? MAX_SECTIONS)
    .sort((a, b) => (options.prefer ? a.rank - b.rank || a.index - b.index : a.index - b.index))
    .map(({ s, rank: r }) => {
      const budget = Number.isFinite(r) && options.emphasize !== false ? options.perSection * 2 : options.perSection;
      const body = s.text === '' ? '' : clip(s.text, budget);
      const heading = clip(s.heading, 120);
      return heading === '' ? body : `${heading}: ${body}`.replace(/: $/, '');
    })
    .filter((line) => line !== '');
  return chosen.join('\n');
}
