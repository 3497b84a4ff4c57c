/**
 * What providers answered about an indicator, under the same names whatever the provider, led by
 * what decides a triage (issue 17; docs/agent-payload.md "Provider facts"). The builtins' extracted
 * fields are mapped here; a provider this table does not know falls back to its own fields.
 */

type Extracted = Readonly<Record<string, unknown>>;
/** One fact: its payload name and how to read it from a provider's extracted fields. */
type Fact = readonly [name: string, read: (x: Extracted, at: FactContext) => unknown];

export interface FactContext {
  /** The alert's occurrence time (ISO): ages are counted to it. */
  occurredAt: string;
}

/** AbuseIPDB report categories (https://www.abuseipdb.com/categories). */
const ABUSE_CATEGORIES: Readonly<Record<number, string>> = {
  1: 'DNS Compromise',
  2: 'DNS Poisoning',
  3: 'Fraud Orders',
  4: 'DDoS Attack',
  5: 'FTP Brute-Force',
  6: 'Ping of Death',
  7: 'Phishing',
  8: 'Fraud VoIP',
  9: 'Open Proxy',
  10: 'Web Spam',
  11: 'Email Spam',
  12: 'Blog Spam',
  13: 'VPN IP',
  14: 'Port Scan',
  15: 'Hacking',
  16: 'SQL Injection',
  17: 'Spoofing',
  18: 'Brute-Force',
  19: 'Bad Web Bot',
  20: 'Exploited Host',
  21: 'Web App Attack',
  22: 'SSH',
  23: 'IoT Targeted',
};

/** Lists show this many items, then `…(+n)`. */
const LIST_MAX = 4;
const TEXT_MAX = 80;

const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v.slice(0, TEXT_MAX) : undefined);
const bool = (v: unknown) => (typeof v === 'boolean' ? v : undefined);

