import { redeliverAgentRun } from '@calseta/core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAgentEndpoint, verifySignature } from './agent-endpoint.js';
import { fixture } from './fixtures.js';
import { createHarness, type Harness } from './harness.js';
import { workerWinsRace } from './races.js';

const FIXTURES = [
  ['01_sentinel_brute_force_tor.json', 'sentinel'],
  ['02_elastic_malware_hash.json', 'elastic'],
  ['03_splunk_anomalous_data_transfer.json', 'splunk'],
  ['04_sentinel_impossible_travel.json', 'sentinel'],
  ['05_elastic_suspicious_powershell.json', 'elastic'],
] as const;

interface RunRow {
  uuid: string;
  status: string;
  trigger: string;
  attempt_count: number;
  idempotency_key: string;
  agent_name: string;
  attempts: Array<{ attempt: number; status_code: number | null; error: string | null }>;
}

describe('agent dispatch end to end (real worker, real HTTP endpoint)', () => {
  let h: Harness;
  let endpoint: Awaited<ReturnType<typeof startAgentEndpoint>>;
  const agents: string[] = [];

  beforeAll(async () => {
    endpoint = await startAgentEndpoint();
    h = await createHarness({ dedupWindowHours: 0, allowHosts: [endpoint.host] });
    // Fast retries in tests; the backoff itself is unit-tested in agents.test.ts.
    h.deps.config.agentDispatch = { retryBaseSeconds: 0 };
    await h.startWorker();
  });
  afterAll(async () => {
    await h.close();
    await endpoint.close();
  });
  // Each test's agents stop matching once it is over.
  afterEach(async () => {
    for (const uuid of agents.splice(0)) {
      await h.request('PATCH', `/v1/agents/${uuid}`, { json: { is_active: false } });
    }
  });

  async function registerAgent(name: string, extra: Record<string, unknown> = {}) {
    const res = await h.request('POST', '/v1/agents', { json: { name, endpoint_url: endpoint.url(name), ...extra } });
    expect(res.status).toBe(201);
    agents.push(res.body.data.uuid);
    return res.body.data as { uuid: string; name: string; signing_secret: string };
  }

  async function runsOf(alertUuid: string): Promise<RunRow[]> {
    return h.query<RunRow>(
      `SELECT r.uuid, r.status, r.trigger, r.attempt_count, r.idempotency_key, r.attempts, a.name AS agent_name
       FROM agent_runs r JOIN agent_registrations a ON a.id = r.agent_registration_id
       JOIN alerts al ON al.id = r.alert_id WHERE al.uuid = $1 ORDER BY r.id`,
      [alertUuid],
    );
  }

  /** Re-check the alert's deliveries after every dispatch job until `done` holds (job events, no timers). */
  async function until(alertUuid: string, done: (runs: RunRow[]) => boolean): Promise<RunRow[]> {
    for (;;) {
      const next = h.nextJob((o) => o.name === 'dispatch-agent');
      const runs = await runsOf(alertUuid);
      if (done(runs)) return runs;
      await next;
    }
  }
  const finished = (runs: RunRow[]) =>
    runs.length > 0 && runs.every((r) => ['delivered', 'failed', 'cancelled'].includes(r.status));

  async function ingestAndEnrich(source: string, payload: unknown): Promise<string> {
    const enriched = h.nextJob((o) => o.name === 'enrich-alert');
    const res = await h.request('POST', `/v1/ingest/${source}`, { json: payload });
    expect(res.status).toBe(202);
    expect((await enriched).state).toBe('completed');
    return res.body.data.alert_uuid as string;
  }

  it.each(FIXTURES)('%s: the agent receives one signed POST whose body is the alert payload', async (name, source) => {
    const agent = await registerAgent(`fixture-${name.slice(0, 2)}`, {
      trigger_on_sources: [source],
      auth_header_name: 'Authorization',
      auth_header_value: 'Bearer agent-secret',
    });
    const uuid = await ingestAndEnrich(source, fixture(name));
    const got = await endpoint.next((r) => r.path === `/${agent.name}` && r.json?.alert?.uuid === uuid);

    expect(got.headers['content-type']).toBe('application/json');
    expect(got.headers['x-calseta-event']).toBe('alert.enriched');
    expect(got.headers.authorization).toBe('Bearer agent-secret');
    expect(Math.abs(Number(got.headers['x-calseta-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(got.headers['x-calseta-signature']).toMatch(/^v1=[0-9a-f]{64}$/);
    expect(verifySignature(agent.signing_secret, got)).toBe(true);
    // A tampered body or another secret does not verify.
    expect(verifySignature(agent.signing_secret, { ...got, body: `${got.body} ` })).toBe(false);
    expect(verifySignature('f'.repeat(64), got)).toBe(false);

    // The body is the alert's agent payload (the same document GET /context serves).
    const context = await h.request('GET', `/v1/alerts/${uuid}/context`);
    expect(got.json).toEqual(context.body.data);
    expect(got.json.schema).toBe('calseta.alert.v1');

    const runs = await until(uuid, finished);
    expect(runs).toHaveLength(1);
    const run = runs[0] as RunRow;
    expect(run).toMatchObject({ status: 'delivered', trigger: 'auto', attempt_count: 1, agent_name: agent.name });
    expect(got.headers['idempotency-key']).toBe(run.idempotency_key);
    expect(got.headers['x-calseta-delivery']).toBe(run.uuid);
    expect(endpoint.received.filter((r) => r.json?.alert?.uuid === uuid)).toHaveLength(1);

    const activity = await h.request('GET', `/v1/alerts/${uuid}/activity`);
    const dispatched = activity.body.data.find(
      (e: { event_type: string }) => e.event_type === 'agent_webhook_dispatched',
    );
    expect(dispatched.references).toMatchObject({
      agent_uuid: agent.uuid,
      status: 'delivered',
      status_code: 200,
      attempt_count: 1,
    });
  });

  it('outage: down, then 503s, then up — delivered exactly once per idempotency key, every attempt recorded', async () => {
    const agent = await registerAgent('flaky', { retry_count: 5 });
    // Attempt 1: connection dropped; attempts 2-3: 503; then 200 (and 200 for any duplicate).
    endpoint.respond(agent.name, (seen) => (seen === 0 ? 0 : seen < 3 ? 503 : 200));
    const uuid = await ingestAndEnrich('sentinel', fixture('04_sentinel_impossible_travel.json'));
    const runs = await until(uuid, finished);
    expect(runs).toHaveLength(1);
    const run = runs[0] as RunRow;
    expect(run.status).toBe('delivered');
    expect(run.attempt_count).toBe(4);
    expect(run.attempts.map((a) => a.attempt)).toEqual([1, 2, 3, 4]);
    expect(run.attempts.map((a) => a.status_code)).toEqual([null, 503, 503, 200]);
    expect(run.attempts[0]?.error).toMatch(/^Connection error/);
    expect(run.attempts[1]?.error).toBe('HTTP 503');
    expect(run.attempts[3]?.error).toBeNull();

    const mine = endpoint.received.filter((r) => r.path === `/${agent.name}`);
    expect(mine).toHaveLength(4);
    // Same key and delivery id on every attempt, each attempt signed on its own.
    expect(new Set(mine.map((r) => r.headers['idempotency-key']))).toEqual(new Set([run.idempotency_key]));
    expect(new Set(mine.map((r) => r.headers['x-calseta-delivery']))).toEqual(new Set([run.uuid]));
    for (const r of mine) expect(verifySignature(agent.signing_secret, r)).toBe(true);
    // What a deduplicating receiver sees: exactly one accepted delivery per key.
    const accepted = new Map<string, number>();
    for (const r of mine.filter((x) => x.answered >= 200 && x.answered < 300)) {
      const key = r.headers['idempotency-key'] as string;
      accepted.set(key, (accepted.get(key) ?? 0) + 1);
    }
    expect([...accepted.values()]).toEqual([1]);

    // Readable through the API.
    const detail = await h.request('GET', `/v1/agent-runs/${run.uuid}`);
    expect(detail.status).toBe(200);
    expect(detail.body.data).toMatchObject({
      uuid: run.uuid,
      agent_uuid: agent.uuid,
      alert_uuid: uuid,
      status: 'delivered',
      attempt_count: 4,
      max_attempts: 6,
      response_status_code: 200,
      next_attempt_at: null,
    });
    expect(detail.body.data.attempts).toHaveLength(4);
    expect(detail.body.data.request_payload.alert.uuid).toBe(uuid);
  });

  it('a permanently failing endpoint ends in terminal `failed` after retry_count + 1 attempts', async () => {
    const agent = await registerAgent('broken', { retry_count: 2 });
    endpoint.respond(agent.name, () => 500);
    const uuid = await ingestAndEnrich('elastic', fixture('02_elastic_malware_hash.json'));
    const [run] = await until(uuid, finished);
    expect(run).toMatchObject({ status: 'failed', attempt_count: 3 });
    expect(run?.attempts.map((a) => a.status_code)).toEqual([500, 500, 500]);
    expect(endpoint.received.filter((r) => r.path === `/${agent.name}` && r.json?.alert?.uuid === uuid)).toHaveLength(
      3,
    );
    const list = await h.request('GET', `/v1/agents/${agent.uuid}/runs`);
    expect(list.body.data[0]).toMatchObject({
      uuid: run?.uuid,
      status: 'failed',
      error: 'HTTP 500',
      next_attempt_at: null,
    });
    const activity = await h.query<{ references: Record<string, unknown> }>(
      `SELECT "references" FROM activity_events WHERE event_type = 'agent_webhook_dispatched' AND "references"->>'run_uuid' = $1`,
      [run?.uuid],
    );
    expect(activity).toHaveLength(1);
    expect(activity[0]?.references).toMatchObject({ status: 'failed', status_code: 500, attempt_count: 3 });
  });

  it('re-enrichment does not deliver again unless redispatch is asked (quirk 23 fixed)', async () => {
    const agent = await registerAgent('once-only');
    const uuid = await ingestAndEnrich('splunk', fixture('03_splunk_anomalous_data_transfer.json'));
    const [first] = await until(uuid, finished);

    let enriched = h.nextJob((o) => o.name === 'enrich-alert');
    expect((await h.request('POST', `/v1/alerts/${uuid}/enrich`)).status).toBe(202);
    await enriched;
    expect(await runsOf(uuid)).toHaveLength(1);

    enriched = h.nextJob((o) => o.name === 'enrich-alert');
    expect((await h.request('POST', `/v1/alerts/${uuid}/enrich?redispatch=true`)).status).toBe(202);
    await enriched;
    const runs = await until(uuid, (r) => r.length === 2 && finished(r));
    expect(runs.map((r) => [r.trigger, r.status])).toEqual([
      ['auto', 'delivered'],
      ['redispatch', 'delivered'],
    ]);
    expect(runs[1]?.idempotency_key).not.toBe(first?.idempotency_key);
    const mine = endpoint.received.filter((r) => r.path === `/${agent.name}` && r.json?.alert?.uuid === uuid);
    expect(mine.map((r) => r.headers['idempotency-key'])).toEqual(runs.map((r) => r.idempotency_key));
  });

  it('trigger-agents queues a new delivery to each matching agent; dispatch-agent to one; redeliver keeps the key', async () => {
    const uuid = await ingestAndEnrich('elastic', fixture('05_elastic_suspicious_powershell.json'));
    const match = await registerAgent('elastic-only', { trigger_on_sources: ['elastic'] });
    await registerAgent('sentinel-only', { trigger_on_sources: ['sentinel'] });
    const filtered = await registerAgent('filtered-out', {
      trigger_filter: { match_all: [{ field: 'tags', op: 'contains', value: 'no-such-tag' }] },
    });
    const inactive = await registerAgent('inactive', { is_active: false });

    const writer = await h.createKey({ scopes: ['agents:write'] });
    const reader = await h.createKey({ scopes: ['agents:read', 'alerts:read'] });
    expect((await h.request('POST', `/v1/alerts/${uuid}/trigger-agents`, { key: reader })).status).toBe(403);
    const triggered = await h.request('POST', `/v1/alerts/${uuid}/trigger-agents`, { key: writer });
    expect(triggered.status).toBe(202);
    expect(triggered.body.data).toMatchObject({ queued_agent_count: 1, agent_names: ['elastic-only'] });
    expect((await h.request('POST', '/v1/alerts/00000000-0000-4000-8000-000000000000/trigger-agents')).status).toBe(
      404,
    );

    // dispatch-agent bypasses matching, but not activity.
    const refused = await h.request('POST', `/v1/alerts/${uuid}/dispatch-agent?agent_uuid=${inactive.uuid}`);
    expect(refused.status).toBe(422);
    expect(refused.body.error.code).toBe('AGENT_INACTIVE');
    expect(
      (await h.request('POST', `/v1/alerts/${uuid}/dispatch-agent?agent_uuid=00000000-0000-4000-8000-000000000000`))
        .status,
    ).toBe(404);
    const single = await h.request('POST', `/v1/alerts/${uuid}/dispatch-agent?agent_uuid=${filtered.uuid}`);
    expect(single.status).toBe(202);
    expect(single.body.data).toMatchObject({ agent_uuid: filtered.uuid, agent_name: 'filtered-out', alert_uuid: uuid });

    const runs = await until(uuid, (r) => r.length === 2 && finished(r));
    expect(runs.map((r) => [r.agent_name, r.trigger, r.status]).sort()).toEqual([
      ['elastic-only', 'manual', 'delivered'],
      ['filtered-out', 'single', 'delivered'],
    ]);

    // Per-alert and per-agent listings, newest first.
    const perAlert = await h.request('GET', `/v1/alerts/${uuid}/agent-runs`, { key: reader });
    expect(perAlert.status).toBe(200);
    expect(perAlert.body.meta.total).toBe(2);
    expect(perAlert.body.data.map((r: { uuid: string }) => r.uuid)).toEqual([...runs].reverse().map((r) => r.uuid));
    const perAgent = await h.request('GET', `/v1/agents/${match.uuid}/runs`, { key: reader });
    expect(perAgent.body.data).toHaveLength(1);
    expect(perAgent.body.data[0]).toMatchObject({ trigger: 'manual', status: 'delivered', alert_uuid: uuid });

    // Redeliver: a new delivery (new delivery id) of the same event (same idempotency key).
    const original = runs.find((r) => r.agent_name === 'elastic-only') as RunRow;
    expect((await h.request('POST', `/v1/agent-runs/${original.uuid}/redeliver`, { key: reader })).status).toBe(403);
    const again = await h.request('POST', `/v1/agent-runs/${original.uuid}/redeliver`, { key: writer });
    expect(again.status).toBe(202);
    expect(again.body.data).toMatchObject({
      trigger: 'redeliver',
      idempotency_key: original.idempotency_key,
      redelivery_of: original.uuid,
    });
    expect(again.body.data.uuid).not.toBe(original.uuid);
    const got = await endpoint.next((r) => r.headers['x-calseta-delivery'] === again.body.data.uuid);
    expect(got.headers['idempotency-key']).toBe(original.idempotency_key);
    expect(verifySignature(match.signing_secret, got)).toBe(true);
    const after = await until(uuid, (r) => r.length === 3 && finished(r));
    expect(after.find((r) => r.uuid === again.body.data.uuid)?.status).toBe('delivered');
    expect((await h.request('POST', '/v1/agent-runs/00000000-0000-4000-8000-000000000000/redeliver')).status).toBe(404);
    expect((await h.request('GET', '/v1/agent-runs/00000000-0000-4000-8000-000000000000')).status).toBe(404);
  });

  it('redeliver answers with the delivery as committed, even when the worker has already made it', async () => {
    await registerAgent('redeliver-race');
    const uuid = await ingestAndEnrich('elastic', fixture('02_elastic_malware_hash.json'));
    const [original] = await until(uuid, finished);
    const [{ max }] = (await h.query<{ max: number }>('SELECT max(id)::int AS max FROM agent_runs')) as [
      { max: number },
    ];
    const delivered = h.nextJob((o) => o.name === 'dispatch-agent' && (o.data as { run_id: number }).run_id > max);
    const race = workerWinsRace(h, 'dispatch-agent', delivered);
    try {
      const again = await redeliverAgentRun(race.ctx, { uuid: (original as RunRow).uuid });
      expect(await delivered).toMatchObject({ state: 'completed' });
      expect(again).toMatchObject({ trigger: 'redeliver', status: 'pending', attempt_count: 0, completed_at: null });
    } finally {
      await race.close();
    }
  });

  it('an agent deactivated before its retry is cancelled, not delivered', async () => {
    const agent = await registerAgent('deactivated-midway', { retry_count: 3 });
    // The first attempt is answered 503 only once the agent has been deactivated.
    endpoint.respond(agent.name, async () => {
      await h.request('PATCH', `/v1/agents/${agent.uuid}`, { json: { is_active: false } });
      return 503;
    });
    const uuid = await ingestAndEnrich('sentinel', fixture('04_sentinel_impossible_travel.json'));
    const [run] = await until(uuid, finished);
    expect(run).toMatchObject({ status: 'cancelled', attempt_count: 1 });
    expect(endpoint.received.filter((r) => r.path === `/${agent.name}`)).toHaveLength(1);
  });
});

describe('a delivery waits for rate-limited providers (real pipeline, a provider answering 429)', () => {
  let h: Harness;
  let endpoint: Awaited<ReturnType<typeof startAgentEndpoint>>;

  beforeAll(async () => {
    endpoint = await startAgentEndpoint();
    h = await createHarness({
      dedupWindowHours: 0,
      allowHosts: [endpoint.host],
      mockProviders: { providers: { okta: { rateLimit: { every: 1, retryAfterSeconds: 1 } } } },
    });
    await h.startWorker();
  });
  afterAll(async () => {
    await h.close();
    await endpoint.close();
  });

  it('is recorded as waiting, then sent once, enriched, when the follow-up enrichment finishes', async () => {
    const created = await h.request('POST', '/v1/agents', {
      json: { name: 'patient', endpoint_url: endpoint.url('patient'), trigger_on_sources: ['sentinel'] },
    });
    expect(created.status).toBe(201);
    const first = h.nextJob((o) => o.name === 'enrich-alert');
    const res = await h.request('POST', '/v1/ingest/sentinel', { json: fixture('01_sentinel_brute_force_tor.json') });
    const uuid = res.body.data.alert_uuid as string;
    expect((await first).state).toBe('completed');
    const runs = () =>
      h.query<{ uuid: string; status: string; attempt_count: number }>(
        `SELECT r.uuid, r.status, r.attempt_count FROM agent_runs r JOIN alerts a ON a.id = r.alert_id WHERE a.uuid = $1`,
        [uuid],
      );
    const waiting = await runs();
    expect(waiting.map((r) => r.status)).toEqual(['waiting']);
    expect(endpoint.received.filter((r) => r.json?.alert?.uuid === uuid)).toEqual([]);

    // Okta recovers; the delayed retry finishes the enrichment and releases the same delivery.
    h.mock?.setOptions({ providers: { okta: {} } });
    const retry = await h.nextJob(
      (o) => o.name === 'enrich-alert' && (o.data as { reason?: string }).reason === 'rate_limited',
    );
    expect(retry.state).toBe('completed');
    const got = await endpoint.next((r) => r.path === '/patient' && r.json?.alert?.uuid === uuid);
    // Sent enriched: nothing deferred any more (the payload names only what went wrong).
    expect(got.json.enrichment?.deferred).toBeUndefined();
    expect(got.json.alert.enrichment_status).not.toBe('Pending');
    const done = await runs();
    expect(done).toEqual([{ uuid: waiting[0]?.uuid, status: 'delivered', attempt_count: 1 }]);
    expect(endpoint.received.filter((r) => r.json?.alert?.uuid === uuid)).toHaveLength(1);
  });
});
