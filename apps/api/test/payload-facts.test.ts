/**
 * Issue 17: the agent payload carries what the providers answered, by field, for every case-study
 * alert. Expected values come from the mock providers' own answers (their real-API responses,
 * fetched here) and their directory (`KNOWN_USERS`), never from copies.
 */
import { readFileSync } from 'node:fs';
import { seedBuiltinProviders } from '@calseta/core';
import { builtinProviderSpecs } from '@calseta/integrations';
import { KNOWN_USERS, type MockUser, vtUrlId } from '@calseta/mock-providers';
import { AgentPayloadSchema } from '@calseta/schema';
import { demoDetectionRules, demoRunbooks } from '@calseta/seeds';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from './fixtures.js';
import { createHarness, type Harness } from './harness.js';

const KEY_FACTS = JSON.parse(
  readFileSync(new URL('../../../packages/integrations/fixtures/facts/key-facts.json', import.meta.url), 'utf8'),
) as Record<string, { source: string }>;
const CASES = Object.entries(KEY_FACTS).filter(([name]) => name.endsWith('.json'));

type Json = Record<string, unknown>;
type Indicator = { type: string; value: string; verdict: string; providers?: Record<string, Json> } & Json;

let h: Harness;

/** A payload value without its `<untrusted>` markers (lists and objects too). */
function bare(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(/^<untrusted>([\s\S]*)<\/untrusted>$/, '$1');
  if (Array.isArray(value)) return value.map(bare);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, bare(v)]));
  return value;
}

/** A provider's facts, following a `same_as` reference to where they are shown. */
function factsOf(payload: { indicators: Indicator[] }, indicator: Indicator, provider: string): Json | undefined {
  const entry = indicator.providers?.[provider];
  const ref = typeof entry?.same_as === 'string' ? /^indicators\[(\d+)\]\.providers\.(\w+)$/.exec(entry.same_as) : null;
  if (ref) return payload.indicators[Number(ref[1])]?.providers?.[ref[2] as string];
  return entry;
}

/** A fact as any provider of the indicator shows it (a value two providers agree on is shown once). */
function fact(payload: { indicators: Indicator[] }, indicator: Indicator, name: string): unknown[] {
  return Object.keys(indicator.providers ?? {})
    .map((p) => factsOf(payload, indicator, p)?.[name])
    .filter((v) => v !== undefined)
    .map(bare);
}

const second = (iso: string | null) => (iso === null ? undefined : new Date(iso).toISOString().replace(/\.\d+Z$/, 'Z'));

/** The mock's own answer, over its real API. */
async function mockAnswer(path: string, headers: Record<string, string>): Promise<Json> {
  const res = await fetch(`${path}`, { headers });
  expect(res.status, path).toBe(200);
  return (await res.json()) as Json;
}

async function virustotal(type: string, value: string): Promise<Json> {
  const kind = type === 'ip' ? 'ip_addresses' : type === 'domain' ? 'domains' : type === 'url' ? 'urls' : 'files';
  const id = type === 'url' ? vtUrlId(value) : value;
  const body = await mockAnswer(`${h.mock?.baseUrls.virustotal}/api/v3/${kind}/${encodeURIComponent(id)}`, {
    'x-apikey': 'mock-virustotal-key',
  });
  return (body.data as { attributes: Json }).attributes;
}

function userFor(value: string): MockUser | undefined {
  const v = value.toLowerCase();
  return KNOWN_USERS.find((u) => u.login.toLowerCase() === v || u.email.toLowerCase() === v);
}

async function ingest(source: string, payload: unknown): Promise<string> {
  const done = h.nextJob((o) => o.name === 'enrich-alert');
  const res = await h.request('POST', `/v1/ingest/${source}`, { json: payload });
  expect(res.status).toBe(202);
  await done;
  return res.body.data.alert_uuid;
}

beforeAll(async () => {
  h = await createHarness({ mockProviders: true, dedupWindowHours: 0 });
  for (const rule of await demoDetectionRules()) {
    expect((await h.request('POST', '/v1/detection-rules', { json: rule })).status).toBe(201);
  }
  for (const doc of await demoRunbooks()) {
    expect((await h.request('POST', '/v1/context-documents', { json: doc })).status).toBe(201);
  }
  await h.startWorker();
});
afterAll(() => h.close());

