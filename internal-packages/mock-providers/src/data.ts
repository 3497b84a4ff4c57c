/**
 * The value tables behind every mock response. A value's verdict decides the shape of its
 * report in every provider (VirusTotal detections, AbuseIPDB confidence score), so the same
 * value reads consistently across providers. Everything not listed is generated from a PRNG
 * seeded by the value and is benign.
 */
import { hashKind, ipVersion } from './util.js';

export type IndicatorKind = 'ip' | 'domain' | 'hash' | 'url';
export type MockVerdict = 'malicious' | 'suspicious' | 'benign' | 'not_found';

/** Values that are malicious everywhere (VirusTotal `malicious > 0`, AbuseIPDB score ≥ 75). */
export const KNOWN_BAD = {
  ip: ['185.220.101.32', '185.220.101.34', '45.33.32.156', '91.234.56.78', '198.51.100.99'],
  domain: ['evil.example.com', 'c2-server.evil.com', 'c2-relay.darkops.net', 'suspicious-cloud-sync.com'],
  hash: [
    'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2',
    'de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c',
    'a1b2c3d4e5f6789012345678901234567890abcdef1234567890abcdef123456',
    // md5 / sha1 of the same three files (VirusTotal finds a file by any of its hashes)
    '1fcd6b2fbeabaa7befbb0f9653f1bcd8',
    '6cc9df34d6c28e3d4c2a47d8fd940aa6d25ec066',
    '6a274df6e8831f09910fa511244393b7',
    '53bf22d0f84bd30c6558cdbb66081024c16b3a97',
    '51e28c0f8da2acbb3dbf2525bf9ae23f',
    '2623383ca85f37256c2e1d1070a652aa682d5e92',
  ],
  url: ['https://evil.example.com/payload/stage2.ps1', 'https://c2-relay.darkops.net/stager.ps1'],
} as const satisfies Record<IndicatorKind, readonly string[]>;

/**
 * Values that are suspicious (VirusTotal `malicious == 0 && suspicious > 0`, AbuseIPDB score 25–74).
 * A URL whose host is a known-bad domain is malicious, on a suspicious domain suspicious.
 */
export const KNOWN_SUSPICIOUS = {
  ip: ['198.51.100.42', '203.0.113.77'],
  domain: ['login-microsoftonline-verify.com', 'cdn-update-check.net'],
  hash: [
    '38c06033ab3771065cf4b2cb7ffba51da73f1273882a25a3f23f5143509493c1',
    '86fc6b55a78c658c35ce0fd9424b6876',
    '313e4a649be5a536c17a6f91cfcce087fb081f57',
  ],
  url: ['https://suspicious-cloud-sync.com/api/v2/upload', 'http://cdn-update-check.net/update.exe'],
} as const satisfies Record<IndicatorKind, readonly string[]>;

/**
 * Values the services do not know: VirusTotal 404 `NotFoundError`, Okta 404 `E0000007`, Graph 404
 * `Request_ResourceNotFound`. AbuseIPDB never 404s for a valid IP: a not-found IP is reported as
 * never seen (score 0, no reports). Besides these lists, see {@link NOT_FOUND_RULES}.
 */
export const NOT_FOUND_VALUES = {
  ip: ['192.0.2.1', '192.0.2.123'],
  domain: ['nonexistent-domain.example', 'never-seen.example.org'],
  hash: [
    '00000000000000000000000000000000',
    '0000000000000000000000000000000000000000',
    '0000000000000000000000000000000000000000000000000000000000000000',
    'ffffffffffffffffffffffffffffffff',
  ],
  url: ['https://never-seen.example.org/login'],
  account: ['ghost.user@contoso.com', 'nobody@corp.com'],
} as const;

export const NOT_FOUND_RULES: readonly string[] = [
  'any value containing "unknown" (case-insensitive)',
  'IPs in 192.0.2.0/24 (TEST-NET-1)',
  'hashes starting with "00000000"',
  'URLs whose host is a not-found domain',
  'accounts that are not in KNOWN_USERS and do not match the synthetic pattern user<digits>@<domain>',
];

