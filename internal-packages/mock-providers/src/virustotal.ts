/**
 * VirusTotal API v3 mock: `GET /api/v3/{ip_addresses|domains|files|urls}/{id}` with `x-apikey`.
 * Reports are generated per value (seeded PRNG), full-size (per-engine results, whois, certificate,
 * PE info), and pretty-printed like the real API.
 */
import { DOMAIN_PROFILES, fileProfileFor, IP_PROFILES, type MockVerdict, mockVerdict, URL_PROFILES } from './data.js';
import { ipInfo, v4Range } from './ipinfo.js';
import {
  credentialOk,
  decodeSegment,
  type HandlerContext,
  header,
  type MockRequest,
  type MockResponse,
  type ProviderModule,
  type RouteMatch,
} from './types.js';
import {
  DOMAIN_RE,
  hashKind,
  ipVersion,
  isoFromUnix,
  MOCK_NOW_S,
  md5Hex,
  Rng,
  sha1Hex,
  sha256Hex,
  vtUrlId,
  wrapText,
} from './util.js';
import { AV_ENGINES, expandLabel, LIST_ONLY_SCANNERS, SUSPICIOUS_LABELS, URL_SCANNERS } from './vt-engines.js';

const INDENT = 4;
const API_BASE = '/api/v3';

type Json = Record<string, unknown>;

/** Serialised once (memoised), pretty-printed like the real API. */
function pretty(body: Json): string {
  return JSON.stringify(body, null, INDENT);
}

function vtError(status: number, code: string, message: string): MockResponse {
  return { status, body: { error: { code, message } }, indent: INDENT };
}

// ---------------------------------------------------------------------------------------------
// Analysis results
// ---------------------------------------------------------------------------------------------

interface Counts {
  malicious: number;
  suspicious: number;
}

/** Generated counts land clearly inside the builtin VirusTotal rules (≥ 5 malicious; ≥ 3 suspicious). */
function countsFor(verdict: MockVerdict, r: Rng, listed?: Counts): Counts {
  if (listed) return listed;
  if (verdict === 'malicious') return { malicious: r.int(5, 14), suspicious: r.int(0, 2) };
  if (verdict === 'suspicious') return { malicious: 0, suspicious: r.int(3, 5) };
  return { malicious: 0, suspicious: 0 };
}

/** URL-scanner line-up used by ip_addresses, domains and urls. */
function scannerAnalysis(r: Rng, counts: Counts, maliciousWord: string): { stats: Json; results: Json } {
  const order = r.shuffle(URL_SCANNERS);
  const malicious = new Set(order.slice(0, counts.malicious));
  const suspicious = new Set(order.slice(counts.malicious, counts.malicious + counts.suspicious));
  const stats = { malicious: 0, suspicious: 0, undetected: 0, harmless: 0, timeout: 0 };
  const results: Json = {};
  for (const engine of URL_SCANNERS) {
    let category: 'malicious' | 'suspicious' | 'harmless' | 'undetected' | 'timeout';
    let result: string;
    if (malicious.has(engine)) {
      category = 'malicious';
      result = r.chance(0.75) ? maliciousWord : 'malicious';
    } else if (suspicious.has(engine)) {
      category = 'suspicious';
      result = 'suspicious';
    } else if (LIST_ONLY_SCANNERS.has(engine) || r.chance(0.06)) {
      category = 'undetected';
      result = 'unrated';
    } else {
      category = 'harmless';
      result = 'clean';
    }
    stats[category]++;
    results[engine] = { method: 'blacklist', engine_name: engine, category, result };
  }
  return { stats, results };
}

interface AvProfile extends Counts {
  family: string;
  threat: string;
  platform: string;
}

/** Antivirus line-up used by files. */
function avAnalysis(r: Rng, p: AvProfile): { stats: Json; results: Json } {
  const candidates = r.shuffle(AV_ENGINES.filter((e) => e.label !== null && !e.mobile).map((e) => e.name));
  const malicious = new Set(candidates.slice(0, p.malicious));
  const suspicious = new Set(candidates.slice(p.malicious, p.malicious + p.suspicious));
  const stats = {
    harmless: 0,
    'type-unsupported': 0,
    suspicious: 0,
    'confirmed-timeout': 0,
    timeout: 0,
    failure: 0,
    malicious: 0,
    undetected: 0,
  };
  const results: Json = {};
  const vars = { family: p.family, threat: p.threat, platform: p.platform };
  for (const engine of AV_ENGINES) {
    let category: keyof typeof stats;
    let result: string | null = null;
    if (engine.mobile) {
      category = 'type-unsupported';
    } else if (malicious.has(engine.name) && engine.label) {
      category = 'malicious';
      result = expandLabel(engine.label, r, vars);
    } else if (suspicious.has(engine.name)) {
      category = 'suspicious';
      result = expandLabel(r.pick(SUSPICIOUS_LABELS), r, vars);
    } else if (r.chance(0.015)) {
      category = 'timeout';
    } else {
      category = 'undetected';
    }
    stats[category]++;
    results[engine.name] = {
      method: 'blacklist',
      engine_name: engine.name,
      engine_version: engine.version,
      engine_update: '20260301',
      category,
      result,
    };
  }
  return { stats, results };
}

function reputationFor(r: Rng, verdict: MockVerdict): number {
  if (verdict === 'malicious') return -r.int(8, 60);
  if (verdict === 'suspicious') return -r.int(1, 5);
  return r.int(0, 12);
}

function votesFor(r: Rng, verdict: MockVerdict): { harmless: number; malicious: number } {
  if (verdict === 'malicious') return { harmless: r.int(0, 2), malicious: r.int(3, 40) };
  if (verdict === 'suspicious') return { harmless: r.int(0, 2), malicious: r.int(0, 3) };
  return { harmless: r.int(0, 6), malicious: 0 };
}

// ---------------------------------------------------------------------------------------------
// Certificates and whois
// ---------------------------------------------------------------------------------------------