/** ISO time to the second (provider times carry milliseconds and zones). */
function time(v: unknown): string | undefined {
  if (typeof v !== 'string' && typeof v !== 'number') return undefined;
  // Epoch seconds (VirusTotal) or an ISO/RFC time.
  const ms = typeof v === 'number' ? v * 1000 : Date.parse(v);
  if (!Number.isFinite(ms)) return str(v);
  return new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** Up to LIST_MAX distinct items, most frequent first (ties: first seen), with how many more. */
function top(items: readonly unknown[]): string[] | undefined {
  const counts = new Map<string, number>();
  for (const item of items.slice(0, 5_000)) {
    const text = str(item);
    if (text !== undefined) counts.set(text, (counts.get(text) ?? 0) + 1);
  }
  if (counts.size === 0) return undefined;
  const sorted = [...counts.entries()].sort((a, b) => b[1] - a[1]).map(([t]) => t);
  return listOf(sorted);
}

function listOf(items: readonly string[]): string[] {
  return items.length > LIST_MAX ? [...items.slice(0, LIST_MAX), `…(+${items.length - LIST_MAX})`] : [...items];
}

/** VirusTotal's last analysis as `{malicious, suspicious, total}` engines. */
function detections(x: Extracted) {
  const malicious = num(x.malicious_count);
  if (malicious === undefined) return undefined;
  const suspicious = num(x.suspicious_count) ?? 0;
  const total = ['harmless_count', 'undetected_count', 'timeout_count'].reduce(
    (sum, key) => sum + (num(x[key]) ?? 0),
    malicious + suspicious,
  );
  return { malicious, suspicious, total };
}

/** Report categories (AbuseIPDB ids) or per-vendor categories (VirusTotal), by how often they are named. */
function categories(x: Extracted) {
  const c = x.categories;
  if (Array.isArray(c))
    return top(c.map((id) => (typeof id === 'number' ? (ABUSE_CATEGORIES[id] ?? `category ${id}`) : id)));
  if (c !== null && typeof c === 'object')
    return top(Object.values(c).map((v) => (typeof v === 'string' ? v.toLowerCase() : v)));
  return undefined;
}

const PRIVILEGED = /admin|privileged|owner|operator|root|super/i;
/** Groups and roles, privileged ones first. */
function groups(x: Extracted) {
  if (!Array.isArray(x.groups)) return undefined;
  const names = x.groups.map(str).filter((g): g is string => g !== undefined && g !== 'Everyone');
  if (names.length === 0) return undefined;
  return listOf([...names.filter((g) => PRIVILEGED.test(g)), ...names.filter((g) => !PRIVILEGED.test(g))]);
}

/** Enrolled MFA factors: Okta factor types, or the kinds of Entra authentication methods (not the password). */
function mfa(x: Extracted) {
  const list = Array.isArray(x.mfa_factors) ? x.mfa_factors : Array.isArray(x.mfa_methods) ? x.mfa_methods : undefined;
  if (list === undefined) return undefined;
  const kinds = list
    .map((m) =>
      m !== null && typeof m === 'object'
        ? String((m as Record<string, unknown>)['@odata.type'] ?? '')
            .replace('#microsoft.graph.', '')
            .replace(/AuthenticationMethod$/, '')
        : m,
    )
    .map(str)
    .filter((k): k is string => k !== undefined && k !== 'password');
  return [...new Set(kinds)].slice(0, 8);
}

function age(x: Extracted, at: FactContext) {
  const created = num(x.creation_date);
  const occurred = Date.parse(at.occurredAt);
  if (created === undefined || !Number.isFinite(occurred)) return undefined;
  return Math.max(0, Math.floor((occurred / 1000 - created) / 86_400));
}

/** The first of these fields that is text (a fact's type never depends on the provider: see AgentPayloadSchema). */
const first =
  (...keys: string[]) =>
  (x: Extracted) => {
    for (const key of keys) {
      const v = str(x[key]);
      if (v !== undefined) return v;
    }
    return undefined;
  };

const IP: readonly Fact[] = [
  ['detections', detections],
  ['abuse_confidence', (x) => num(x.abuse_confidence_score)],
  ['reports', (x) => num(x.total_reports)],
  ['categories', categories],
  ['tor', (x) => bool(x.is_tor)],
  // Codes, so that providers agreeing on it show it once.
  ['country', first('country_code', 'country', 'country_name')],
  ['city', first('city')],
  ['as_owner', first('as_owner', 'isp')],
  ['asn', (x) => num(x.asn)],
  ['usage', first('usage_type')],
];
const DOMAIN: readonly Fact[] = [
  ['detections', detections],
  ['categories', categories],
  ['registered', (x) => time(x.creation_date)?.slice(0, 10)],
  ['age_days', age],
  ['registrar', first('registrar')],
];
const URL_FACTS: readonly Fact[] = [
  ['detections', detections],
  ['categories', categories],
  ['threat_names', (x) => (Array.isArray(x.threat_names) ? top(x.threat_names) : undefined)],
  ['final_url', first('last_final_url')],
  ['title', first('title')],
];
const HASH: readonly Fact[] = [
  ['detections', detections],
  ['threat_label', first('popular_threat_label')],
  ['names', (x) => top([x.meaningful_name, ...(Array.isArray(x.names) ? x.names : [])].filter((n) => n != null))],
  ['file_type', first('type_description')],
  ['size', (x) => num(x.size)],
  ['first_submitted', (x) => time(x.first_submission_date)],
];
const ACCOUNT: readonly Fact[] = [
  ['status', first('status')],
  ['enabled', (x) => bool(x.account_enabled)],
  ['display_name', first('display_name')],
  ['title', first('title', 'job_title')],
  ['department', first('department')],
  ['user_type', first('user_type')],
  ['location', (x) => [str(x.city), str(x.country_code)].filter(Boolean).join(', ') || undefined],
  ['manager', first('manager')],
  ['manager_email', first('manager_email')],
  ['created', (x) => time(x.created)],
  ['last_login', (x) => time(x.last_login)],
  ['last_password_change', (x) => time(x.last_password_change ?? x.password_changed)],
  ['mfa', mfa],
  ['groups', groups],
];

const BY_TYPE: Readonly<Record<string, readonly Fact[]>> = {
  ip: IP,
  domain: DOMAIN,
  url: URL_FACTS,
  hash_md5: HASH,
  hash_sha1: HASH,
  hash_sha256: HASH,
  account: ACCOUNT,
  email: ACCOUNT,
};

/** The names of the facts of an indicator type, in their order (what `detail` levels keep first). */
export const factNames = (type: string): readonly string[] => (BY_TYPE[type] ?? []).map(([name]) => name);

/** Every fact name of every type, and the entry's own keys: a provider's field by one of these names is not shown as is. */
export const FACT_NAMES: ReadonlySet<string> = new Set([
  ...Object.keys(BY_TYPE).flatMap(factNames),
  'verdict',
  'status',
  'found',
  'error',
  'same_as',
]);

/**
 * A provider's answer as the facts of the indicator type, in order; empty when the provider
 * answered none of them (a custom provider: the caller shows its own fields).
 */
export function projectFacts(type: string, extracted: Extracted | null, at: FactContext): Array<[string, unknown]> {
  const out: Array<[string, unknown]> = [];
  if (extracted === null) return out;
  for (const [name, read] of BY_TYPE[type] ?? []) {
    const value = read(extracted, at);
    if (value === undefined || value === null || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    out.push([name, value]);
  }
  return out;
}
