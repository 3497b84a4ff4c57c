/**
 * Per-incident agent delivery (issue 23) against a real agent HTTP endpoint, the real worker and
 * the real Postgres: one signed delivery when an incident opens, one debounced update naming the
 * alerts that joined, retries with the same idempotency key, a re-run job that sends nothing, a
 * worker killed mid-delivery whose revision is sent again under the same key (and never twice
 * recorded), and per-alert agents that see no difference.
 */
import { contextFor, correlateAlerts, dispatchIncidentUpdates, type IncidentChange, SYSTEM } from '@calseta/core';
import { appArgs, ProcessGroup } from '@calseta/process-harness';
import { IncidentPayloadSchema } from '@calseta/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Endpoint, type Received, startAgentEndpoint, verifySignature } from './agent-endpoint.js';
import { createHarness, type Harness } from './harness.js';

/** An identity compromise chain (brute force → sign-in from the same address → mailbox rule → download). */
const CHAIN = [
  {
    title: 'Brute force against Entra ID: 48 failed sign-ins',
    severity: 'Medium',
    rule_id: 'idp-bruteforce',
    rule_name: 'Password spray / brute force',
    src_ip: '185.220.101.45',
    user: 'jdoe@contoso.example',
    failed_count: 48,
  },
  {
    title: 'Successful sign-in from a TOR exit node',
    severity: 'High',
    rule_id: 'idp-tor-signin',
    rule_name: 'Sign-in from anonymizing network',
    src_ip: '185.220.101.45',
    user: 'jdoe@contoso.example',
    app: 'Office 365 Exchange Online',
  },
  {
    title: 'Inbox rule forwards all mail to an external address',
    severity: 'High',
    rule_id: 'm365-inbox-forward',
    rule_name: 'Suspicious inbox forwarding rule',
    src_ip: '185.220.101.45',
    user: 'jdoe@contoso.example',
    forward_to: 'collect@exfil-mail.example',
  },
  {
    title: 'Mass download from SharePoint: 1,204 files',
    severity: 'High',
    rule_id: 'spo-mass-download',
    rule_name: 'Mass file download',
    src_ip: '185.220.101.45',
    user: 'jdoe@contoso.example',
    file_count: 1204,
  },
] as const;

interface DeliveryRow {
  uuid: string;
  revision: number;
  event: string;
  status: string;
  idempotency_key: string;
  attempt_count: number;
  attempts: Array<{ attempt: number; status_code: number | null }>;
  alert_ids: number[];
  added_alert_ids: number[];
  token_count: number | null;
}