function vtDate(seconds: number): string {
  return isoFromUnix(seconds).replace('T', ' ').replace('.000Z', '');
}

function certificate(r: Rng, names: string[]): Json {
  const notBefore = r.pastUnix(5, 80);
  const le = r.chance(0.6);
  const issuer = le
    ? { C: 'US', O: "Let's Encrypt", CN: r.pick(['R10', 'R11', 'E5', 'E6']) }
    : { C: 'US', O: r.pick(['DigiCert Inc', 'Sectigo Limited', 'Google Trust Services']), CN: 'TLS RSA CA G1' };
  return {
    size: r.int(1200, 1900),
    public_key: { rsa: { key_size: 2048, modulus: r.hex(512), exponent: '010001' }, algorithm: 'RSA' },
    thumbprint_sha256: r.hex(64),
    tags: [],
    cert_signature: { signature: r.hex(512), signature_algorithm: 'sha256RSA' },
    validity: { not_after: vtDate(notBefore + 90 * 86_400), not_before: vtDate(notBefore) },
    version: 'V3',
    extensions: {
      certificate_policies: ['2.23.140.1.2.1'],
      extended_key_usage: ['serverAuth', 'clientAuth'],
      authority_key_identifier: { keyid: r.hex(40) },
      subject_alternative_name: names,
      subject_key_identifier: r.hex(40),
      key_usage: ['digitalSignature', 'keyEncipherment'],
      '1.3.6.1.4.1.11129.2.4.2': `0481f300f1007600${r.hex(440)}`,
      CA: false,
      ca_information_access: le
        ? { 'CA Issuers': 'http://r11.i.lencr.org/', OCSP: 'http://r11.o.lencr.org' }
        : { 'CA Issuers': 'http://cacerts.digicert.com/ca.crt', OCSP: 'http://ocsp.digicert.com' },
    },
    signature_algorithm: 'sha256RSA',
    serial_number: r.hex(32),
    thumbprint: r.hex(40),
    issuer,
    subject: { CN: names[0] ?? 'localhost' },
  };
}

function ipWhois(r: Rng, ip: string, info: ReturnType<typeof ipInfo>): string {
  if (info.isPrivate || !info.network) return '';
  const org = info.orgName ?? info.asOwner ?? 'Unknown';
  const handle = `${
    org
      .replace(/[^A-Za-z]/g, '')
      .slice(0, 8)
      .toUpperCase() || 'NET'
  }-${r.int(1, 99)}`;
  const created = r.pastUnix(700, 4000);
  const updated = r.pastUnix(10, 600);
  if (info.version === 4 && info.rir === 'ARIN') {
    const [start, end] = v4Range(info.network);
    return wrapText([
      `NetRange: ${start} - ${end}`,
      `CIDR: ${info.network}`,
      `NetName: ${handle}`,
      `NetHandle: NET-${start.replaceAll('.', '-')}-1`,
      `Parent: NET${start.split('.')[0]} (NET-${start.split('.')[0]}-0-0-0-0)`,
      'NetType: Direct Allocation',
      `OriginAS: AS${info.asn}`,
      `Organization: ${org} (${handle})`,
      `RegDate: ${isoFromUnix(created).slice(0, 10)}`,
      `Updated: ${isoFromUnix(updated).slice(0, 10)}`,
      `Ref: https://rdap.arin.net/registry/ip/${start}`,
      `OrgName: ${org}`,
      `OrgId: ${handle}`,
      `Address: ${r.int(100, 9999)} ${r.pick(['Market Street', 'Main Street', 'Broadway', 'Mission Street'])}`,
      `City: ${info.city ?? 'Wilmington'}`,
      `StateProv: ${r.pick(['CA', 'NY', 'WA', 'DE', 'TX'])}`,
      `PostalCode: ${r.digits(5)}`,
      `Country: ${info.country}`,
      `RegDate: ${isoFromUnix(created - 86_400 * 400).slice(0, 10)}`,
      `Updated: ${isoFromUnix(updated).slice(0, 10)}`,
      `Ref: https://rdap.arin.net/registry/entity/${handle}`,
      `OrgAbuseHandle: ABUSE${r.int(1000, 9999)}-ARIN`,
      'OrgAbuseName: Abuse Department',
      `OrgAbusePhone: +1-${r.digits(3)}-${r.digits(3)}-${r.digits(4)}`,
      `OrgAbuseEmail: abuse@${info.domain ?? 'example.net'}`,
      `OrgAbuseRef: https://rdap.arin.net/registry/entity/ABUSE${r.int(1000, 9999)}-ARIN`,
      `OrgNOCHandle: NOC${r.int(1000, 9999)}-ARIN`,
      'OrgNOCName: Network Operations Center',
      `OrgNOCEmail: noc@${info.domain ?? 'example.net'}`,
      `OrgTechHandle: TECH${r.int(1000, 9999)}-ARIN`,
      'OrgTechName: Technical Support',
      `OrgTechEmail: hostmaster@${info.domain ?? 'example.net'}`,
    ]);
  }
  const range = info.version === 4 ? v4Range(info.network).join(' - ') : info.network;
  const source = info.rir === 'APNIC' ? 'APNIC' : info.rir === 'LACNIC' ? 'LACNIC' : 'RIPE';
  return wrapText([
    `${info.version === 4 ? 'inetnum' : 'inet6num'}: ${range}`,
    `netname: ${handle}`,
    `descr: ${org}`,
    `country: ${info.country}`,
    `org: ORG-${handle}-${source}`,
    `admin-c: ${r.upper(2)}${r.int(100, 9999)}-${source}`,
    `tech-c: ${r.upper(2)}${r.int(100, 9999)}-${source}`,
    `status: ${info.version === 4 ? 'ASSIGNED PA' : 'ASSIGNED'}`,
    `mnt-by: MNT-${handle}`,
    `created: ${isoFromUnix(created).replace('.000Z', 'Z')}`,
    `last-modified: ${isoFromUnix(updated).replace('.000Z', 'Z')}`,
    `source: ${source}`,
    `organisation: ORG-${handle}-${source}`,
    `org-name: ${org}`,
    'org-type: LIR',
    `address: ${r.pick(['Hauptstrasse', 'Rue de la Paix', 'Herengracht', 'Ulitsa Lenina'])} ${r.int(1, 200)}`,
    `abuse-c: AR${r.int(1000, 99999)}-${source}`,
    `abuse-mailbox: abuse@${info.domain ?? `${handle.toLowerCase()}.example`}`,
    `mnt-ref: MNT-${handle}`,
    `route${info.version === 6 ? '6' : ''}: ${info.network}`,
    `origin: AS${info.asn}`,
    `descr: ${org}`,
    `mnt-by: MNT-${handle}`,
    `created: ${isoFromUnix(created).replace('.000Z', 'Z')}`,
    `source: ${source}`,
    `% This query was served by the ${source} Database Query Service version 1.114 (${ip})`,
  ]);
}