describe('issue 17: what providers answered reaches the agent, by field', () => {
  it.each(CASES)('%s: the mock answers appear at the default budget', async (name, { source }) => {
    const uuid = await ingest(source, fixture(name));
    const payload = (await h.request('GET', `/v1/alerts/${uuid}/context`)).body.data;
    expect(payload.token_count).toBeLessThanOrEqual(2_000);
    // The published schema describes what is served.
    expect(AgentPayloadSchema.safeParse(payload).error).toBeUndefined();
    const indicators = payload.indicators as Indicator[];
    let checked = 0;
    for (const indicator of indicators) {
      const value = String(bare(indicator.value));
      const bad = indicator.verdict === 'Malicious' || indicator.verdict === 'Suspicious';
      // Our own history: when alerts carrying the value occurred, and how many there were.
      if (bad || indicator.verdict === 'Context') {
        const row = await h.deps.db
          .selectFrom('indicators')
          .innerJoin('alert_indicators', 'alert_indicators.indicator_id', 'indicators.id')
          .innerJoin('alerts', 'alerts.id', 'alert_indicators.alert_id')
          .where('indicators.type', '=', indicator.type)
          .where('indicators.value', '=', value)
          .select((eb) => [
            eb.fn.countAll<string>().as('n'),
            eb.fn.min('alerts.occurred_at').as('first'),
            eb.fn.max('alerts.occurred_at').as('last'),
          ])
          .executeTakeFirstOrThrow();
        expect(indicator.alert_count, value).toBe(Number(row.n));
        const first = second(new Date(row.first as Date).toISOString());
        const last = second(new Date(row.last as Date).toISOString());
        expect(indicator.first_seen, value).toBe(first);
        expect(indicator.last_seen ?? first, value).toBe(last);
      }
      if (bad && ['ip', 'domain', 'url', 'hash_md5', 'hash_sha1', 'hash_sha256'].includes(indicator.type)) {
        const vt = await virustotal(indicator.type, value);
        const s = vt.last_analysis_stats as Record<string, number>;
        expect(fact(payload, indicator, 'detections'), value).toContainEqual({
          malicious: s.malicious,
          suspicious: s.suspicious,
          total: (s.malicious ?? 0) + (s.suspicious ?? 0) + (s.harmless ?? 0) + (s.undetected ?? 0) + (s.timeout ?? 0),
        });
        if (indicator.type === 'ip') {
          const abuse = (
            await mockAnswer(
              `${h.mock?.baseUrls.abuseipdb}/api/v2/check?ipAddress=${value}&maxAgeInDays=90&verbose=true`,
              { Key: 'mock-abuseipdb-key' },
            )
          ).data as Json;
          expect(fact(payload, indicator, 'abuse_confidence')).toEqual([abuse.abuseConfidenceScore]);
          expect(fact(payload, indicator, 'reports')).toEqual([abuse.totalReports]);
          expect(fact(payload, indicator, 'tor')).toEqual([abuse.isTor]);
          expect(fact(payload, indicator, 'country')).toContain(abuse.countryCode);
          expect(fact(payload, indicator, 'as_owner').length).toBeGreaterThan(0);
          if ((abuse.reports as unknown[]).length > 0)
            expect((fact(payload, indicator, 'categories')[0] as string[]).length).toBeGreaterThan(0);
        }
        if (indicator.type === 'domain' && typeof vt.creation_date === 'number')
          expect(fact(payload, indicator, 'registered')).toEqual([
            new Date(vt.creation_date * 1000).toISOString().slice(0, 10),
          ]);
        if (indicator.type.startsWith('hash_')) {
          expect(fact(payload, indicator, 'file_type')).toEqual([vt.type_description]);
          expect((fact(payload, indicator, 'names')[0] as string[])[0]).toBe(vt.meaningful_name);
        }
        checked++;
      }
      const user = userFor(value);
      if (indicator.verdict === 'Context' && user) {
        const manager = KNOWN_USERS.find((u) => u.login === user.managerLogin);
        const expected: Json = {
          status: user.oktaStatus,
          display_name: user.displayName,
          title: user.title,
          department: user.department,
          created: second(user.created),
          last_login: second(user.lastLogin),
          last_password_change: second(user.passwordChanged),
          manager: manager?.displayName,
          manager_email: manager?.email,
          enabled: user.accountEnabled,
        };
        for (const [key, want] of Object.entries(expected)) {
          if (want !== undefined) expect(fact(payload, indicator, key), `${value} ${key}`).toContain(want);
        }
        if (user.factors.length > 0) expect(fact(payload, indicator, 'mfa')).toContainEqual(user.factors);
        // Privileged groups and roles come first.
        for (const groups of fact(payload, indicator, 'groups') as string[][]) {
          const privileged = groups.map((g) => /admin|privileged|owner|operator|root|super/i.test(g));
          expect(privileged.indexOf(false) === -1 || !privileged.slice(privileged.indexOf(false)).includes(true)).toBe(
            true,
          );
        }
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
    // The rule's key sections reach the agent.
    expect(payload.detection_rule.documentation_summary).toMatch(/False Positives/);
    expect(payload.detection_rule.documentation_summary).toMatch(/Blind Spots/);
    expect(payload.detection_rule.documentation_summary).toMatch(/Responses/);
  });

  it('a shrinking budget trims in the documented order and names each cut', async () => {
    const uuid = await ingest('sentinel', fixture('04_sentinel_impossible_travel.json'));
    const firstCut = new Map<string, number>();
    const kept = new Map<string, string[]>();
    let previous: Set<string> = new Set();
    // Steps of 50 tokens, fine enough that no trimming stage is stepped over between two budgets.
    for (let budget = 2_000; budget >= 400; budget -= 50) {
      const payload = (await h.request('GET', `/v1/alerts/${uuid}/context?token_budget=${budget}`)).body.data;
      const parts = new Set<string>(payload.trimmed.map((n: { part: string }) => n.part));
      // What was cut stays cut as the budget shrinks.
      for (const part of previous) expect(parts.has(part), `${part} at ${budget}`).toBe(true);
      for (const note of payload.trimmed as { part: string; kept: string }[]) {
        if (!firstCut.has(note.part)) firstCut.set(note.part, budget);
        kept.set(note.part, [...(kept.get(note.part) ?? []), note.kept]);
      }
      previous = parts;
      // The malicious IP keeps its verdict and reason whatever the budget.
      const ip = (payload.indicators as Indicator[]).find((i) => i.value === '91.234.56.78');
      expect(ip?.verdict).toBe('Malicious');
      expect(ip?.why).toMatch(/rule >=/);
    }
    // docs/agent-payload.md "Trimming order": history of quiet indicators, then identity facts,
    // then related alerts' findings, then the facts of malicious indicators, then the rule.
    const order = [
      'indicators[].first_seen, last_seen, alert_count',
      'indicators[].providers (Context/Pending)',
      'indicators[].providers (Malicious/Suspicious)',
      'detection_rule.documentation',
    ];
    const at = order.map((part) => firstCut.get(part) ?? Number.NEGATIVE_INFINITY);
    expect(at[0]).toBeGreaterThan(Number.NEGATIVE_INFINITY);
    for (let i = 1; i < at.length; i++) expect(at[i - 1], order[i]).toBeGreaterThanOrEqual(at[i] as number);
    expect(kept.get('indicators[].providers (Context/Pending)')).toEqual(
      expect.arrayContaining(['the first 4 facts per provider', 'verdicts only']),
    );
  });

  it('related alerts carry classification, closing time and findings; indicator history counts them', async () => {
    const first = await ingest('sentinel', fixture('01_sentinel_brute_force_tor.json'));
    expect(
      (
        await h.request('PATCH', `/v1/alerts/${first}`, {
          json: { status: 'Closed', close_classification: 'True Positive - Suspicious Activity' },
        })
      ).status,
    ).toBe(200);
    await h.request('POST', `/v1/alerts/${first}/findings`, {
      json: { agent_name: 'analyst', summary: 'Tor exit brute force; password reset, MFA re-registered.' },
    });
    const again = await ingest('sentinel', fixture('01_sentinel_brute_force_tor.json'));
    const payload = (await h.request('GET', `/v1/alerts/${again}/context`)).body.data;
    const closed = (await h.request('GET', `/v1/alerts/${first}`)).body.data;
    const related = payload.related_alerts.find((r: { uuid: string }) => r.uuid === first);
    expect(related).toMatchObject({
      classification: 'True Positive - Suspicious Activity',
      closed_at: second(closed.closed_at),
    });
    expect(bare(related.findings)).toEqual(['Tor exit brute force; password reset, MFA re-registered.']);
    const tor = (payload.indicators as Indicator[]).find((i) => i.value === '185.220.101.34');
    expect(tor?.alert_count).toBeGreaterThanOrEqual(2);
    // last_seen is left out when it is the same second as first_seen.
    expect(Date.parse(String(tor?.last_seen ?? tor?.first_seen))).toBeGreaterThanOrEqual(
      Date.parse(String(tor?.first_seen)),
    );
  });

  it("an existing install gets the builtins' new steps (MFA factors) at startup", async () => {
    const okta = () =>
      h.deps.db
        .selectFrom('enrichment_providers')
        .select('http_config')
        .where('provider_name', '=', 'okta')
        .executeTakeFirstOrThrow()
        .then((r) => r.http_config as { steps: { name: string }[] });
    const shipped = await okta();
    expect(shipped.steps.map((s) => s.name)).toContain('user_factors');
    // A row seeded by an earlier version: without the factors and manager steps.
    await h.deps.db
      .updateTable('enrichment_providers')
      .set({ http_config: JSON.stringify({ steps: shipped.steps.slice(0, 2) }) })
      .where('provider_name', '=', 'okta')
      .execute();
    await seedBuiltinProviders(h.deps.db, builtinProviderSpecs);
    expect(await okta()).toEqual(shipped);
  });
});
