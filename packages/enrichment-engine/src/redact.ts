import { isRecord } from '@calseta/plugin-sdk';

/**
 * The second line of defence for provider bodies: whatever a provider definition keeps (a forgotten
 * `result: false`, a lookup API that echoes the caller's key), credential material never reaches a
 * stored or returned result. Applied by the engine to every result body, so runtime JSON providers and
 * community providers get it too.
 *
 * Replaced by {@link REDACTED}:
 * - the value of any member whose name is a credential name (any case, `_`/`-` ignored):
 *   access_token, refresh_token, id_token, client_secret, password, api_key, x-auth, …, and any name
 *   ending in token, secret, password, apikey, sessionkey (`X-Auth-Token`, `client_token`, `sessionKey`);
 * - in text: the word after `Bearer` / `SSWS` (Okta), a value after a credential name and `=`/`:`
 *   (`access_token=…&`, `"password": "…"`), JWT-shaped words (`eyJ….….…`), and every given secret.
 *
 * Linear in the input: native checks decide whether a string could hold any of these, then one pass
 * with a hand-written scanner (no backtracking regex); depth bounded (deeper values become
 * {@link TOO_DEEP}), no recursion beyond that bound. Copy on write: clean parts are returned as they are.
 */

export const REDACTED = '[REDACTED]';
export const TOO_DEEP = '[TRUNCATED: nested too deep]';
/** Nesting depth kept; real provider answers are far shallower. */
export const MAX_REDACT_DEPTH = 64;

/** Credential member names, normalised by {@link normalizeName}. */
const CREDENTIAL_NAMES = new Set([
  'accesstoken',
  'refreshtoken',
  'idtoken',
  'token',
  'sessiontoken',
  'bearertoken',
  'authtoken',
  'clientsecret',
  'secret',
  'password',
  'passwd',
  'apikey',
  'xapikey',
  'authorization',
  'xauth',
  'privatekey',
  'clientassertion',
]);

/** Words after which the next word is a credential (`Authorization: Bearer <token>`, Okta `SSWS <token>`). */
const SCHEME_WORDS = new Set(['bearer', 'ssws']);
/** Whether a text could hold one of {@link SCHEME_WORDS} (a fixed pattern of literals: linear). */
const SCHEME_WORD_IN_TEXT = /bearer|ssws/i;
/** Authorization schemes: after a credential name (`Authorization: Basic <base64>`) the word after them is the credential. */
const AUTH_SCHEMES = new Set(['bearer', 'ssws', 'basic', 'digest', 'token', 'splunk', 'apikey', 'ntlm', 'negotiate']);

/** Lower-case letters and digits only: `X-ApiKey`, `api_key` and `apiKey` are one name. */
export function normalizeName(name: string): string {
  let out = '';
  for (let i = 0; i < name.length; i += 1) {
    const c = name.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 97 && c <= 122)) out += name[i];
    else if (c >= 65 && c <= 90) out += String.fromCharCode(c + 32);
  }
  return out;
}

/** Endings of credential names the list cannot enumerate: `X-Auth-Token`, `client_token`, `sessionKey`, `shared_secret`. */
const CREDENTIAL_SUFFIXES = [
  'token',
  'secret',
  'password',
  'passwd',
  'apikey',
  'sessionkey',
  'sessionid',
  'privatekey',
];

/** Last letters (lower case) of every credential name and suffix: token, secret, password, apikey, xauth. */
const CREDENTIAL_LAST_LETTERS = new Set([110, 116, 100, 121, 104]); // n t d y h

export function isCredentialName(name: string): boolean {
  // Longer names are never one of ours: skip normalising attacker-sized keys.
  if (name.length < 5 || name.length > 40) return false;
  // Most words end in a letter no credential name ends in: rejected without building the normal form.
  let last = name.length - 1;
  while (last >= 0 && !isAlnum(name.charCodeAt(last))) last -= 1;
  if (last < 0 || !CREDENTIAL_LAST_LETTERS.has(name.charCodeAt(last) | 0x20)) return false;
  const normal = normalizeName(name);
  return CREDENTIAL_NAMES.has(normal) || CREDENTIAL_SUFFIXES.some((suffix) => normal.endsWith(suffix));
}

const isAlnum = (c: number) => (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122);