const REGISTRARS: [string, number, string][] = [
  ['MarkMonitor Inc.', 292, 'whois.markmonitor.com'],
  ['GoDaddy.com, LLC', 146, 'whois.godaddy.com'],
  ['NameCheap, Inc.', 1068, 'whois.namecheap.com'],
  ['Tucows Domains Inc.', 69, 'whois.tucows.com'],
  ['Gandi SAS', 81, 'whois.gandi.net'],
  ['CSC Corporate Domains, Inc.', 299, 'whois.corporatedomains.com'],
  ['Cloudflare, Inc.', 1910, 'whois.cloudflare.com'],
];

function domainWhois(r: Rng, domain: string, registrar: string, created: number, updated: number, expires: number) {
  const reg = REGISTRARS.find((x) => x[0] === registrar);
  const ianaId = reg?.[1] ?? r.int(100, 3000);
  const server = reg?.[2] ?? `whois.${registrar.split(/[ ,]/)[0]?.toLowerCase() ?? 'registrar'}.com`;
  const upper = domain.toUpperCase();
  const privacy = r.chance(0.6);
  return wrapText([
    `Domain Name: ${upper}`,
    `Registry Domain ID: ${r.digits(10)}_DOMAIN_${(domain.split('.').pop() ?? 'com').toUpperCase()}-VRSN`,
    `Registrar WHOIS Server: ${server}`,
    `Registrar URL: http://www.${server.replace(/^whois\./, '')}`,
    `Updated Date: ${isoFromUnix(updated).replace('.000Z', 'Z')}`,
    `Creation Date: ${isoFromUnix(created).replace('.000Z', 'Z')}`,
    `Registry Expiry Date: ${isoFromUnix(expires).replace('.000Z', 'Z')}`,
    `Registrar: ${registrar}`,
    `Registrar IANA ID: ${ianaId}`,
    `Registrar Abuse Contact Email: abuse@${server.replace(/^whois\./, '')}`,
    `Registrar Abuse Contact Phone: +1.${r.digits(10)}`,
    'Domain Status: clientTransferProhibited https://icann.org/epp#clientTransferProhibited',
    r.chance(0.5) && 'Domain Status: clientUpdateProhibited https://icann.org/epp#clientUpdateProhibited',
    `Name Server: NS1.${upper.split('.').slice(-2).join('.')}`,
    `Name Server: NS2.${upper.split('.').slice(-2).join('.')}`,
    'DNSSEC: unsigned',
    `Registrant Organization: ${privacy ? 'Privacy service provided by Withheld for Privacy ehf' : `${domain.split('.')[0]} Holdings`}`,
    `Registrant State/Province: ${privacy ? 'Capital Region' : r.pick(['CA', 'NY', 'Ontario', 'Bavaria'])}`,
    `Registrant Country: ${privacy ? 'IS' : r.pick(['US', 'CA', 'DE', 'GB'])}`,
    `Registrant Email: ${privacy ? `${r.hex(32)}@withheldforprivacy.com` : `hostmaster@${domain}`}`,
    `Admin Email: ${privacy ? `${r.hex(32)}@withheldforprivacy.com` : `hostmaster@${domain}`}`,
    `Tech Email: ${privacy ? `${r.hex(32)}@withheldforprivacy.com` : `hostmaster@${domain}`}`,
    'URL of the ICANN Whois Inaccuracy Complaint Form: https://www.icann.org/wicf/',
  ]);
}

function randomPublicIp(r: Rng): string {
  return `${r.pick([23, 34, 52, 104, 142, 151, 172, 185, 199, 216])}.${r.int(0, 255)}.${r.int(0, 255)}.${r.int(1, 254)}`;
}

// ---------------------------------------------------------------------------------------------
// Objects
// ---------------------------------------------------------------------------------------------

function ipObject(ip: string, base: string): Json {
  const r = new Rng('vt-ip', ip);
  const verdict = mockVerdict('ip', ip);
  const info = ipInfo(ip);
  const profile = info.isPrivate ? undefined : ipProfileCounts(ip);
  const analysis = scannerAnalysis(r, countsFor(verdict, r, profile), 'malware');
  const lastAnalysis = r.pastUnix(0.05, 6);
  const attributes: Json = info.isPrivate
    ? {
        tags: [],
        last_analysis_stats: analysis.stats,
        last_analysis_date: lastAnalysis,
        reputation: 0,
        last_analysis_results: analysis.results,
        last_modification_date: lastAnalysis + 60,
        total_votes: { harmless: 0, malicious: 0 },
        whois: '',
      }
    : {
        regional_internet_registry: info.rir,
        jarm: r.chance(0.5) ? `${r.hex(30)}${r.hex(32)}` : undefined,
        network: info.network,
        last_https_certificate_date: r.chance(0.5) ? lastAnalysis - r.int(100, 80_000) : undefined,
        tags: profile ? profile.tags : [],
        country: info.country,
        as_owner: info.asOwner,
        last_analysis_stats: analysis.stats,
        asn: info.asn,
        whois_date: r.pastUnix(3, 60),
        last_analysis_date: lastAnalysis,
        reputation: reputationFor(r, verdict),
        last_analysis_results: analysis.results,
        last_modification_date: lastAnalysis + r.int(60, 3600),
        total_votes: votesFor(r, verdict),
        continent: info.continent,
        whois: ipWhois(r, ip, info),
      };
  if (attributes.last_https_certificate_date !== undefined) {
    attributes.last_https_certificate = certificate(r, info.hostnames.length > 0 ? info.hostnames : [ip]);
  }
  return {
    data: {
      id: ip,
      type: 'ip_address',
      links: { self: `${base}${API_BASE}/ip_addresses/${ip}` },
      attributes: stripUndefined(attributes),
    },
  };
}