const lowerSet = (values: readonly string[]) => new Set(values.map((v) => v.toLowerCase()));
const BAD = {
  ip: lowerSet(KNOWN_BAD.ip),
  domain: lowerSet(KNOWN_BAD.domain),
  hash: lowerSet(KNOWN_BAD.hash),
  url: new Set<string>(KNOWN_BAD.url),
};
const SUSPICIOUS = {
  ip: lowerSet(KNOWN_SUSPICIOUS.ip),
  domain: lowerSet(KNOWN_SUSPICIOUS.domain),
  hash: lowerSet(KNOWN_SUSPICIOUS.hash),
  url: new Set<string>(KNOWN_SUSPICIOUS.url),
};
const NOT_FOUND = {
  ip: lowerSet(NOT_FOUND_VALUES.ip),
  domain: lowerSet(NOT_FOUND_VALUES.domain),
  hash: lowerSet(NOT_FOUND_VALUES.hash),
  url: new Set<string>(NOT_FOUND_VALUES.url),
};

function urlVariants(url: string): string[] {
  try {
    const parsed = new URL(url);
    return [url, parsed.href];
  } catch {
    return [url];
  }
}

function urlHost(url: string): string | null {
  try {
    return new URL(url).hostname.toLowerCase();
  } catch {
    return null;
  }
}

function inList(kind: IndicatorKind, value: string, lists: typeof BAD): boolean {
  if (kind === 'url') {
    const set = lists.url;
    return urlVariants(value).some((v) => set.has(v) || [...set].some((known) => new URL(known).href === v));
  }
  return lists[kind].has(value.toLowerCase());
}

/**
 * The mock's verdict for a value: what every provider's response will say about it.
 * Precedence: not found, then known bad, then suspicious, else benign.
 */
export function mockVerdict(kind: IndicatorKind, value: string): MockVerdict {
  const lower = value.toLowerCase();
  if (lower.includes('unknown')) return 'not_found';
  if (inList(kind, value, NOT_FOUND)) return 'not_found';
  if (kind === 'ip' && ipVersion(value) === 4 && value.startsWith('192.0.2.')) return 'not_found';
  if (kind === 'hash' && hashKind(value) && lower.startsWith('00000000')) return 'not_found';
  if (inList(kind, value, BAD)) return 'malicious';
  if (inList(kind, value, SUSPICIOUS)) return 'suspicious';
  if (kind === 'url') {
    const host = urlHost(value);
    if (host) {
      const hostVerdict = mockVerdict('domain', host);
      if (hostVerdict !== 'benign') return hostVerdict;
    }
  }
  return 'benign';
}

// ---------------------------------------------------------------------------------------------
// Per-value detail for the listed values (everything else is generated).
// ---------------------------------------------------------------------------------------------

export interface IpProfile {
  country: string;
  countryName: string;
  continent: string;
  asOwner: string;
  asn: number;
  network: string;
  rir: string;
  vtMalicious: number;
  vtSuspicious: number;
  tags: string[];
  abuseScore: number;
  /** Reports over the last 365 days; scaled down for a shorter maxAgeInDays. */
  reports365: number;
  distinctUsers: number;
  isTor: boolean;
  usageType: string;
  isp: string;
  domain: string | null;
  hostnames: string[];
  /** AbuseIPDB report categories typical for the address. */
  categories: number[][];
  comments: string[];
}

const TOR_COMMENTS = [
  'Tor exit node. Multiple failed Azure AD sign-ins against corporate tenant.',
  'SSH brute force from Tor exit relay (root, admin, ubuntu).',
  'Credential stuffing against OWA login page, 300+ attempts in 10 min.',
  'Tor exit - port scan on 22,23,3389,5900.',
  'Fail2Ban: sshd jail triggered (5 failures in 600s).',
  'WordPress xmlrpc.php brute force.',
];