/** Characters of a token word: base64/base64url, dots (JWT), `~`. */
function isWordChar(c: number): boolean {
  return (
    (c >= 48 && c <= 57) ||
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    c === 45 || // -
    c === 95 || // _
    c === 46 || // .
    c === 126 || // ~
    c === 43 || // +
    c === 47 // /
  );
}

function isBase64Url(segment: string): boolean {
  for (let i = 0; i < segment.length; i += 1) {
    const c = segment.charCodeAt(i);
    const ok = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 45 || c === 95;
    if (!ok) return false;
  }
  return true;
}

/** The shortest word {@link containsJwt} accepts: a 10-character header, a 2-character payload, two dots. */
const MIN_JWT_LENGTH = 14;

/** A word holding `<header>.<payload>.<signature>` with a JSON header (`eyJ` = base64url of `{"`). */
export function containsJwt(word: string): boolean {
  if (!word.includes('eyJ')) return false;
  const parts = word.split('.');
  for (let k = 0; k + 2 < parts.length; k += 1) {
    const header = parts[k] as string;
    const payload = parts[k + 1] as string;
    const signature = parts[k + 2] as string;
    if (
      header.length >= 10 &&
      header.startsWith('eyJ') &&
      payload.length >= 2 &&
      isBase64Url(header) &&
      isBase64Url(payload) &&
      isBase64Url(signature)
    ) {
      return true;
    }
  }
  return false;
}

const isSpace = (c: number) => c === 32 || c === 9 || c === 10 || c === 13;
/** Between a credential name and its value: quotes, spaces, `:` and `=` (`"api_key": "…"`, `token=…`). */
const isAssign = (c: number) => c === 58 || c === 61;
const isQuote = (c: number) => c === 34 || c === 39;

/**
 * Provider bodies repeat their short strings (VirusTotal: ~90 engine names, `clean`, `unrated`,
 * `harmless` in every answer), so the scan of a short string is remembered. Bounded: cleared when
 * full — text chosen to miss only costs the scan it would have cost anyway.
 */
const MEMO_MAX_LENGTH = 64;
const MEMO_ENTRIES = 20_000;
const scannedMemo = new Map<string, string>();
const credentialNameMemo = new Map<string, boolean>();

function remembered<T>(memo: Map<string, T>, text: string, compute: (text: string) => T): T {
  if (text.length > MEMO_MAX_LENGTH) return compute(text);
  let value = memo.get(text);
  if (value === undefined) {
    if (memo.size >= MEMO_ENTRIES) memo.clear();
    value = compute(text);
    memo.set(text, value);
  }
  return value;
}

/** Redact credential material inside one string (see the module comment). Linear in `text`. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  let s = text;
  for (const secret of secrets) if (secret !== '' && s.includes(secret)) s = s.split(secret).join(REDACTED);
  // Nothing to find without a JWT, a scheme word, or a credential name before an `=`/`:`: most text
  // (names, hashes, dates, URLs, a whois record's `Key: value` lines) is passed over natively, before
  // any lookup, instead of character by character.
  if (s.length < 8 || !(s.includes('eyJ') || SCHEME_WORD_IN_TEXT.test(s) || nameBeforeAssign(s))) return s;
  return remembered(scannedMemo, s, scan);
}

/**
 * Whether a credential name precedes some `=` or `:` (quotes and spaces between): the only way
 * {@link scan} redacts by name. Linear: each backward walk stops at the previous `=`/`:`, whose
 * preceding word was checked already.
 */
function nameBeforeAssign(s: string): boolean {
  let previous = -1;
  let colon = s.indexOf(':');
  let equals = s.indexOf('=');
  while (colon !== -1 || equals !== -1) {
    const at = colon === -1 ? equals : equals === -1 ? colon : Math.min(colon, equals);
    if (at === colon) colon = s.indexOf(':', at + 1);
    else equals = s.indexOf('=', at + 1);
    let end = at;
    while (end > previous + 1 && (isSpace(s.charCodeAt(end - 1)) || isQuote(s.charCodeAt(end - 1)))) end -= 1;
    let start = end;
    if (end > previous + 1) while (start > previous + 1 && isWordChar(s.charCodeAt(start - 1))) start -= 1;
    if (end - start >= 5 && isCredentialName(s.slice(start, end))) return true;
    previous = at;
  }
  return false;
}