function setup() {
  const t = {} as {
    h: Harness;
    endpoint: Endpoint;
    start(): Promise<void>;
    noCorrelation(): Promise<void>;
    registerAgent(name: string, extra?: Record<string, unknown>): Promise<{ uuid: string; signing_secret: string }>;
    ingest(payload: Record<string, unknown>): Promise<{ id: number; uuid: string }>;
    /** Stand-in for correlation: put `alertIds` into `incidentId` (or a new incident) as correlateAlerts would. */
    group(alertIds: number[], incidentId?: number): Promise<Pick<IncidentChange, 'incidentId' | 'opened' | 'alertIds'>>;
    deliveries(incidentId: number, agentUuid: string): Promise<DeliveryRow[]>;
  };
  t.start = async () => {
    t.endpoint = await startAgentEndpoint();
    t.h = await createHarness({ dedupWindowHours: 0, allowHosts: [t.endpoint.host] });
    t.h.deps.config.agentDispatch = { retryBaseSeconds: 0 };
  };
  /** These scenarios group alerts themselves: correlation (were the pipeline to run it) must not. */
  t.noCorrelation = async () => {
    const res = await t.h.request('PUT', '/v1/incidents/correlation/config', { json: { enabled: false } });
    expect(res.status).toBe(200);
  };
  t.registerAgent = async (name, extra = {}) => {
    const res = await t.h.request('POST', '/v1/agents', {
      json: { name, endpoint_url: t.endpoint.url(name), ...extra },
    });
    expect(res.status).toBe(201);
    return res.body.data;
  };
  t.ingest = async (payload) => {
    const res = await t.h.request('POST', '/v1/ingest/generic', { json: payload });
    expect(res.status).toBe(202);
    const uuid = res.body.data.alert_uuid as string;
    const [row] = await t.h.query<{ id: number }>('SELECT id FROM alerts WHERE uuid = $1', [uuid]);
    return { id: Number(row?.id), uuid };
  };
  t.group = async (alertIds, incidentId) => {
    const opened = incidentId === undefined;
    if (opened) {
      const [row] = await t.h.query<{ id: number }>(
        `INSERT INTO incidents (title, alerts_severity) VALUES ('Identity compromise: jdoe@contoso.example', 'High') RETURNING id`,
      );
      incidentId = Number(row?.id);
    }
    for (const alertId of alertIds) {
      const reason = {
        rule: 'shared_entity',
        entities: [{ type: 'ip', value: '185.220.101.45' }],
        matched_alert_uuid: null,
        detection_rule_uuid: null,
        source_group: null,
        action: null,
        summary: 'Shares ip 185.220.101.45 with an earlier alert.',
      };
      await t.h.query('INSERT INTO incident_alerts (incident_id, alert_id, reason) VALUES ($1, $2, $3)', [
        incidentId,
        alertId,
        JSON.stringify(reason),
      ]);
    }
    await t.h.query(
      `UPDATE incidents SET alert_count = (SELECT count(*) FROM incident_alerts WHERE incident_id = $1) WHERE id = $1`,
      [incidentId],
    );
    return { incidentId: incidentId as number, opened, alertIds };
  };
  t.deliveries = (incidentId, agentUuid) =>
    t.h.query<DeliveryRow>(
      `SELECT d.uuid, d.revision, d.event, d.status, d.idempotency_key, d.attempt_count, d.attempts, d.alert_ids,
              d.added_alert_ids, d.token_count
       FROM incident_deliveries d JOIN agent_registrations a ON a.id = d.agent_registration_id
       WHERE d.incident_id = $1 AND a.uuid = $2 ORDER BY d.revision`,
      [incidentId, agentUuid],
    );
  return t;
}