export const IP_PROFILES: Record<string, IpProfile> = {
  '185.220.101.32': {
    country: 'DE',
    countryName: 'Germany',
    continent: 'EU',
    asOwner: 'Stiftung Erneuerbare Freiheit',
    asn: 60729,
    network: '185.220.101.0/24',
    rir: 'RIPE NCC',
    vtMalicious: 12,
    vtSuspicious: 3,
    tags: ['tor'],
    abuseScore: 100,
    reports365: 5120,
    distinctUsers: 640,
    isTor: true,
    usageType: 'Data Center/Web Hosting/Transit',
    isp: 'Stiftung Erneuerbare Freiheit',
    domain: null,
    hostnames: ['tor-exit-32.relay.example.net'],
    categories: [[18, 22], [15, 21], [14], [18, 15]],
    comments: TOR_COMMENTS,
  },
  '185.220.101.34': {
    country: 'DE',
    countryName: 'Germany',
    continent: 'EU',
    asOwner: 'Stiftung Erneuerbare Freiheit',
    asn: 60729,
    network: '185.220.101.0/24',
    rir: 'RIPE NCC',
    vtMalicious: 14,
    vtSuspicious: 2,
    tags: ['tor'],
    abuseScore: 100,
    reports365: 4821,
    distinctUsers: 612,
    isTor: true,
    usageType: 'Data Center/Web Hosting/Transit',
    isp: 'Stiftung Erneuerbare Freiheit',
    domain: null,
    hostnames: ['tor-exit-34.relay.example.net'],
    categories: [[18, 22], [15, 21], [14], [18, 15]],
    comments: TOR_COMMENTS,
  },
  '45.33.32.156': {
    country: 'US',
    countryName: 'United States of America',
    continent: 'NA',
    asOwner: 'Akamai Connected Cloud',
    asn: 63949,
    network: '45.33.0.0/17',
    rir: 'ARIN',
    vtMalicious: 6,
    vtSuspicious: 1,
    tags: [],
    abuseScore: 89,
    reports365: 1290,
    distinctUsers: 214,
    isTor: false,
    usageType: 'Data Center/Web Hosting/Transit',
    isp: 'Akamai Technologies Inc.',
    domain: 'linode.com',
    hostnames: ['li982-156.members.linode.com'],
    categories: [[14], [15, 20], [4]],
    comments: [
      'Large outbound TLS transfer from file server to this host (possible exfiltration).',
      'Port scan detected on perimeter firewall.',
      'Repeated connection attempts to TCP/443 with anomalous JA3.',
    ],
  },
  '91.234.56.78': {
    country: 'RU',
    countryName: 'Russian Federation',
    continent: 'EU',
    asOwner: 'Baltic Servers Hosting LLC',
    asn: 57523,
    network: '91.234.56.0/22',
    rir: 'RIPE NCC',
    vtMalicious: 9,
    vtSuspicious: 2,
    tags: [],
    abuseScore: 94,
    reports365: 311,
    distinctUsers: 87,
    isTor: false,
    usageType: 'Data Center/Web Hosting/Transit',
    isp: 'Baltic Servers Hosting LLC',
    domain: null,
    hostnames: [],
    categories: [[18], [15, 18], [21]],
    comments: [
      'Impossible-travel sign-in to M365 tenant from this address.',
      'Password spray against Azure AD (ADFS endpoint).',
      'Suspicious login to admin portal, account locked.',
    ],
  },
  '198.51.100.99': {
    country: 'NL',
    countryName: 'Netherlands',
    continent: 'EU',
    asOwner: 'Suspicious Hosting LLC',
    asn: 64500,
    network: '198.51.100.0/24',
    rir: 'RIPE NCC',
    vtMalicious: 17,
    vtSuspicious: 3,
    tags: [],
    abuseScore: 100,
    reports365: 2034,
    distinctUsers: 298,
    isTor: false,
    usageType: 'Data Center/Web Hosting/Transit',
    isp: 'Suspicious Hosting LLC',
    domain: 'suspicious-hosting.example',
    hostnames: ['c2-relay.darkops.net'],
    categories: [[20, 15], [21], [19]],
    comments: [
      'Cobalt Strike team server (HTTPS beacon, default malleable profile).',
      'PowerShell stager download observed from this host.',
      'C2 callbacks every 60s with jitter from compromised DC.',
    ],
  },
  '198.51.100.42': {
    country: 'NL',
    countryName: 'Netherlands',
    continent: 'EU',
    asOwner: 'Suspicious Hosting LLC',
    asn: 64500,
    network: '198.51.100.0/24',
    rir: 'RIPE NCC',
    vtMalicious: 0,
    vtSuspicious: 2,
    tags: [],
    abuseScore: 41,
    reports365: 23,
    distinctUsers: 9,
    isTor: false,
    usageType: 'Data Center/Web Hosting/Transit',
    isp: 'Suspicious Hosting LLC',
    domain: 'suspicious-hosting.example',
    hostnames: [],
    categories: [[14], [19]],
    comments: ['Port scan.', 'Aggressive crawler ignoring robots.txt.'],
  },
  '203.0.113.77': {
    country: 'US',
    countryName: 'United States of America',
    continent: 'NA',
    asOwner: 'Example Residential Broadband',
    asn: 64501,
    network: '203.0.113.0/24',
    rir: 'ARIN',
    vtMalicious: 0,
    vtSuspicious: 1,
    tags: [],
    abuseScore: 28,
    reports365: 6,
    distinctUsers: 4,
    isTor: false,
    usageType: 'Fixed Line ISP',
    isp: 'Example Residential Broadband',
    domain: 'example-broadband.example',
    hostnames: ['cpe-203-0-113-77.example-broadband.example'],
    categories: [[18]],
    comments: ['A few failed SSH logins.'],
  },
};