/**
 * {@link redactText} without the secrets and without its shortcuts: the scheme words, credential
 * names and JWTs, character by character. Exported for the test that holds the shortcuts to it.
 */
export function scan(s: string): string {
  const mayHoldJwt = s.includes('eyJ');
  let out = '';
  let copied = 0;
  // What the previous word asks of the next one: a scheme word wants whitespace only between them,
  // a credential name wants an `=` or `:` (with quotes/spaces around it).
  let expect: 'scheme' | 'name' | null = null;
  let gapOk = true;
  let gapAssign = false;
  let i = 0;
  while (i < s.length) {
    const c = s.charCodeAt(i);
    if (!isWordChar(c)) {
      if (expect === 'scheme' && !isSpace(c)) gapOk = false;
      if (expect === 'name') {
        if (isAssign(c)) gapAssign = true;
        else if (!isSpace(c) && !isQuote(c)) gapOk = false;
      }
      i += 1;
      continue;
    }
    let j = i + 1;
    while (j < s.length && isWordChar(s.charCodeAt(j))) j += 1;
    const length = j - i;
    const follows = gapOk && (expect === 'scheme' || (expect === 'name' && gapAssign));
    // Words are sliced only when they could matter: most text holds none that can.
    if (follows && expect === 'name' && length <= 9 && AUTH_SCHEMES.has(s.slice(i, j).toLowerCase())) {
      expect = 'scheme'; // `Authorization: Bearer <token>`: the token is the credential
    } else if (follows || (mayHoldJwt && length >= MIN_JWT_LENGTH && containsJwt(s.slice(i, j)))) {
      out += s.slice(copied, i) + REDACTED;
      copied = j;
      expect = null;
    } else if ((length === 4 || length === 6) && SCHEME_WORDS.has(s.slice(i, j).toLowerCase())) {
      expect = 'scheme';
    } else {
      expect = length >= 5 && isCredentialName(s.slice(i, j)) ? 'name' : null;
    }
    gapOk = true;
    gapAssign = false;
    i = j;
  }
  return copied === 0 ? s : out + s.slice(copied);
}

export interface RedactOptions {
  /** Exact values to remove wherever they appear (the provider's own credentials). */
  secrets?: readonly string[];
}

/**
 * The JSON value with credential material replaced (see the module comment). Never throws;
 * non-JSON leaves (numbers, booleans, null) are kept as they are. Copy on write: objects and arrays
 * with nothing to replace are returned as they are (a provider body is mostly clean, and rebuilding
 * every object of it cost more than scanning it); treat the result as read-only.
 */
export function redactCredentials(value: unknown, options: RedactOptions = {}): unknown {
  const secrets = options.secrets ?? [];
  const walk = (item: unknown, depth: number): unknown => {
    if (typeof item === 'string') return redactText(item, secrets);
    if (item === null || typeof item !== 'object') return item;
    if (depth >= MAX_REDACT_DEPTH) return TOO_DEEP;
    if (Array.isArray(item)) {
      let copy: unknown[] | undefined;
      for (let i = 0; i < item.length; i += 1) {
        const kept = walk(item[i], depth + 1);
        if (copy === undefined && kept !== item[i]) copy = item.slice(0, i);
        copy?.push(kept);
      }
      return copy ?? item;
    }
    if (!isRecord(item)) return null;
    const keys = Object.keys(item);
    let copy: Record<string, unknown> | undefined;
    for (let i = 0; i < keys.length; i += 1) {
      const key = keys[i] as string;
      const member = item[key];
      const credential = remembered(credentialNameMemo, key, isCredentialName);
      const kept = credential && member !== null && member !== '' ? REDACTED : walk(member, depth + 1);
      const name = redactText(key, secrets);
      if (copy === undefined && (kept !== member || name !== key)) {
        copy = {};
        for (let k = 0; k < i; k += 1) define(copy, keys[k] as string, item[keys[k] as string]);
      }
      if (copy !== undefined) define(copy, name, kept);
    }
    return copy ?? item;
  };
  return walk(value, 0);
}

/** `out[name] = value`, where a `__proto__` member (JSON.parse makes one) stays a member, not a prototype. */
function define(out: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') {
    Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  } else out[name] = value;
}
