/**
 * The directory shared by the Okta and Microsoft Graph mocks: the accounts from the fixture
 * alerts plus their managers, and synthetic `user<digits>@<domain>` accounts for benchmarks.
 */
import { Rng } from './util.js';

export type OktaStatus =
  | 'ACTIVE'
  | 'STAGED'
  | 'PROVISIONED'
  | 'RECOVERY'
  | 'PASSWORD_EXPIRED'
  | 'LOCKED_OUT'
  | 'SUSPENDED'
  | 'DEPROVISIONED';

export interface MockUser {
  /** Okta `profile.login` and Entra `userPrincipalName`. */
  login: string;
  firstName: string;
  lastName: string;
  displayName: string;
  email: string;
  title: string;
  department: string;
  company: string;
  employeeNumber: string | null;
  city: string;
  state: string;
  countryCode: string;
  officeLocation: string | null;
  mobilePhone: string | null;
  businessPhone: string | null;
  /** Okta `profile.userType` / Entra `employeeType`. */
  userType: 'Employee' | 'Contractor' | 'Service';
  managerLogin: string | null;
  oktaId: string;
  entraId: string;
  oktaStatus: OktaStatus;
  accountEnabled: boolean;
  /** ISO timestamps. */
  created: string;
  lastLogin: string | null;
  passwordChanged: string | null;
  credentialProvider: { type: 'OKTA' | 'ACTIVE_DIRECTORY'; name: string };
  onPremisesSamAccountName: string | null;
  oktaGroups: string[];
  entraGroups: string[];
  /** Entra directory roles (memberOf returns them as microsoft.graph.directoryRole). */
  entraRoles: string[];
  factors: ('push' | 'sms' | 'token:software:totp' | 'webauthn')[];
  risk: { level: 'low' | 'medium' | 'high'; state: 'atRisk' | 'confirmedCompromised' } | null;
  /** Free-text notes for humans (README). */
  notes: string;
}

type Seed = Omit<MockUser, 'oktaId' | 'entraId'> & { entraId?: string };

function oktaIdFor(login: string, prefix = '00u'): string {
  return prefix + new Rng('okta-id', prefix, login.toLowerCase()).alnum(17);
}

function entraIdFor(login: string): string {
  return new Rng('entra-id', login.toLowerCase()).uuid();
}