describe('per-incident delivery (real worker, real agent endpoint)', () => {
  const t = setup();
  let incidentAgent: { uuid: string; signing_secret: string };
  let alertAgent: { uuid: string; signing_secret: string };
  const alerts: Array<{ id: number; uuid: string }> = [];
  let incidentId: number;

  beforeAll(async () => {
    await t.start();
    await t.noCorrelation();
    t.h.deps.config.incidents = { debounceSeconds: 1 };
    await t.h.startWorker();
    incidentAgent = await t.registerAgent('incident-agent', { delivery_mode: 'incident', retry_count: 3 });
    alertAgent = await t.registerAgent('alert-agent');
    // The incident agent's first request fails: the revision is retried under the same key.
    t.endpoint.respond('incident-agent', (seen) => (seen === 0 ? 503 : 200));
    for (const payload of CHAIN) {
      const enriched = t.h.nextJob((o) => o.name === 'enrich-alert');
      alerts.push(await t.ingest(payload));
      await enriched;
    }
  }, 120_000);
  afterAll(async () => {
    await t.h?.close();
    await t.endpoint?.close();
  });

  it('the registration says its mode (default per alert), in REST', async () => {
    const got = await t.h.request('GET', `/v1/agents/${incidentAgent.uuid}`);
    expect(got.body.data.delivery_mode).toBe('incident');
    expect((await t.h.request('GET', `/v1/agents/${alertAgent.uuid}`)).body.data.delivery_mode).toBe('alert');
    const bad = await t.h.request('POST', '/v1/agents', {
      json: { name: 'x', endpoint_url: t.endpoint.url('x'), delivery_mode: 'storm' },
    });
    expect(bad.status).toBe(422);
  });

  it('per-alert agents are unchanged: one alert.enriched each; the incident agent gets none', async () => {
    for (const a of alerts) {
      const got = await t.endpoint.next((r) => r.path === '/alert-agent' && r.json?.alert?.uuid === a.uuid);
      expect(got.headers['x-calseta-event']).toBe('alert.enriched');
    }
    expect(t.endpoint.received.filter((r) => r.path === '/alert-agent')).toHaveLength(CHAIN.length);
    const runs = await t.h.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM agent_runs r JOIN agent_registrations a ON a.id = r.agent_registration_id WHERE a.uuid = $1',
      [incidentAgent.uuid],
    );
    expect(runs[0]?.n).toBe(0);
  });

  it('one signed delivery when the incident opens, retried under the same key', async () => {
    const ctx = contextFor(t.h.deps, SYSTEM);
    const change = await t.group([alerts[0]?.id as number, alerts[1]?.id as number]);
    incidentId = change.incidentId;
    const result = await dispatchIncidentUpdates(ctx, { changes: [change] });
    expect(result.scheduled).toBe(1);
    const ok = await t.endpoint.next((r) => r.path === '/incident-agent' && r.seen === 1);
    const mine = t.endpoint.received.filter((r) => r.path === '/incident-agent');
    expect(mine.length).toBeGreaterThanOrEqual(2);
    const [first, second] = mine as [Received, Received];
    for (const r of [first, second]) {
      expect(r.headers['x-calseta-event']).toBe('incident.opened');
      expect(verifySignature(incidentAgent.signing_secret, r)).toBe(true);
    }
    expect(verifySignature(incidentAgent.signing_secret, { ...second, body: `${second.body} ` })).toBe(false);
    expect(second.headers['idempotency-key']).toBe(first.headers['idempotency-key']);
    expect(second.headers['x-calseta-delivery']).toBe(first.headers['x-calseta-delivery']);
    expect(ok.json).toMatchObject({
      schema: 'calseta.incident.v1',
      incident: { alert_count: 2, severity: 'High' },
      changes: { revision: 1, added_count: 2 },
    });
    expect(ok.json.changes.added_alerts.sort()).toEqual([alerts[0]?.uuid, alerts[1]?.uuid].sort());
    expect(ok.json.alerts.map((a: { uuid: string }) => a.uuid).sort()).toEqual(
      [alerts[0]?.uuid, alerts[1]?.uuid].sort(),
    );
    // The shared address is said once, and each alert refers to it.
    const shared = ok.json.shared_entities.map((e: { value: string }) => e.value);
    expect(shared).toContain('185.220.101.45');
    expect(ok.json.token_count).toBeLessThanOrEqual(4_000);

    const [row] = await waitDelivered(incidentId, 1);
    expect(row).toMatchObject({ revision: 1, event: 'incident.opened', status: 'delivered', attempt_count: 2 });
    expect(row?.attempts.map((a) => a.status_code)).toEqual([503, 200]);
    expect(row?.idempotency_key).toBe(first.headers['idempotency-key']);
  });

  /** Re-read the deliveries after every deliver-incident job until `n` revisions are finished. */
  async function waitDelivered(id: number, n: number): Promise<DeliveryRow[]> {
    for (;;) {
      const next = t.h.nextJob((o) => o.name === 'deliver-incident');
      const rows = await t.deliveries(id, incidentAgent.uuid);
      if (rows.length >= n && rows.every((r) => ['delivered', 'failed'].includes(r.status))) return rows;
      await next;
    }
  }

  it('alerts joining within the debounce make one update that names them', async () => {
    const ctx = contextFor(t.h.deps, SYSTEM);
    const third = await t.group([alerts[2]?.id as number], incidentId);
    const fourth = await t.group([alerts[3]?.id as number], incidentId);
    expect((await dispatchIncidentUpdates(ctx, { changes: [{ ...third, opened: false }] })).scheduled).toBe(1);
    // The second rides on the update already scheduled.
    expect((await dispatchIncidentUpdates(ctx, { changes: [{ ...fourth, opened: false }] })).scheduled).toBe(0);
    const update = await t.endpoint.next(
      (r) => r.path === '/incident-agent' && r.headers['x-calseta-event'] === 'incident.updated',
    );
    expect(verifySignature(incidentAgent.signing_secret, update)).toBe(true);
    expect(update.json.changes).toMatchObject({ revision: 2, previous_revision: 1, added_count: 2 });
    expect(update.json.changes.added_alerts.sort()).toEqual([alerts[2]?.uuid, alerts[3]?.uuid].sort());
    expect(update.json.incident.alert_count).toBe(4);
    const newOnes = update.json.alerts.filter((a: { new?: boolean }) => a.new).map((a: { uuid: string }) => a.uuid);
    expect(newOnes.sort()).toEqual([alerts[2]?.uuid, alerts[3]?.uuid].sort());
    const rows = await waitDelivered(incidentId, 2);
    expect(rows.map((r) => [r.revision, r.event, r.status])).toEqual([
      [1, 'incident.opened', 'delivered'],
      [2, 'incident.updated', 'delivered'],
    ]);
    expect(rows[1]?.added_alert_ids.map(Number).sort()).toEqual([alerts[2]?.id, alerts[3]?.id].sort());
    expect(new Set(rows.map((r) => r.idempotency_key)).size).toBe(2);
    // Readable, with every attempt: GET /v1/agents/{uuid}/incident-deliveries, newest first.
    const listed = await t.h.request('GET', `/v1/agents/${incidentAgent.uuid}/incident-deliveries`);
    expect(listed.status).toBe(200);
    expect(listed.body.meta.total).toBe(2);
    expect(
      listed.body.data.map((d: any) => [d.revision, d.event, d.status, d.alert_count, d.added_alert_count]),
    ).toEqual([
      [2, 'incident.updated', 'delivered', 4, 2],
      [1, 'incident.opened', 'delivered', 2, 2],
    ]);
    expect(listed.body.data[1].attempts.map((a: any) => a.status_code)).toEqual([503, 200]);
    expect(listed.body.data[1]).toMatchObject({ idempotency_key: rows[0]?.idempotency_key, max_attempts: 4 });
    expect(listed.body.data[0].token_count).toBeGreaterThan(0);
  });

  it('a re-run job (cut or attempt) sends nothing and cuts no revision', async () => {
    const before = t.endpoint.received.filter((r) => r.path === '/incident-agent').length;
    const [agentRow] = await t.h.query<{ id: number }>('SELECT id FROM agent_registrations WHERE uuid = $1', [
      incidentAgent.uuid,
    ]);
    const [last] = await t.h.query<{ id: number; attempt_count: number }>(
      'SELECT id, attempt_count FROM incident_deliveries WHERE incident_id = $1 ORDER BY revision DESC LIMIT 1',
      [incidentId],
    );
    const agentId = Number(agentRow?.id);
    for (const data of [
      { incident_id: incidentId, agent_id: agentId },
      { incident_id: incidentId, agent_id: agentId, delivery_id: Number(last?.id), attempt: 1 },
      { incident_id: incidentId, agent_id: agentId, delivery_id: Number(last?.id), attempt: last?.attempt_count },
    ]) {
      const done = t.h.nextJob((o) => o.name === 'deliver-incident');
      await t.h.deps.queue.send('deliver-incident', data as never);
      expect((await done).state).toBe('completed');
    }
    expect(t.endpoint.received.filter((r) => r.path === '/incident-agent')).toHaveLength(before);
    expect(await t.deliveries(incidentId, incidentAgent.uuid)).toHaveLength(2);
    // Nothing new since revision 2: a dispatch with no added alerts schedules a job that cuts nothing.
    const done = t.h.nextJob((o) => o.name === 'deliver-incident');
    const ctx = contextFor(t.h.deps, SYSTEM);
    t.h.deps.config.incidents = { debounceSeconds: 0 };
    expect(
      (await dispatchIncidentUpdates(ctx, { changes: [{ incidentId, opened: false, alertIds: [] }] })).scheduled,
    ).toBe(0);
    expect(
      (
        await dispatchIncidentUpdates(ctx, {
          changes: [{ incidentId, opened: false, alertIds: [alerts[3]?.id as number] }],
        })
      ).scheduled,
    ).toBe(1);
    await done;
    expect(await t.deliveries(incidentId, incidentAgent.uuid)).toHaveLength(2);
    expect(t.endpoint.received.filter((r) => r.path === '/incident-agent')).toHaveLength(before);
  });

  it('an update whose scheduled job failed for good is scheduled again (not stuck behind it)', async () => {
    const enriched = t.h.nextJob((o) => o.name === 'enrich-alert');
    const fifth = await t.ingest({ ...CHAIN[3], title: 'Mass download from OneDrive: 311 files', file_count: 311 });
    await enriched;
    const change = await t.group([fifth.id], incidentId);
    // The cursor says a job is due since an hour: that job is gone.
    await t.h.query(
      `UPDATE incident_delivery_cursors SET due_at = now() - interval '1 hour'
       WHERE incident_id = $1 AND agent_registration_id = (SELECT id FROM agent_registrations WHERE uuid = $2)`,
      [incidentId, incidentAgent.uuid],
    );
    const ctx = contextFor(t.h.deps, SYSTEM);
    expect((await dispatchIncidentUpdates(ctx, { changes: [{ ...change, opened: false }] })).scheduled).toBe(1);
    const rows = await waitDelivered(incidentId, 3);
    expect(rows.map((r) => r.revision)).toEqual([1, 2, 3]);
    expect(rows[2]?.added_alert_ids.map(Number)).toEqual([fifth.id]);
  });

  it('a revision that failed for good loses nothing: the next one counts from what the agent received', async () => {
    const lossy = await t.registerAgent('lossy-agent', { delivery_mode: 'incident', retry_count: 0 });
    t.endpoint.respond('lossy-agent', (seen) => (seen === 0 ? 500 : 200));
    const ids: Array<{ id: number; uuid: string }> = [];
    for (const payload of [CHAIN[0], CHAIN[1]]) {
      const enriched = t.h.nextJob((o) => o.name === 'enrich-alert');
      ids.push(await t.ingest({ ...payload, src_ip: '185.220.101.99', user: 'asmith@contoso.example' }));
      await enriched;
    }
    const ctx = contextFor(t.h.deps, SYSTEM);
    const opened = await t.group([ids[0]?.id as number]);
    await dispatchIncidentUpdates(ctx, { changes: [opened] });
    const failed = async () => {
      for (;;) {
        const next = t.h.nextJob((o) => o.name === 'deliver-incident');
        const rows = await t.deliveries(opened.incidentId, lossy.uuid);
        if (rows[0]?.status === 'failed') return rows;
        await next;
      }
    };
    expect((await failed()).map((r) => [r.revision, r.event, r.status])).toEqual([[1, 'incident.opened', 'failed']]);
    const joined = await t.group([ids[1]?.id as number], opened.incidentId);
    await dispatchIncidentUpdates(ctx, { changes: [{ ...joined, opened: false }] });
    const got = await t.endpoint.next((r) => r.path === '/lossy-agent' && r.seen === 1);
    // The agent never received revision 1: revision 2 opens the incident for it, with both alerts.
    expect(got.headers['x-calseta-event']).toBe('incident.opened');
    expect(got.json.changes.revision).toBe(2);
    expect(got.json.changes.previous_revision).toBeUndefined();
    expect(got.json.changes.added_alerts.sort()).toEqual([ids[0]?.uuid, ids[1]?.uuid].sort());
  });
});