export interface DomainProfile {
  vtMalicious: number;
  vtSuspicious: number;
  aRecord: string;
  createdDaysAgo: number;
  registrar: string;
  categories: Record<string, string>;
  tags: string[];
}

export const DOMAIN_PROFILES: Record<string, DomainProfile> = {
  'evil.example.com': {
    vtMalicious: 11,
    vtSuspicious: 2,
    aRecord: '185.220.101.32',
    createdDaysAgo: 11_000,
    registrar: 'RESERVED-Internet Assigned Numbers Authority',
    categories: {
      'Forcepoint ThreatSeeker': 'malicious web sites',
      Sophos: 'malware repository',
      BitDefender: 'malware',
      'alphaMountain.ai': 'Malicious (alphaMountain.ai)',
    },
    tags: [],
  },
  'c2-server.evil.com': {
    vtMalicious: 15,
    vtSuspicious: 1,
    aRecord: '91.234.56.78',
    createdDaysAgo: 38,
    registrar: 'NameCheap, Inc.',
    categories: {
      'Forcepoint ThreatSeeker': 'bot networks',
      Sophos: 'command and control',
      BitDefender: 'malware',
      'Xcitium Verdict Cloud': 'mobile communications',
    },
    tags: [],
  },
  'c2-relay.darkops.net': {
    vtMalicious: 18,
    vtSuspicious: 2,
    aRecord: '198.51.100.99',
    createdDaysAgo: 12,
    registrar: 'Porkbun LLC',
    categories: {
      'Forcepoint ThreatSeeker': 'bot networks',
      Sophos: 'command and control',
      BitDefender: 'malware',
      'alphaMountain.ai': 'Malicious (alphaMountain.ai)',
    },
    tags: ['dga'],
  },
  'suspicious-cloud-sync.com': {
    vtMalicious: 7,
    vtSuspicious: 3,
    aRecord: '45.33.32.156',
    createdDaysAgo: 45,
    registrar: 'NameSilo, LLC',
    categories: {
      'Forcepoint ThreatSeeker': 'newly registered websites',
      Sophos: 'file downloads',
      BitDefender: 'file sharing',
    },
    tags: [],
  },
  'login-microsoftonline-verify.com': {
    vtMalicious: 0,
    vtSuspicious: 3,
    aRecord: '198.51.100.42',
    createdDaysAgo: 6,
    registrar: 'NameCheap, Inc.',
    categories: { 'Forcepoint ThreatSeeker': 'newly registered websites', Sophos: 'phishing and fraud' },
    tags: [],
  },
  'cdn-update-check.net': {
    vtMalicious: 0,
    vtSuspicious: 2,
    aRecord: '203.0.113.77',
    createdDaysAgo: 90,
    registrar: 'Tucows Domains Inc.',
    categories: { 'Forcepoint ThreatSeeker': 'uncategorized', Sophos: 'information technology' },
    tags: [],
  },
};