function ipProfileCounts(ip: string): (Counts & { tags: string[] }) | undefined {
  const p = IP_PROFILES[ip];
  return p ? { malicious: p.vtMalicious, suspicious: p.vtSuspicious, tags: p.tags } : undefined;
}

const BENIGN_CATEGORIES = [
  ['information technology', 'information technology', 'computersandsoftware', 'Information Technology'],
  ['business and economy', 'business', 'business', 'Business/Economy'],
  ['news and media', 'news', 'news', 'News'],
  ['search engines and portals', 'search engines', 'searchengines', 'Search Engines/Portals'],
  ['educational institutions', 'education', 'education', 'Education'],
  ['shopping', 'shopping', 'onlineshop', 'Shopping'],
] as const;

function domainObject(domain: string, base: string): Json {
  const r = new Rng('vt-domain', domain);
  const verdict = mockVerdict('domain', domain);
  const profile = DOMAIN_PROFILES[domain];
  const counts = countsFor(
    verdict,
    r,
    profile ? { malicious: profile.vtMalicious, suspicious: profile.vtSuspicious } : undefined,
  );
  const analysis = scannerAnalysis(r, counts, verdict === 'malicious' ? 'malware' : 'suspicious');
  const lastAnalysis = r.pastUnix(0.05, 5);
  const created = profile ? MOCK_NOW_S - profile.createdDaysAgo * 86_400 - r.int(0, 86_000) : r.pastUnix(400, 9000);
  const updated = Math.max(created, r.pastUnix(5, 300));
  const expires = created + 86_400 * 365 * r.int(1, 10);
  const registrarRow = r.pick(REGISTRARS);
  const registrar = profile ? profile.registrar : registrarRow[0];
  const a = profile ? profile.aRecord : randomPublicIp(r);
  const apex = domain.split('.').slice(-2).join('.');
  const dnsDate = lastAnalysis - r.int(100, 40_000);
  const records: Json[] = [
    { type: 'A', ttl: r.pick([60, 300, 3600]), value: a },
    ...(r.chance(0.4) && !profile ? [{ type: 'AAAA', ttl: 300, value: `2606:4700::${r.hex(4)}:${r.hex(4)}` }] : []),
    { type: 'NS', ttl: 86_400, value: `ns1.${apex}` },
    { type: 'NS', ttl: 86_400, value: `ns2.${apex}` },
    ...(profile ? [] : [{ type: 'MX', ttl: 3600, priority: 10, value: `mail.${apex}` }]),
    {
      type: 'SOA',
      ttl: 3600,
      value: `ns1.${apex}`,
      rname: `hostmaster.${apex}`,
      serial: Number(`2026${r.int(1, 2).toString().padStart(2, '0')}${r.int(10, 28)}01`),
      refresh: 7200,
      retry: 3600,
      expire: 1_209_600,
      minimum: 3600,
    },
    ...(profile ? [] : [{ type: 'TXT', ttl: 3600, value: `v=spf1 include:_spf.${apex} ~all` }]),
  ];
  let categories: Record<string, string>;
  if (profile) {
    categories = profile.categories;
  } else {
    const c = r.pick(BENIGN_CATEGORIES);
    categories = {
      'Forcepoint ThreatSeeker': c[0],
      Sophos: c[1],
      BitDefender: c[2],
      'alphaMountain.ai': `${c[3]} (alphaMountain.ai)`,
    };
  }
  const popular = verdict === 'benign' && r.chance(0.5);
  const attributes: Json = {
    last_dns_records: records,
    jarm: `${r.hex(30)}${r.hex(32)}`,
    whois: domainWhois(r, domain, registrar, created, updated, expires),
    last_https_certificate_date: dnsDate,
    tags: profile ? profile.tags : [],
    popularity_ranks: popular
      ? {
          'Cisco Umbrella': { rank: r.int(1000, 900_000), timestamp: lastAnalysis - 86_400 },
          Tranco: { rank: r.int(1000, 900_000), timestamp: lastAnalysis - 86_400 },
        }
      : {},
    last_analysis_date: lastAnalysis,
    last_dns_records_date: dnsDate,
    last_analysis_stats: analysis.stats,
    creation_date: created,
    reputation: reputationFor(r, verdict),
    registrar,
    last_analysis_results: analysis.results,
    last_update_date: updated,
    last_modification_date: lastAnalysis + r.int(60, 3600),
    tld: domain.split('.').pop() ?? '',
    last_https_certificate: certificate(r, [domain, `*.${apex}`]),
    categories,
    total_votes: votesFor(r, verdict),
    expiration_date: expires,
  };
  return {
    data: {
      id: domain,
      type: 'domain',
      links: { self: `${base}${API_BASE}/domains/${domain}` },
      attributes,
    },
  };
}

