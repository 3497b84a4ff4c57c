/**
 * Network facts for an IP, shared by the VirusTotal and AbuseIPDB mocks so that both describe the
 * same address the same way. Listed IPs use their profile; everything else is generated.
 */

import { isPrivateIp } from '@calseta/plugin-sdk';
import { IP_PROFILES } from './data.js';
import { ipVersion, Rng } from './util.js';

export interface IpInfo {
  ip: string;
  version: 4 | 6;
  isPrivate: boolean;
  country: string | null;
  countryName: string | null;
  continent: string | null;
  asOwner: string | null;
  asn: number | null;
  network: string | null;
  rir: string | null;
  isp: string;
  usageType: string;
  domain: string | null;
  hostnames: string[];
  orgName: string | null;
  city: string | null;
}

interface AsRow {
  owner: string;
  asn: number;
  isp: string;
  domain: string;
  usage: string;
  country: string;
  countryName: string;
  continent: string;
  rir: string;
  city: string;
}

const AS_TABLE: AsRow[] = [
  {
    owner: 'GOOGLE',
    asn: 15169,
    isp: 'Google LLC',
    domain: 'google.com',
    usage: 'Data Center/Web Hosting/Transit',
    country: 'US',
    countryName: 'United States of America',
    continent: 'NA',
    rir: 'ARIN',
    city: 'Mountain View',
  },
  {
    owner: 'AMAZON-02',
    asn: 16509,
    isp: 'Amazon.com, Inc.',
    domain: 'amazon.com',
    usage: 'Data Center/Web Hosting/Transit',
    country: 'US',
    countryName: 'United States of America',
    continent: 'NA',
    rir: 'ARIN',
    city: 'Seattle',
  },
  {
    owner: 'MICROSOFT-CORP-MSN-AS-BLOCK',
    asn: 8075,
    isp: 'Microsoft Corporation',
    domain: 'microsoft.com',
    usage: 'Data Center/Web Hosting/Transit',
    country: 'US',
    countryName: 'United States of America',
    continent: 'NA',
    rir: 'ARIN',
    city: 'Redmond',
  },
  {
    owner: 'CLOUDFLARENET',
    asn: 13335,
    isp: 'Cloudflare, Inc.',
    domain: 'cloudflare.com',
    usage: 'Content Delivery Network',
    country: 'US',
    countryName: 'United States of America',
    continent: 'NA',
    rir: 'ARIN',
    city: 'San Francisco',
  },
  {
    owner: 'COMCAST-7922',
    asn: 7922,
    isp: 'Comcast Cable Communications, LLC',
    domain: 'comcast.net',
    usage: 'Fixed Line ISP',
    country: 'US',
    countryName: 'United States of America',
    continent: 'NA',
    rir: 'ARIN',
    city: 'Philadelphia',
  },
  {
    owner: 'OVH SAS',
    asn: 16276,
    isp: 'OVH SAS',
    domain: 'ovhcloud.com',
    usage: 'Data Center/Web Hosting/Transit',
    country: 'FR',
    countryName: 'France',
    continent: 'EU',
    rir: 'RIPE NCC',
    city: 'Roubaix',
  },
  {
    owner: 'Hetzner Online GmbH',
    asn: 24940,
    isp: 'Hetzner Online GmbH',
    domain: 'hetzner.com',
    usage: 'Data Center/Web Hosting/Transit',
    country: 'DE',
    countryName: 'Germany',
    continent: 'EU',
    rir: 'RIPE NCC',
    city: 'Falkenstein',
  },
  {
    owner: 'Deutsche Telekom AG',
    asn: 3320,
    isp: 'Deutsche Telekom AG',
    domain: 'telekom.de',
    usage: 'Fixed Line ISP',
    country: 'DE',
    countryName: 'Germany',
    continent: 'EU',
    rir: 'RIPE NCC',
    city: 'Bonn',
  },
  {
    owner: 'DIGITALOCEAN-ASN',
    asn: 14061,
    isp: 'DigitalOcean LLC',
    domain: 'digitalocean.com',
    usage: 'Data Center/Web Hosting/Transit',
    country: 'US',
    countryName: 'United States of America',
    continent: 'NA',
    rir: 'ARIN',
    city: 'New York',
  },
  {
    owner: 'Orange S.A.',
    asn: 3215,
    isp: 'Orange S.A.',
    domain: 'orange.fr',
    usage: 'Fixed Line ISP',
    country: 'FR',
    countryName: 'France',
    continent: 'EU',
    rir: 'RIPE NCC',
    city: 'Paris',
  },
  {
    owner: 'NTT-COMMUNICATIONS-2914',
    asn: 2914,
    isp: 'NTT America, Inc.',
    domain: 'ntt.net',
    usage: 'Data Center/Web Hosting/Transit',
    country: 'JP',
    countryName: 'Japan',
    continent: 'AS',
    rir: 'APNIC',
    city: 'Tokyo',
  },
  {
    owner: 'Telstra Corporation Ltd',
    asn: 1221,
    isp: 'Telstra Limited',
    domain: 'telstra.com.au',
    usage: 'Mobile ISP',
    country: 'AU',
    countryName: 'Australia',
    continent: 'OC',
    rir: 'APNIC',
    city: 'Melbourne',
  },
  {
    owner: 'TELEFONICA BRASIL S.A',
    asn: 26599,
    isp: 'Telefonica Brasil S.A',
    domain: 'telefonica.com.br',
    usage: 'Fixed Line ISP',
    country: 'BR',
    countryName: 'Brazil',
    continent: 'SA',
    rir: 'LACNIC',
    city: 'Sao Paulo',
  },
  {
    owner: 'BT-UK-AS',
    asn: 2856,
    isp: 'British Telecommunications PLC',
    domain: 'bt.com',
    usage: 'Fixed Line ISP',
    country: 'GB',
    countryName: 'United Kingdom of Great Britain and Northern Ireland',
    continent: 'EU',
    rir: 'RIPE NCC',
    city: 'London',
  },
];