export interface FileProfile {
  sha256: string;
  md5: string;
  sha1: string;
  name: string;
  otherNames: string[];
  size: number;
  format: 'peexe' | 'powershell';
  family: string;
  /** Threat class used in engine labels, e.g. "Trojan", "Downloader", "Backdoor". */
  threat: string;
  category: string;
  vtMalicious: number;
  vtSuspicious: number;
  tags: string[];
}

export const FILE_PROFILES: FileProfile[] = [
  {
    sha256: 'a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2',
    md5: '1fcd6b2fbeabaa7befbb0f9653f1bcd8',
    sha1: '6cc9df34d6c28e3d4c2a47d8fd940aa6d25ec066',
    name: 'svchost_update.exe',
    otherNames: ['svchost_update.exe', 'invoice_03012026.exe', 'Scan_0301.exe', 'tmp8A3F.tmp'],
    size: 245_760,
    format: 'peexe',
    family: 'Emotet',
    threat: 'Banker',
    category: 'trojan',
    vtMalicious: 47,
    vtSuspicious: 0,
    tags: ['peexe', 'spreader', 'checks-user-input', 'detect-debug-environment', 'long-sleeps', 'persistence'],
  },
  {
    sha256: 'de96a6e69944335375dc1ac238336066889d9ffc7d73628ef4fe1b1b160ab32c',
    md5: '6a274df6e8831f09910fa511244393b7',
    sha1: '53bf22d0f84bd30c6558cdbb66081024c16b3a97',
    name: 'stager.ps1',
    otherNames: ['stager.ps1', 'update.ps1', 'a.ps1'],
    size: 4_129,
    format: 'powershell',
    family: 'Powdow',
    threat: 'Downloader',
    category: 'downloader',
    vtMalicious: 31,
    vtSuspicious: 2,
    tags: ['powershell', 'obfuscated', 'downloads-file', 'executes-dropped-file'],
  },
  {
    sha256: 'a1b2c3d4e5f6789012345678901234567890abcdef1234567890abcdef123456',
    md5: '51e28c0f8da2acbb3dbf2525bf9ae23f',
    sha1: '2623383ca85f37256c2e1d1070a652aa682d5e92',
    name: 'beacon_x64.exe',
    otherNames: ['beacon_x64.exe', 'stage2.bin', 'artifact.exe'],
    size: 307_200,
    format: 'peexe',
    family: 'CobaltStrike',
    threat: 'Backdoor',
    category: 'trojan',
    vtMalicious: 54,
    vtSuspicious: 1,
    tags: ['peexe', '64bits', 'cobalt-strike', 'direct-cpu-clock-access', 'runtime-modules'],
  },
  {
    sha256: '38c06033ab3771065cf4b2cb7ffba51da73f1273882a25a3f23f5143509493c1',
    md5: '86fc6b55a78c658c35ce0fd9424b6876',
    sha1: '313e4a649be5a536c17a6f91cfcce087fb081f57',
    name: 'netscan_tool.exe',
    otherNames: ['netscan_tool.exe', 'netscan.exe'],
    size: 1_843_200,
    format: 'peexe',
    family: 'NetScan',
    threat: 'HackTool',
    category: 'hacktool',
    vtMalicious: 0,
    vtSuspicious: 3,
    tags: ['peexe', 'signed', 'overlay'],
  },
];

export function fileProfileFor(hash: string): FileProfile | undefined {
  const h = hash.toLowerCase();
  return FILE_PROFILES.find((p) => p.sha256 === h || p.md5 === h || p.sha1 === h);
}

export const URL_PROFILES: Record<
  string,
  { vtMalicious: number; vtSuspicious: number; title: string; status: number }
> = {
  'https://evil.example.com/payload/stage2.ps1': {
    vtMalicious: 9,
    vtSuspicious: 1,
    title: '',
    status: 200,
  },
  'https://c2-relay.darkops.net/stager.ps1': { vtMalicious: 12, vtSuspicious: 2, title: '', status: 200 },
  'https://suspicious-cloud-sync.com/api/v2/upload': {
    vtMalicious: 0,
    vtSuspicious: 3,
    title: 'CloudSync API',
    status: 405,
  },
  'http://cdn-update-check.net/update.exe': { vtMalicious: 0, vtSuspicious: 1, title: '', status: 200 },
};