const IMPORTS: Record<string, string[]> = {
  'KERNEL32.dll': [
    'CloseHandle',
    'CreateFileW',
    'CreateProcessW',
    'CreateThread',
    'DeleteFileW',
    'ExitProcess',
    'GetCommandLineW',
    'GetCurrentProcessId',
    'GetModuleFileNameW',
    'GetModuleHandleW',
    'GetProcAddress',
    'GetSystemTimeAsFileTime',
    'GetTempPathW',
    'GetTickCount',
    'HeapAlloc',
    'HeapFree',
    'IsDebuggerPresent',
    'LoadLibraryW',
    'QueryPerformanceCounter',
    'ReadFile',
    'SetUnhandledExceptionFilter',
    'Sleep',
    'TerminateProcess',
    'VirtualAlloc',
    'VirtualFree',
    'VirtualProtect',
    'WriteFile',
  ],
  'ADVAPI32.dll': [
    'CryptAcquireContextW',
    'CryptGenRandom',
    'CryptReleaseContext',
    'GetUserNameW',
    'OpenProcessToken',
    'RegCloseKey',
    'RegCreateKeyExW',
    'RegOpenKeyExW',
    'RegSetValueExW',
  ],
  'USER32.dll': ['GetCursorPos', 'GetForegroundWindow', 'GetSystemMetrics', 'MessageBoxW', 'wsprintfW'],
  'WININET.dll': ['HttpOpenRequestW', 'HttpSendRequestW', 'InternetConnectW', 'InternetOpenW', 'InternetReadFile'],
  'SHELL32.dll': ['SHGetFolderPathW', 'ShellExecuteW'],
  'WS2_32.dll': ['WSAStartup', 'closesocket', 'connect', 'gethostbyname', 'recv', 'send', 'socket'],
  'ole32.dll': ['CoCreateInstance', 'CoInitializeEx', 'CoUninitialize'],
};

function peInfo(r: Rng, x64: boolean): Json {
  const libs = ['KERNEL32.dll', ...r.sample(Object.keys(IMPORTS).slice(1), r.int(2, 5))];
  const sections = ['.text', '.rdata', '.data', '.pdata', '.rsrc', '.reloc']
    .filter((n) => x64 || n !== '.pdata')
    .map((name, i) => {
      const raw = Math.ceil((r.int(2, 160) * 1024) / 512) * 512;
      return {
        name,
        chi2: r.int(2000, 900_000) + r.next(),
        virtual_address: 4096 * (1 + i * r.int(2, 40)),
        flags: name === '.text' ? 'rx' : name === '.data' ? 'rw' : 'r',
        raw_size: raw,
        entropy: Math.round((name === '.text' ? 6 + r.next() * 1.9 : 1 + r.next() * 5) * 100) / 100,
        virtual_size: raw - r.int(0, 500),
        md5: r.hex(32),
      };
    });
  return {
    rich_pe_header_hash: r.hex(32),
    imphash: r.hex(32),
    compiler_product_versions: [
      `[IMP] VS2008 SP1 build 30729 count=${r.int(3, 20)}`,
      `id: 0x0105, version: 30${r.int(100, 159)} count=${r.int(10, 200)}`,
      `[LNK] VS2019 v16.11.${r.int(10, 40)} build 30${r.int(100, 159)} count=1`,
    ],
    timestamp: r.pastUnix(20, 1500),
    machine_type: x64 ? 34_404 : 332,
    entry_point: r.int(4096, 90_000),
    sections,
    import_list: libs.map((library_name) => ({
      library_name,
      imported_functions: r.sample(IMPORTS[library_name] ?? [], r.int(3, (IMPORTS[library_name] ?? []).length)).sort(),
    })),
    resource_details: [
      {
        lang: 'ENGLISH US',
        chi2: r.int(1000, 90_000) + r.next(),
        filetype: 'Data',
        entropy: 3.1,
        sha256: r.hex(64),
        type: 'RT_ICON',
      },
      {
        lang: 'ENGLISH US',
        chi2: r.int(1000, 90_000) + r.next(),
        filetype: 'XML',
        entropy: 5.0,
        sha256: r.hex(64),
        type: 'RT_MANIFEST',
      },
    ],
    resource_langs: { 'ENGLISH US': 2 },
    resource_types: { RT_ICON: 1, RT_MANIFEST: 1 },
  };
}

interface FileShape {
  sha256: string;
  md5: string;
  sha1: string;
  name: string;
  names: string[];
  size: number;
  format: 'peexe' | 'pedll' | 'powershell' | 'pdf' | 'docx' | 'zip';
  family: string;
  threat: string;
  category: string;
  counts: Counts;
  tags: string[];
  verdict: MockVerdict;
}

const BENIGN_FILES: [FileShape['format'], string[]][] = [
  ['peexe', ['setup.exe', 'installer.exe', 'ChromeSetup.exe', 'Teams_windows_x64.exe', 'putty.exe', '7z2409-x64.exe']],
  ['pedll', ['msvcp140.dll', 'vcruntime140.dll', 'libcrypto-3-x64.dll', 'sqlite3.dll']],
  ['pdf', ['invoice_2026_02.pdf', 'Q4_report.pdf', 'contract_signed.pdf', 'whitepaper.pdf']],
  ['docx', ['meeting_notes.docx', 'Proposal_v3.docx', 'resume.docx']],
  ['zip', ['archive.zip', 'logs_2026-02-28.zip', 'photos.zip']],
];

function fileShape(hash: string): FileShape {
  const h = hash.toLowerCase();
  const listed = fileProfileFor(h);
  const verdict = mockVerdict('hash', h);
  if (listed) {
    return {
      sha256: listed.sha256,
      md5: listed.md5,
      sha1: listed.sha1,
      name: listed.name,
      names: listed.otherNames,
      size: listed.size,
      format: listed.format,
      family: listed.family,
      threat: listed.threat,
      category: listed.category,
      counts: { malicious: listed.vtMalicious, suspicious: listed.vtSuspicious },
      tags: listed.tags,
      verdict,
    };
  }
  const r = new Rng('vt-file-shape', h);
  const kind = hashKind(h);
  const sha256 = kind === 'sha256' ? h : sha256Hex(`calseta-mock-sha256:${h}`);
  const md5 = kind === 'md5' ? h : md5Hex(`calseta-mock-md5:${h}`);
  const sha1 = kind === 'sha1' ? h : sha1Hex(`calseta-mock-sha1:${h}`);
  const [format, names] = r.pick(BENIGN_FILES);
  const name = r.pick(names);
  const size =
    format === 'peexe' || format === 'pedll'
      ? r.int(40, 8000) * 1024
      : format === 'zip'
        ? r.int(50, 20_000) * 1024
        : r.int(20, 3000) * 1024;
  const counts = countsFor(verdict, r);
  return {
    sha256,
    md5,
    sha1,
    name,
    names: [
      name,
      ...r.sample(
        names.filter((n) => n !== name),
        r.int(0, 2),
      ),
    ],
    size,
    format,
    family: r.pick(['Agent', 'Generic', 'Kryptik', 'Wacatac']),
    threat: 'Trojan',
    category: 'trojan',
    counts,
    tags: format === 'peexe' || format === 'pedll' ? [format, r.chance(0.5) ? '64bits' : 'overlay'] : [format],
    verdict,
  };
}