const SEEDS: Seed[] = [
  {
    login: 'j.martinez@contoso.com',
    firstName: 'Julia',
    lastName: 'Martinez',
    displayName: 'Julia Martinez',
    email: 'j.martinez@contoso.com',
    title: 'Senior Financial Analyst',
    department: 'Finance',
    company: 'Contoso Ltd.',
    employeeNumber: '10482',
    city: 'Chicago',
    state: 'IL',
    countryCode: 'US',
    officeLocation: 'CHI-12',
    mobilePhone: '+1 312-555-0147',
    businessPhone: '+1 312-555-0100',
    userType: 'Employee',
    managerLogin: 'd.whitfield@contoso.com',
    entraId: 'e8d4c6b2-a1f3-4e7d-9c5b-d0123456789a',
    oktaStatus: 'ACTIVE',
    accountEnabled: true,
    created: '2021-06-14T16:02:11.000Z',
    lastLogin: '2026-03-01T14:38:47.000Z',
    passwordChanged: '2025-11-03T09:12:40.000Z',
    credentialProvider: { type: 'OKTA', name: 'OKTA' },
    onPremisesSamAccountName: null,
    oktaGroups: ['Finance', 'Contoso-AllStaff', 'VPN-Users'],
    entraGroups: ['Finance Team', 'All Staff', 'SAP-Finance-Users'],
    entraRoles: [],
    factors: ['push', 'sms'],
    risk: { level: 'medium', state: 'atRisk' },
    notes: 'Target of the Tor brute force (fixture 01); last login right after the attack.',
  },
  {
    login: 'r.chen@contoso.com',
    firstName: 'Robert',
    lastName: 'Chen',
    displayName: 'Robert Chen',
    email: 'r.chen@contoso.com',
    title: 'Director of IT Infrastructure',
    department: 'IT',
    company: 'Contoso Ltd.',
    employeeNumber: '10017',
    city: 'New York',
    state: 'NY',
    countryCode: 'US',
    officeLocation: 'NYC-HQ-21',
    mobilePhone: '+1 212-555-0133',
    businessPhone: '+1 212-555-0100',
    userType: 'Employee',
    managerLogin: 's.okafor@contoso.com',
    entraId: 'f9e8d7c6-b5a4-3210-9876-543210fedcba',
    oktaStatus: 'ACTIVE',
    accountEnabled: true,
    created: '2019-02-04T14:20:00.000Z',
    lastLogin: '2026-03-01T09:47:33.000Z',
    passwordChanged: '2025-09-21T18:03:12.000Z',
    credentialProvider: { type: 'OKTA', name: 'OKTA' },
    onPremisesSamAccountName: null,
    oktaGroups: ['IT-Admins', 'Okta-Super-Admins', 'Contoso-AllStaff', 'VPN-Users'],
    entraGroups: ['IT Operations', 'All Staff', 'Privileged Access Admins'],
    entraRoles: ['Global Administrator'],
    factors: ['push', 'webauthn'],
    risk: { level: 'high', state: 'atRisk' },
    notes: 'Global Administrator; impossible travel New York → Moscow (fixture 04).',
  },
  {
    login: 'jdoe@corp.com',
    firstName: 'John',
    lastName: 'Doe',
    displayName: 'John Doe',
    email: 'jdoe@corp.com',
    title: 'Software Engineer',
    department: 'Engineering',
    company: 'Corp Inc.',
    employeeNumber: '20311',
    city: 'Austin',
    state: 'TX',
    countryCode: 'US',
    officeLocation: 'AUS-3',
    mobilePhone: '+1 512-555-0190',
    businessPhone: null,
    userType: 'Employee',
    managerLogin: 'jane.smith@corp.com',
    oktaStatus: 'ACTIVE',
    accountEnabled: true,
    created: '2022-08-29T15:44:03.000Z',
    lastLogin: '2026-03-01T08:02:19.000Z',
    passwordChanged: '2026-01-12T10:30:00.000Z',
    credentialProvider: { type: 'OKTA', name: 'OKTA' },
    onPremisesSamAccountName: null,
    oktaGroups: ['Engineering', 'GitHub-Users'],
    entraGroups: ['Engineering', 'All Employees'],
    entraRoles: [],
    factors: ['push', 'token:software:totp'],
    risk: null,
    notes: 'User in the generic Elastic / Sentinel fixtures.',
  },
  {
    login: 'admin@acmeinc.com',
    firstName: 'Acme',
    lastName: 'Administrator',
    displayName: 'Acme Administrator',
    email: 'admin@acmeinc.com',
    title: 'Local IT Administrator',
    department: 'IT',
    company: 'Acme Inc.',
    employeeNumber: null,
    city: 'Denver',
    state: 'CO',
    countryCode: 'US',
    officeLocation: null,
    mobilePhone: null,
    businessPhone: '+1 303-555-0110',
    userType: 'Employee',
    managerLogin: null,
    oktaStatus: 'ACTIVE',
    accountEnabled: true,
    created: '2020-01-08T12:00:00.000Z',
    lastLogin: '2026-03-01T16:40:02.000Z',
    passwordChanged: '2024-04-02T08:15:00.000Z',
    credentialProvider: { type: 'OKTA', name: 'OKTA' },
    onPremisesSamAccountName: null,
    oktaGroups: ['Workstation-Admins', 'Helpdesk'],
    entraGroups: ['Workstation Admins', 'Helpdesk'],
    entraRoles: ['Helpdesk Administrator'],
    factors: ['sms'],
    risk: null,
    notes: 'Shared admin account that ran the Emotet sample (fixture 02).',
  },
  {
    login: 'svc_backup@megacorp.com',
    firstName: 'Backup',
    lastName: 'Service',
    displayName: 'svc_backup',
    email: 'svc_backup@megacorp.com',
    title: 'Service Account',
    department: 'Infrastructure',
    company: 'MegaCorp',
    employeeNumber: null,
    city: 'Seattle',
    state: 'WA',
    countryCode: 'US',
    officeLocation: null,
    mobilePhone: null,
    businessPhone: null,
    userType: 'Service',
    managerLogin: null,
    oktaStatus: 'ACTIVE',
    accountEnabled: true,
    created: '2018-05-22T07:31:44.000Z',
    lastLogin: '2026-03-01T18:00:00.000Z',
    passwordChanged: '2022-01-18T11:05:09.000Z',
    credentialProvider: { type: 'ACTIVE_DIRECTORY', name: 'megacorp.local' },
    onPremisesSamAccountName: 'svc_backup',
    oktaGroups: ['Service-Accounts', 'Backup-Operators'],
    entraGroups: ['Service Accounts', 'Backup Operators'],
    entraRoles: [],
    factors: [],
    risk: null,
    notes: 'Service account behind the exfiltration alert (fixture 03); Okta finds it by short name "svc_backup".',
  },
  {
    login: 'd.whitfield@contoso.com',
    firstName: 'Dana',
    lastName: 'Whitfield',
    displayName: 'Dana Whitfield',
    email: 'd.whitfield@contoso.com',
    title: 'VP Finance',
    department: 'Finance',
    company: 'Contoso Ltd.',
    employeeNumber: '10009',
    city: 'Chicago',
    state: 'IL',
    countryCode: 'US',
    officeLocation: 'CHI-14',
    mobilePhone: '+1 312-555-0102',
    businessPhone: '+1 312-555-0100',
    userType: 'Employee',
    managerLogin: null,
    oktaStatus: 'ACTIVE',
    accountEnabled: true,
    created: '2018-11-05T09:00:00.000Z',
    lastLogin: '2026-02-28T21:14:52.000Z',
    passwordChanged: '2025-12-01T08:00:00.000Z',
    credentialProvider: { type: 'OKTA', name: 'OKTA' },
    onPremisesSamAccountName: null,
    oktaGroups: ['Finance', 'Contoso-AllStaff', 'Executives'],
    entraGroups: ['Finance Team', 'All Staff', 'Executives'],
    entraRoles: [],
    factors: ['push'],
    risk: null,
    notes: "j.martinez's manager.",
  },
  {
    login: 's.okafor@contoso.com',
    firstName: 'Samuel',
    lastName: 'Okafor',
    displayName: 'Samuel Okafor',
    email: 's.okafor@contoso.com',
    title: 'Chief Information Officer',
    department: 'IT',
    company: 'Contoso Ltd.',
    employeeNumber: '10002',
    city: 'New York',
    state: 'NY',
    countryCode: 'US',
    officeLocation: 'NYC-HQ-30',
    mobilePhone: '+1 212-555-0101',
    businessPhone: '+1 212-555-0100',
    userType: 'Employee',
    managerLogin: null,
    oktaStatus: 'ACTIVE',
    accountEnabled: true,
    created: '2017-03-13T13:00:00.000Z',
    lastLogin: '2026-03-01T12:30:08.000Z',
    passwordChanged: '2025-10-10T10:10:10.000Z',
    credentialProvider: { type: 'OKTA', name: 'OKTA' },
    onPremisesSamAccountName: null,
    oktaGroups: ['IT-Admins', 'Contoso-AllStaff', 'Executives'],
    entraGroups: ['IT Operations', 'All Staff', 'Executives'],
    entraRoles: [],
    factors: ['push', 'webauthn'],
    risk: null,
    notes: "r.chen's manager.",
  },
  {
    login: 'jane.smith@corp.com',
    firstName: 'Jane',
    lastName: 'Smith',
    displayName: 'Jane Smith',
    email: 'jane.smith@corp.com',
    title: 'Engineering Manager',
    department: 'Engineering',
    company: 'Corp Inc.',
    employeeNumber: '20044',
    city: 'Austin',
    state: 'TX',
    countryCode: 'US',
    officeLocation: 'AUS-3',
    mobilePhone: '+1 512-555-0171',
    businessPhone: null,
    userType: 'Employee',
    managerLogin: null,
    oktaStatus: 'ACTIVE',
    accountEnabled: true,
    created: '2020-07-20T15:00:00.000Z',
    lastLogin: '2026-03-01T15:55:41.000Z',
    passwordChanged: '2025-08-14T09:00:00.000Z',
    credentialProvider: { type: 'OKTA', name: 'OKTA' },
    onPremisesSamAccountName: null,
    oktaGroups: ['Engineering', 'GitHub-Users', 'Managers'],
    entraGroups: ['Engineering', 'All Employees', 'Managers'],
    entraRoles: [],
    factors: ['push'],
    risk: null,
    notes: "jdoe's manager.",
  },
  {
    login: 'former.employee@contoso.com',
    firstName: 'Alex',
    lastName: 'Turner',
    displayName: 'Alex Turner',
    email: 'former.employee@contoso.com',
    title: 'Sales Representative',
    department: 'Sales',
    company: 'Contoso Ltd.',
    employeeNumber: '10377',
    city: 'Chicago',
    state: 'IL',
    countryCode: 'US',
    officeLocation: null,
    mobilePhone: null,
    businessPhone: null,
    userType: 'Contractor',
    managerLogin: 'd.whitfield@contoso.com',
    oktaStatus: 'DEPROVISIONED',
    accountEnabled: false,
    created: '2023-02-01T09:00:00.000Z',
    lastLogin: '2025-12-19T17:45:00.000Z',
    passwordChanged: '2023-02-01T09:30:00.000Z',
    credentialProvider: { type: 'OKTA', name: 'OKTA' },
    onPremisesSamAccountName: null,
    oktaGroups: [],
    entraGroups: [],
    entraRoles: [],
    factors: [],
    risk: null,
    notes: 'Deprovisioned in Okta, disabled in Entra.',
  },
];