export function ipInfo(ip: string): IpInfo {
  const version = ipVersion(ip) === 6 ? 6 : 4;
  if (isPrivateIp(ip)) {
    return {
      ip,
      version,
      isPrivate: true,
      country: null,
      countryName: null,
      continent: null,
      asOwner: null,
      asn: null,
      network: null,
      rir: null,
      isp: 'Private IP Address LAN',
      usageType: 'Reserved',
      domain: null,
      hostnames: [],
      orgName: null,
      city: null,
    };
  }
  const profile = IP_PROFILES[ip];
  if (profile) {
    return {
      ip,
      version,
      isPrivate: false,
      country: profile.country,
      countryName: profile.countryName,
      continent: profile.continent,
      asOwner: profile.asOwner,
      asn: profile.asn,
      network: profile.network,
      rir: profile.rir,
      isp: profile.isp,
      usageType: profile.usageType,
      domain: profile.domain,
      hostnames: profile.hostnames,
      orgName: profile.asOwner,
      city: null,
    };
  }
  const r = new Rng('ipinfo', ip);
  const row = r.pick(AS_TABLE);
  let network: string;
  if (version === 4) {
    const [a, b, c] = ip.split('.');
    network = r.chance(0.5) ? `${a}.${b}.0.0/16` : `${a}.${b}.${c}.0/24`;
  } else {
    const groups = expandV6(ip).slice(0, 3);
    network = `${groups.map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/48`;
  }
  const hostname =
    row.usage === 'Fixed Line ISP' && version === 4
      ? [`${ip.replaceAll('.', '-')}.dyn.${row.domain}`]
      : r.chance(0.3) && version === 4
        ? [`host-${ip.replaceAll('.', '-')}.${row.domain}`]
        : [];
  return {
    ip,
    version,
    isPrivate: false,
    country: row.country,
    countryName: row.countryName,
    continent: row.continent,
    asOwner: row.owner,
    asn: row.asn,
    network,
    rir: row.rir,
    isp: row.isp,
    usageType: row.usage,
    domain: row.domain,
    hostnames: hostname,
    orgName: row.isp,
    city: row.city,
  };
}

export function expandV6(ip: string): string[] {
  const [head = '', tail = ''] = ip.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = ip.includes('::') && tail ? tail.split(':') : [];
  const fill = ip.includes('::') ? new Array(Math.max(0, 8 - h.length - t.length)).fill('0') : [];
  return [...h, ...fill, ...t].map((g) => g.padStart(4, '0'));
}

/** First and last address of an IPv4 CIDR, for whois text. */
export function v4Range(cidr: string): [string, string] {
  const [addr = '0.0.0.0', bitsText = '32'] = cidr.split('/');
  const bits = Number(bitsText);
  const n = addr.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - bits);
  const start = Math.floor(n / size) * size;
  const end = start + size - 1;
  const fmt = (x: number) => [24, 16, 8, 0].map((s) => Math.floor(x / 2 ** s) % 256).join('.');
  return [fmt(start), fmt(end)];
}
