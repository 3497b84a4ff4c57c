/**
 * AbuseIPDB API v2 mock: `GET /api/v2/check?ipAddress=&maxAgeInDays=&verbose` with header `Key`.
 */
import { IP_PROFILES, mockVerdict } from './data.js';
import { ipInfo } from './ipinfo.js';
import {
  credentialOk,
  type HandlerContext,
  header,
  type MockRequest,
  type MockResponse,
  type ProviderModule,
  type RouteMatch,
} from './types.js';
import { abuseTime, ipVersion, MOCK_NOW_S, Rng } from './util.js';

/** Daily quota advertised in X-RateLimit-* headers (the free tier's check limit). */
export const ABUSEIPDB_DAILY_LIMIT = 1000;

function errors(status: number, detail: string, parameter?: string): MockResponse {
  return {
    status,
    body: { errors: [{ detail, status, ...(parameter ? { source: { parameter } } : {}) }] },
  };
}

function nextMidnightUtc(): number {
  const d = new Date();
  return Math.floor(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) / 1000);
}

const COUNTRIES: [string, string][] = [
  ['US', 'United States of America'],
  ['DE', 'Germany'],
  ['GB', 'United Kingdom of Great Britain and Northern Ireland'],
  ['FR', 'France'],
  ['NL', 'Netherlands'],
  ['CA', 'Canada'],
  ['SG', 'Singapore'],
  ['JP', 'Japan'],
  ['BR', 'Brazil'],
  ['IN', 'India'],
];

const BENIGN_COMMENTS = ['Unsolicited connection attempt.', 'Port probe.', 'Single failed login.'];

function check(ip: string, maxAge: number, verbose: boolean): Record<string, unknown> {
  const r = new Rng('abuseipdb', ip);
  const info = ipInfo(ip);
  const verdict = mockVerdict('ip', ip);
  const profile = IP_PROFILES[ip];

  let score = 0;
  let reports365 = 0;
  let distinct = 0;
  let categories: number[][] = [[14]];
  let comments = BENIGN_COMMENTS;
  let isTor = false;
  if (profile) {
    score = profile.abuseScore;
    reports365 = profile.reports365;
    distinct = profile.distinctUsers;
    categories = profile.categories;
    comments = profile.comments;
    isTor = profile.isTor;
  } else if (verdict === 'malicious') {
    score = r.int(75, 100);
    reports365 = r.int(80, 900);
    distinct = Math.ceil(reports365 / r.int(3, 8));
  } else if (verdict === 'suspicious') {
    score = r.int(25, 74);
    reports365 = r.int(5, 40);
    distinct = Math.ceil(reports365 / 2);
  } else if (verdict === 'benign' && !info.isPrivate && r.chance(0.2)) {
    score = r.int(0, 12);
    reports365 = r.int(1, 4);
    distinct = reports365;
  }

  // Reports spread over the past year, newest first; the window keeps those within maxAgeInDays.
  const total = reports365 === 0 ? 0 : Math.max(1, Math.round((reports365 * Math.min(maxAge, 365)) / 365));
  const spacing = reports365 > 0 ? Math.floor((365 * 86_400) / reports365) : 0;
  const newest = MOCK_NOW_S - r.int(60, Math.max(120, Math.min(spacing, 6 * 3600)));
  const listed = Math.min(total, 50);
  const reports = [];
  for (let i = 0; i < listed; i++) {
    const [cc, cn] = r.pick(COUNTRIES);
    reports.push({
      reportedAt: abuseTime(i === 0 ? newest : newest - i * spacing - r.int(0, Math.max(1, Math.floor(spacing / 2)))),
      comment: r.pick(comments),
      categories: r.pick(categories),
      reporterId: r.int(1000, 180_000),
      reporterCountryCode: cc,
      reporterCountryName: cn,
    });
  }
  const data: Record<string, unknown> = {
    ipAddress: ip,
    isPublic: !info.isPrivate,
    ipVersion: info.version,
    isWhitelisted: info.isPrivate ? null : verdict === 'benign' && info.usageType === 'Content Delivery Network',
    abuseConfidenceScore: score,
    countryCode: info.country,
    ...(verbose ? { countryName: info.countryName } : {}),
    usageType: info.usageType,
    isp: info.isp,
    domain: info.domain,
    hostnames: info.hostnames,
    isTor,
    totalReports: total,
    numDistinctUsers: total === 0 ? 0 : Math.max(1, Math.min(total, Math.round((distinct * total) / reports365))),
    lastReportedAt: total === 0 ? null : abuseTime(newest),
    ...(verbose ? { reports } : {}),
  };
  return { data };
}

function handleCheck(req: MockRequest, ctx: HandlerContext): MockResponse {
  const key = header(req, 'key');
  if (!credentialOk(key, ctx.apiKeys.abuseipdb)) {
    return errors(
      401,
      'Authentication failed. Your API key is either missing, incorrect, or revoked. Note: The APIv2 key differs from the APIv1 key.',
    );
  }
  const ip = (req.query.get('ipAddress') ?? '').trim();
  if (!ip) return errors(422, 'The ip address field is required.', 'ipAddress');
  if (ipVersion(ip) === 0) {
    return errors(
      422,
      'The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).',
      'ipAddress',
    );
  }
  const maxAgeText = req.query.get('maxAgeInDays');
  const maxAge = maxAgeText === null || maxAgeText === '' ? 30 : Number(maxAgeText);
  if (!Number.isInteger(maxAge) || maxAge < 1 || maxAge > 365) {
    return errors(422, 'The max age in days must be between 1 and 365.', 'maxAgeInDays');
  }
  const verbose = req.query.has('verbose') && !['false', '0'].includes(req.query.get('verbose') ?? '');
  const body = ctx.memo(`abuseipdb:${ip}:${maxAge}:${verbose}`, () => check(ip, maxAge, verbose));
  return {
    status: 200,
    body,
    headers: {
      'X-RateLimit-Limit': String(ABUSEIPDB_DAILY_LIMIT),
      'X-RateLimit-Remaining': String(Math.max(0, ABUSEIPDB_DAILY_LIMIT - ctx.providerCount)),
    },
  };
}

export const abuseipdb: ProviderModule = {
  name: 'abuseipdb',
  prefixes: ['/abuseipdb'],
  match(method, path, query): RouteMatch | null {
    if (method !== 'GET' || !/^\/api\/v2\/check\/?$/.test(path)) return null;
    return {
      endpoint: 'GET /api/v2/check',
      value: query.get('ipAddress') ?? undefined,
      handle: handleCheck,
    };
  },
  rateLimited(_match, retryAfter) {
    const res = errors(
      429,
      `Daily rate limit of ${ABUSEIPDB_DAILY_LIMIT} requests exceeded for this endpoint. See headers for additional details.`,
    );
    res.headers = {
      'Retry-After': String(retryAfter),
      'X-RateLimit-Limit': String(ABUSEIPDB_DAILY_LIMIT),
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': String(nextMidnightUtc()),
    };
    return res;
  },
  serverError() {
    return errors(500, 'Internal Server Error');
  },
  notFoundPath() {
    return errors(404, 'The requested resource could not be found.');
  },
};