export const KNOWN_USERS: readonly MockUser[] = SEEDS.map((s) => ({
  ...s,
  oktaId: oktaIdFor(s.login),
  entraId: s.entraId ?? entraIdFor(s.login),
}));

/** Logins matching this pattern exist (generated deterministically) in both Okta and Entra. */
export const SYNTHETIC_USER_RE = /^user(\d{1,9})@([a-z0-9-]+(?:\.[a-z0-9-]+)+)$/i;

const FIRST = ['Alice', 'Ben', 'Chloe', 'David', 'Emma', 'Farid', 'Grace', 'Hiro', 'Ines', 'Jonas', 'Kara', 'Liam'];
const LAST = ['Novak', 'Patel', 'Garcia', 'Kim', 'Schmidt', 'Okoro', 'Rossi', 'Larsen', 'Silva', 'Nguyen'];
const DEPTS: [string, string][] = [
  ['Engineering', 'Software Engineer'],
  ['Sales', 'Account Executive'],
  ['Marketing', 'Marketing Specialist'],
  ['Finance', 'Accountant'],
  ['HR', 'HR Business Partner'],
  ['IT', 'Systems Administrator'],
  ['Legal', 'Counsel'],
  ['Operations', 'Operations Analyst'],
];

function syntheticUser(login: string): MockUser {
  const r = new Rng('synthetic-user', login.toLowerCase());
  const first = r.pick(FIRST);
  const last = r.pick(LAST);
  const [department, title] = r.pick(DEPTS);
  const domain = login.split('@')[1] ?? 'example.com';
  return {
    login,
    firstName: first,
    lastName: last,
    displayName: `${first} ${last}`,
    email: login,
    title,
    department,
    company: domain.split('.')[0] ?? domain,
    employeeNumber: r.digits(5),
    city: 'Remote',
    state: '',
    countryCode: 'US',
    officeLocation: null,
    mobilePhone: `+1 555-01${r.digits(2)}`,
    businessPhone: null,
    userType: 'Employee',
    managerLogin: null,
    oktaId: oktaIdFor(login),
    entraId: entraIdFor(login),
    oktaStatus: 'ACTIVE',
    accountEnabled: true,
    created: r.pastIso(200, 1500),
    lastLogin: r.pastIso(0, 10),
    passwordChanged: r.pastIso(10, 180),
    credentialProvider: { type: 'OKTA', name: 'OKTA' },
    onPremisesSamAccountName: null,
    oktaGroups: [department],
    entraGroups: [department, 'All Employees'],
    entraRoles: [],
    factors: ['push'],
    risk: null,
    notes: 'synthetic',
  };
}