describe('a worker killed mid-delivery', () => {
  const t = setup();
  const procs = new ProcessGroup();
  let agent: { uuid: string; signing_secret: string };

  beforeAll(async () => {
    await t.start();
    await t.noCorrelation();
    agent = await t.registerAgent('crash-agent', { delivery_mode: 'incident' });
  }, 60_000);
  afterAll(async () => {
    await procs.stopAll('SIGKILL');
    await t.h?.close();
    await t.endpoint?.close();
  });

  it('the revision is sent again under the same key once, recorded once', async () => {
    // A worker process of its own (the sources through tsx), the only consumer until it is killed.
    const worker = procs.start({
      name: 'worker',
      args: appArgs('worker', 'tsx'),
      env: {
        DATABASE_URL: t.h.databaseUrl,
        ENCRYPTION_KEY: t.h.deps.config.encryptionKey,
        SSRF_ALLOWED_HOSTS_AGENTS: t.endpoint.host,
        LOG_LEVEL: 'info',
        DB_POOL_SIZE: '4',
        OPS_HOST: '127.0.0.1',
        OPS_PORT: '0',
        WORKER_CONCURRENCY: '2',
      },
    });
    await worker.waitFor('worker started', (_, entry) => entry?.msg === 'Calseta worker started', 60_000);

    // Grouped at once: the payload is built from the alerts as they are (enrichment may still run).
    const ids: number[] = [];
    for (const payload of CHAIN.slice(0, 2)) ids.push((await t.ingest(payload)).id);

    // The first request is held open; the worker is killed while it waits for the answer.
    let release: (status: number) => void = () => {};
    t.endpoint.respond('crash-agent', (seen) =>
      seen === 0 ? new Promise<number>((resolve) => (release = resolve)) : 200,
    );
    const change = await t.group(ids);
    expect((await dispatchIncidentUpdates(contextFor(t.h.deps, SYSTEM), { changes: [change] })).scheduled).toBe(1);
    const first = await t.endpoint.next((r) => r.path === '/crash-agent');
    // The claim's lease: without knowing the process is gone, nobody could retry before it ends.
    const [claim] = await t.h.query<{ next_attempt_at: Date }>(
      'SELECT next_attempt_at FROM incident_deliveries WHERE incident_id = $1',
      [change.incidentId],
    );
    await worker.stop('SIGKILL');
    release(0);

    // Another worker takes over: the job of the dead process is retried, its claim re-taken at once.
    await t.h.startWorker();
    const again = await t.endpoint.next((r) => r.path === '/crash-agent' && r !== first);
    const rows = await waitFinished(change.incidentId);
    expect(rows).toHaveLength(1);
    const row = rows[0] as DeliveryRow;
    expect(row).toMatchObject({ revision: 1, status: 'delivered', attempt_count: 1 });
    expect(again.at.getTime()).toBeLessThan(new Date(claim?.next_attempt_at as Date).getTime());
    // The killed attempt was never recorded; the one that answered was, once.
    expect(row.attempts.map((a) => a.status_code)).toEqual([200]);
    expect(again.headers['idempotency-key']).toBe(first.headers['idempotency-key']);
    expect(again.headers['x-calseta-delivery']).toBe(first.headers['x-calseta-delivery']);
    expect(again.headers['idempotency-key']).toBe(row.idempotency_key);
    expect(verifySignature(agent.signing_secret, again)).toBe(true);
    // What a deduplicating receiver keeps: one delivery of revision 1.
    const keys = t.endpoint.received.filter((r) => r.path === '/crash-agent').map((r) => r.headers['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(new Set(keys).size).toBe(1);
  }, 120_000);

  async function waitFinished(id: number): Promise<DeliveryRow[]> {
    for (;;) {
      const next = t.h.nextJob((o) => o.name === 'deliver-incident');
      const rows = await t.deliveries(id, agent.uuid);
      if (rows.length > 0 && rows.every((r) => ['delivered', 'failed'].includes(r.status))) return rows;
      await next;
    }
  }
});

describe('with correlation: an identity compromise chain and unrelated noise', () => {
  const t = setup();

  beforeAll(async () => {
    await t.start();
    t.h.deps.config.incidents = { debounceSeconds: 1 };
    await t.h.startWorker();
  }, 60_000);
  afterAll(async () => {
    await t.h?.close();
    await t.endpoint?.close();
  });

  it('the agent gets the incident once per revision, every chain alert named once, never the noise', async () => {
    const agent = await t.registerAgent('soc-agent', { delivery_mode: 'incident' });
    const ctx = contextFor(t.h.deps, SYSTEM);
    const noise = {
      title: 'Printer offline on floor 3',
      severity: 'Low',
      rule_id: 'itops-printer',
      src_ip: '198.51.100.23',
      user: 'facilities@contoso.example',
    };
    const chain: string[] = [];
    let noiseUuid = '';
    // As the pipeline does after each enrichment: correlate, then hand the changes to delivery.
    for (const payload of [CHAIN[0], noise, CHAIN[1], CHAIN[2], CHAIN[3]]) {
      const enriched = t.h.nextJob((o) => o.name === 'enrich-alert');
      const alert = await t.ingest(payload);
      await enriched;
      if (payload === noise) noiseUuid = alert.uuid;
      else chain.push(alert.uuid);
      await dispatchIncidentUpdates(ctx, await correlateAlerts(ctx, [alert.id]));
    }
    const [incident] = await t.h.query<{ id: number; alert_count: number }>(
      `SELECT i.id, i.alert_count FROM incidents i JOIN incident_alerts m ON m.incident_id = i.id
       JOIN alerts a ON a.id = m.alert_id WHERE a.uuid = $1`,
      [chain[0]],
    );
    expect(incident?.alert_count).toBe(4);
    const rows = await (async () => {
      for (;;) {
        const next = t.h.nextJob((o) => o.name === 'deliver-incident');
        const found = await t.deliveries(Number(incident?.id), agent.uuid);
        const covered = new Set(found.flatMap((r) => r.alert_ids.map(Number)));
        if (covered.size === 4 && found.every((r) => r.status === 'delivered')) return found;
        await next;
      }
    })();
    // Fewer deliveries than alerts: the opening one, then debounced updates.
    expect(rows.length).toBeLessThan(4);
    const got = t.endpoint.received.filter((r) => r.path === '/soc-agent');
    expect(got.map((r) => r.headers['idempotency-key'])).toEqual(rows.map((r) => r.idempotency_key));
    expect(got.map((r) => r.headers['x-calseta-event'])).toEqual(
      rows.map((_, i) => (i === 0 ? 'incident.opened' : 'incident.updated')),
    );
    for (const r of got) {
      expect(verifySignature(agent.signing_secret, r)).toBe(true);
      expect(IncidentPayloadSchema.parse(r.json)).toEqual(r.json);
    }
    const named = got.flatMap((r) => r.json.changes.added_alerts as string[]);
    expect(named.sort()).toEqual([...chain].sort());
    expect(JSON.stringify(got.map((r) => r.json))).not.toContain(noiseUuid);
    // The shared account and address are stated once, as shared entities, in the last revision.
    const last = got.at(-1)?.json;
    const shared = last.shared_entities.map((e: { type: string; value: string }) => `${e.type}:${e.value}`);
    expect(shared).toEqual(expect.arrayContaining(['ip:185.220.101.45']));
    expect(last.incident.alert_count).toBe(4);
    expect(last.token_count).toBeLessThanOrEqual(4_000);
  });
});