const TYPE_INFO: Record<
  FileShape['format'],
  { description: string; tag: string; ext: string; magic: string; trid: [string, number][] }
> = {
  peexe: {
    description: 'Win32 EXE',
    tag: 'peexe',
    ext: 'exe',
    magic: 'PE32 executable (GUI) Intel 80386, for MS Windows',
    trid: [
      ['Win32 Executable MS Visual C++ (generic)', 47.3],
      ['Win64 Executable (generic)', 15.9],
      ['Win32 Dynamic Link Library (generic)', 9.9],
      ['Win16 NE executable (generic)', 7.6],
      ['Win32 Executable (generic)', 6.7],
    ],
  },
  pedll: {
    description: 'Win32 DLL',
    tag: 'pedll',
    ext: 'dll',
    magic: 'PE32+ executable (DLL) (GUI) x86-64, for MS Windows',
    trid: [
      ['Win64 Executable (generic)', 48.7],
      ['Win32 Dynamic Link Library (generic)', 30.2],
      ['Win32 Executable (generic)', 20.6],
    ],
  },
  powershell: {
    description: 'Powershell',
    tag: 'powershell',
    ext: 'ps1',
    magic: 'ASCII text, with very long lines (3822), with CRLF line terminators',
    trid: [['Text - UTF-8 encoded', 100]],
  },
  pdf: {
    description: 'PDF',
    tag: 'pdf',
    ext: 'pdf',
    magic: 'PDF document, version 1.7',
    trid: [['Adobe Portable Document Format', 100]],
  },
  docx: {
    description: 'Office Open XML Document',
    tag: 'docx',
    ext: 'docx',
    magic: 'Microsoft Word 2007+',
    trid: [
      ['Word Microsoft Office Open XML Format document', 52.2],
      ['Open Packaging Conventions container', 38.8],
      ['ZIP compressed archive', 9],
    ],
  },
  zip: {
    description: 'ZIP',
    tag: 'zip',
    ext: 'zip',
    magic: 'Zip archive data, at least v2.0 to extract',
    trid: [['ZIP compressed archive', 100]],
  },
};