/**
 * Users by id (Okta or Entra) and by login; synthetic users are added when first looked up by
 * login, so a later `/users/{id}/...` call resolves them (bounded to keep memory flat).
 */
export class Directory {
  private readonly byKey = new Map<string, MockUser>();
  private synthetic = 0;

  constructor() {
    for (const u of KNOWN_USERS) this.add(u);
  }

  private add(u: MockUser): void {
    this.byKey.set(u.login.toLowerCase(), u);
    this.byKey.set(u.oktaId.toLowerCase(), u);
    this.byKey.set(u.entraId.toLowerCase(), u);
  }

  /** Okta: id, login, or login short name (the part before `@`, when unambiguous). */
  findOkta(key: string): MockUser | undefined {
    return this.find(key, true);
  }

  /** Graph: object id or userPrincipalName. */
  findEntra(key: string): MockUser | undefined {
    return this.find(key, false);
  }

  findByLogin(login: string): MockUser | undefined {
    return this.byKey.get(login.toLowerCase());
  }

  private find(key: string, allowShortName: boolean): MockUser | undefined {
    const k = key.toLowerCase();
    if (k.includes('unknown')) return undefined;
    const hit = this.byKey.get(k);
    if (hit) return hit;
    if (SYNTHETIC_USER_RE.test(key)) {
      const u = syntheticUser(key);
      if (this.synthetic >= 100_000) {
        this.byKey.clear();
        this.synthetic = 0;
        for (const known of KNOWN_USERS) this.add(known);
      }
      this.synthetic++;
      this.add(u);
      return u;
    }
    if (allowShortName && !k.includes('@')) {
      const matches = KNOWN_USERS.filter((u) => u.login.toLowerCase().split('@')[0] === k);
      if (matches.length === 1) return matches[0];
    }
    return undefined;
  }
}

export function groupId(prefix: string, name: string): string {
  return oktaIdFor(`group:${name}`, prefix);
}

export function entraObjectId(kind: string, name: string): string {
  return new Rng('entra-object', kind, name).uuid();
}