function fileObject(hash: string, base: string): Json {
  const f = fileShape(hash);
  const r = new Rng('vt-file', f.sha256);
  const info = TYPE_INFO[f.format];
  const isPe = f.format === 'peexe' || f.format === 'pedll';
  const x64 = f.tags.includes('64bits');
  const platform = f.format === 'powershell' ? 'PowerShell' : x64 ? 'Win64' : 'Win32';
  const analysis = avAnalysis(r, { ...f.counts, family: f.family, threat: f.threat, platform });
  const lastAnalysis = r.pastUnix(0.05, 10);
  const firstSubmission = f.verdict === 'benign' ? r.pastUnix(30, 1500) : r.pastUnix(3, 40);
  const attributes: Json = {
    type_description: info.description,
    type_tag: info.tag,
    type_tags: [
      isPe ? 'executable' : f.format === 'powershell' ? 'source' : 'document',
      isPe ? 'windows' : info.tag,
      info.tag,
    ],
    type_extension: info.ext,
    magic: info.magic,
    magika: f.format === 'powershell' ? 'POWERSHELL' : isPe ? 'PEBIN' : f.format.toUpperCase(),
    trid: info.trid.map(([file_type, probability]) => ({ file_type, probability })),
    names: f.names,
    meaningful_name: f.name,
    size: f.size,
    md5: f.md5,
    sha1: f.sha1,
    sha256: f.sha256,
    ssdeep: `${r.int(3, 12288)}:${r.alnum(48)}:${r.alnum(24)}`,
    tlsh: `T1${r.hex(70).toUpperCase()}`,
    vhash: `${r.digits(6)}${r.hex(20)}`,
    ...(isPe ? { authentihash: r.hex(64), creation_date: r.pastUnix(20, 1500) } : {}),
    first_submission_date: firstSubmission,
    last_submission_date: Math.max(firstSubmission, lastAnalysis - r.int(0, 86_400 * 2)),
    first_seen_itw_date: firstSubmission - r.int(0, 86_400),
    last_analysis_date: lastAnalysis,
    last_modification_date: lastAnalysis + r.int(60, 7200),
    times_submitted: f.verdict === 'benign' ? r.int(1, 40) : r.int(5, 300),
    unique_sources: f.verdict === 'benign' ? r.int(1, 20) : r.int(3, 120),
    total_votes: votesFor(r, f.verdict),
    reputation: reputationFor(r, f.verdict),
    tags: f.tags,
    last_analysis_stats: analysis.stats,
    last_analysis_results: analysis.results,
  };
  if (isPe) attributes.pe_info = peInfo(r, x64);
  if (f.format === 'powershell') {
    attributes.powershell_info = {
      cmdlets: ['new-object', 'invoke-expression', 'start-sleep', 'set-executionpolicy'],
      cmdlets_alias: ['iex'],
      dotnet_calls: ['Net.WebClient', 'Text.Encoding', 'Convert'],
      functions: [],
      ps_variables: ['$url', '$wc', '$payload', '$path'],
    };
  }
  if (f.verdict === 'malicious') {
    const threatName = f.family.toLowerCase();
    attributes.popular_threat_classification = {
      suggested_threat_label: `${f.category}.${threatName}/${r.pick(['kryptik', 'genkryptik', 'zusy', 'lazy'])}`,
      popular_threat_category: [
        { count: Math.round(f.counts.malicious * 0.6), value: f.category },
        { count: Math.round(f.counts.malicious * 0.2), value: f.threat.toLowerCase() },
      ],
      popular_threat_name: [
        { count: Math.round(f.counts.malicious * 0.5), value: threatName },
        { count: r.int(3, 9), value: 'kryptik' },
        { count: r.int(2, 6), value: 'zusy' },
      ],
    };
    attributes.sandbox_verdicts = {
      Zenbox: {
        category: 'malicious',
        sandbox_name: 'Zenbox',
        malware_classification: ['MALWARE', 'TROJAN', 'EVASIVE'],
        malware_names: [f.family],
        confidence: r.int(70, 100),
      },
      C2AE: {
        category: 'malicious',
        sandbox_name: 'C2AE',
        malware_classification: ['MALWARE'],
        malware_names: [f.family],
      },
    };
    attributes.crowdsourced_yara_results = [
      {
        ruleset_id: r.hex(10),
        rule_name: `MAL_${f.family}_${r.upper(3)}_${2026}`,
        ruleset_name: `apt_${threatName}`,
        description: `Detects ${f.family} ${f.threat.toLowerCase()} payload`,
        author: r.pick(['Florian Roth', 'ditekSHen', 'kevoreilly', 'Elastic Security']),
        source: 'https://github.com/Neo23x0/signature-base',
      },
    ];
    attributes.sigma_analysis_stats = {
      high: r.int(1, 4),
      medium: r.int(1, 6),
      critical: r.int(0, 2),
      low: r.int(2, 10),
    };
    attributes.threat_severity = {
      version: 5,
      threat_severity_level: 'SEVERITY_HIGH',
      threat_severity_data: { num_gav_detections: r.int(3, 9), has_vulnerabilities: false, type_tag: info.tag },
      last_analysis_date: String(lastAnalysis),
      level_description: 'Severity HIGH because it has severe AV detections',
    };
  } else if (isPe && r.chance(0.5)) {
    attributes.signature_info = {
      product: f.name.replace(/\.(exe|dll)$/, ''),
      verified: 'Signed',
      description: f.name,
      'file version': `${r.int(1, 20)}.${r.int(0, 9)}.${r.int(0, 9999)}.0`,
      'signing date': vtDate(firstSubmission - 86_400 * 3),
      'original name': f.name,
      signers: `${r.pick(['Microsoft Corporation', 'Google LLC', 'Igor Pavlov', 'Simon Tatham'])}; DigiCert Trusted G4 Code Signing RSA4096 SHA384 2021 CA1; DigiCert Trusted Root G4`,
      copyright: `Copyright (c) ${r.int(2010, 2025)}`,
    };
  }
  return {
    data: {
      id: f.sha256,
      type: 'file',
      links: { self: `${base}${API_BASE}/files/${f.sha256}` },
      attributes,
    },
  };
}

function urlObject(url: string, base: string): Json {
  let canonical = url;
  try {
    canonical = new URL(url).href;
  } catch {
    // keep as given
  }
  const id = sha256Hex(canonical);
  const r = new Rng('vt-url', canonical);
  const verdict = mockVerdict('url', url);
  const profile = URL_PROFILES[url] ?? URL_PROFILES[canonical];
  const counts = countsFor(
    verdict,
    r,
    profile ? { malicious: profile.vtMalicious, suspicious: profile.vtSuspicious } : undefined,
  );
  const analysis = scannerAnalysis(r, counts, r.pick(['malware', 'malicious', 'phishing']));
  const lastAnalysis = r.pastUnix(0.05, 6);
  const firstSubmission = verdict === 'benign' ? r.pastUnix(20, 900) : r.pastUnix(1, 30);
  let host = '';
  try {
    host = new URL(canonical).hostname;
  } catch {
    host = '';
  }
  const status = profile?.status ?? (verdict === 'benign' ? r.pick([200, 200, 200, 301, 302]) : 200);
  const redirects = status === 301 || status === 302;
  const finalUrl = redirects ? `${canonical.replace(/^http:/, 'https:').replace(/\/?$/, '/')}` : canonical;
  const length = profile?.title === '' ? r.int(2000, 9000) : r.int(5000, 240_000);
  const attributes: Json = {
    last_http_response_content_sha256: r.hex(64),
    html_meta:
      verdict === 'benign' ? { viewport: ['width=device-width, initial-scale=1'], description: [`${host} home`] } : {},
    last_http_response_code: status,
    last_final_url: finalUrl,
    last_http_response_content_length: length,
    url,
    last_analysis_date: lastAnalysis,
    tags: verdict === 'benign' ? [] : ['external-resources'],
    last_analysis_stats: analysis.stats,
    last_analysis_results: analysis.results,
    reputation: reputationFor(r, verdict),
    last_modification_date: lastAnalysis + r.int(60, 3600),
    first_submission_date: firstSubmission,
    last_submission_date: Math.max(firstSubmission, lastAnalysis - r.int(0, 3600)),
    times_submitted: verdict === 'benign' ? r.int(1, 500) : r.int(2, 60),
    total_votes: votesFor(r, verdict),
    threat_names:
      verdict === 'malicious' ? [r.pick(['Mal/Generic-S', 'PowerShell/Downloader', 'Trojan.Script.Agent'])] : [],
    redirection_chain: redirects ? [canonical, finalUrl] : [canonical],
    title:
      profile?.title ??
      `${host.split('.').slice(-2, -1)[0] ?? host} - ${r.pick(['Home', 'Sign in', 'Welcome', 'Dashboard'])}`,
    tld: host.split('.').pop() ?? '',
    categories:
      verdict === 'benign'
        ? { 'Forcepoint ThreatSeeker': 'information technology', Sophos: 'information technology' }
        : { 'Forcepoint ThreatSeeker': 'malicious web sites', Sophos: 'malware repository', BitDefender: 'malware' },
    last_http_response_headers: {
      'content-type': profile?.title === '' ? 'application/octet-stream' : 'text/html; charset=utf-8',
      'content-length': String(length),
      server: r.pick(['nginx', 'cloudflare', 'Apache', 'Microsoft-IIS/10.0']),
      date: new Date(lastAnalysis * 1000).toUTCString(),
      'strict-transport-security': 'max-age=31536000',
    },
    has_content: false,
  };
  return {
    data: {
      id,
      type: 'url',
      links: { self: `${base}${API_BASE}/urls/${id}` },
      attributes,
    },
  };
}

function stripUndefined(obj: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out;
}

// ---------------------------------------------------------------------------------------------
// URL identifiers
// ---------------------------------------------------------------------------------------------

/** sha256(canonical URL) → URL, for URLs the mock has seen (listed ones, or looked up by base64 id). */
const URL_BY_SHA = new Map<string, string>();

function rememberUrl(url: string): void {
  let canonical = url;
  try {
    canonical = new URL(url).href;
  } catch {
    return;
  }
  if (URL_BY_SHA.size > 50_000) URL_BY_SHA.clear();
  URL_BY_SHA.set(sha256Hex(canonical), url);
}

for (const u of [...Object.keys(URL_PROFILES), 'https://never-seen.example.org/login']) rememberUrl(u);

/** The URL for a VT URL identifier (unpadded base64url, or the SHA-256 of a URL the mock has seen). */
export function resolveUrlId(id: string): string | null {
  if (/^[0-9a-f]{64}$/i.test(id)) return URL_BY_SHA.get(id.toLowerCase()) ?? null;
  const trimmed = id.replace(/=+$/, '');
  if (!/^[A-Za-z0-9_-]+$/.test(trimmed)) return null;
  const decoded = Buffer.from(trimmed, 'base64url').toString('utf8');
  if (vtUrlId(decoded) !== trimmed) return null;
  if (!/^https?:\/\/[^\s/]+/i.test(decoded) && !/^[a-z0-9.-]+\.[a-z]{2,}(\/|$)/i.test(decoded)) return null;
  return decoded;
}

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

const COLLECTIONS = {
  ip_addresses: 'ip',
  domains: 'domain',
  files: 'file',
  urls: 'url',
} as const;

function lookup(
  collection: keyof typeof COLLECTIONS,
  rawId: string,
  req: MockRequest,
  ctx: HandlerContext,
): MockResponse {
  const given = header(req, 'x-apikey');
  if (!given) return vtError(401, 'AuthenticationRequiredError', 'X-Apikey header is missing');
  if (!credentialOk(given, ctx.apiKeys.virustotal)) return vtError(401, 'WrongCredentialsError', 'Wrong API key');
  const id = decodeSegment(rawId) ?? rawId;
  const base = req.base;
  switch (collection) {
    case 'ip_addresses': {
      if (ipVersion(id) === 0) return vtError(400, 'InvalidArgumentError', `"${id}" is not a valid IP address`);
      if (mockVerdict('ip', id) === 'not_found') return vtError(404, 'NotFoundError', `IP address "${id}" not found`);
      return ctx.memo(`vt:ip:${base}:${id}`, () => ({ status: 200, body: pretty(ipObject(id, base)) }));
    }
    case 'domains': {
      const domain = id.toLowerCase().replace(/\.$/, '');
      if (!DOMAIN_RE.test(domain) || mockVerdict('domain', domain) === 'not_found') {
        return vtError(404, 'NotFoundError', `Domain "${id}" not found`);
      }
      return ctx.memo(`vt:domain:${base}:${domain}`, () => ({
        status: 200,
        body: pretty(domainObject(domain, base)),
      }));
    }
    case 'files': {
      const hash = id.toLowerCase();
      if (!hashKind(hash) || mockVerdict('hash', hash) === 'not_found') {
        return vtError(404, 'NotFoundError', `File "${id}" not found`);
      }
      return ctx.memo(`vt:file:${base}:${hash}`, () => ({ status: 200, body: pretty(fileObject(hash, base)) }));
    }
    case 'urls': {
      const url = resolveUrlId(id);
      if (!url || mockVerdict('url', url) === 'not_found')
        return vtError(404, 'NotFoundError', `URL "${id}" not found`);
      rememberUrl(url);
      return ctx.memo(`vt:url:${base}:${url}`, () => ({ status: 200, body: pretty(urlObject(url, base)) }));
    }
  }
}

const ROUTE_RE = /^\/api\/v3\/(ip_addresses|domains|files|urls)\/([^/]+)\/?$/;

export const virustotal: ProviderModule = {
  name: 'virustotal',
  prefixes: ['/virustotal'],
  match(method, path): RouteMatch | null {
    const m = ROUTE_RE.exec(path);
    if (!m || method !== 'GET') return null;
    const collection = m[1] as keyof typeof COLLECTIONS;
    const rawId = m[2] ?? '';
    const placeholder = { ip_addresses: '{ip}', domains: '{domain}', files: '{hash}', urls: '{url_id}' }[collection];
    let value = decodeSegment(rawId) ?? rawId;
    if (collection === 'urls') value = resolveUrlId(value) ?? value;
    return {
      endpoint: `GET /api/v3/${collection}/${placeholder}`,
      value,
      handle: (req, ctx) => lookup(collection, rawId, req, ctx),
    };
  },
  rateLimited(_match, retryAfter) {
    const res = vtError(429, 'QuotaExceededError', 'Quota exceeded');
    res.headers = { 'Retry-After': String(retryAfter) };
    return res;
  },
  serverError() {
    return vtError(500, 'TransientError', 'Transient server error. Retry might work.');
  },
  notFoundPath(path) {
    return vtError(404, 'NotFoundError', `Resource "${path}" not found`);
  },
};
