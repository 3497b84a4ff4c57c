import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { correlateAlerts, createAgent, ingestAlert, tokensOf, updateCorrelationConfig } from '@calseta/core';
import { startWorker } from '@calseta/worker';
import { startDemoCore } from './lib/demo-core.js';
import { type Cleanup, runMeasured, writeResult } from './lib/stack.js';
import { fmt, LatencyRecorder, table } from './lib/stats.js';

export const description =
  'incidents: alert storms + noise → incidents, deliveries and tokens per storm, correlation cost';

const HELP = `Usage: pnpm bench incidents [--storms 3] [--storm-size 40] [--noise 60] [--debounce 3]

  --storms      storms of related alerts (identity compromise chains), default 3
  --storm-size  alerts per storm, default 40
  --noise       unrelated alerts mixed in, default 60
  --debounce    seconds an incident update waits for more alerts (INCIDENT_DEBOUNCE_SECONDS), default 3
  --show        print the last incident payload the incident agent received`;

interface Options {
  storms: number;
  stormSize: number;
  noise: number;
  debounce: number;
  show: boolean;
}

function parse(args: string[]): Options | 'help' {
  const { values } = parseArgs({
    args,
    options: {
      storms: { type: 'string' },
      'storm-size': { type: 'string' },
      noise: { type: 'string' },
      debounce: { type: 'string' },
      show: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) return 'help';
  const int = (value: string | undefined, fallback: number, min: number, name: string) => {
    const n = Number(value ?? fallback);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} is an integer >= ${min}`);
    return n;
  };
  return {
    storms: int(values.storms, 3, 1, 'storms'),
    stormSize: int(values['storm-size'], 40, 2, 'storm-size'),
    noise: int(values.noise, 60, 0, 'noise'),
    debounce: int(values.debounce, 3, 0, 'debounce'),
    show: values.show ?? false,
  };
}

/** The stages of an identity compromise, in the order an intrusion fires them. */
const CHAIN = [
  { title: 'Brute force against Entra ID: failed sign-ins', rule_id: 'idp-bruteforce', severity: 'Medium' },
  { title: 'Successful sign-in from a TOR exit node', rule_id: 'idp-tor-signin', severity: 'High' },
  { title: 'MFA push spam: repeated denied prompts', rule_id: 'idp-mfa-fatigue', severity: 'High' },
  { title: 'Inbox rule forwards mail to an external address', rule_id: 'm365-inbox-forward', severity: 'High' },
  { title: 'Mass download from SharePoint', rule_id: 'spo-mass-download', severity: 'High' },
] as const;

/** Alert `i` of storm `s`: the storm's attacker address and account; a stage of the chain; its own counters. */
function stormAlert(s: number, i: number): Record<string, unknown> {
  const stage = CHAIN[i % CHAIN.length] as (typeof CHAIN)[number];
  return {
    ...stage,
    rule_name: stage.title,
    occurred_at: new Date(Date.now() - (1_000 - i) * 1_000).toISOString(),
    src_ip: `185.220.101.${10 + s}`,
    user: `victim${s}@contoso.example`,
    event_count: 5 + ((i * 37) % 200),
    app: i % 2 === 0 ? 'Office 365 Exchange Online' : 'Microsoft SharePoint Online',
  };
}

/** Noise alert `n`: its own rule, address, account and host — related to nothing. */
function noiseAlert(n: number): Record<string, unknown> {
  return {
    title: `Endpoint health check failed on host ${n}`,
    rule_id: `itops-${n % 17}`,
    rule_name: `IT operations check ${n % 17}`,
    severity: 'Low',
    occurred_at: new Date(Date.now() - (2_000 - n) * 1_000).toISOString(),
    src_ip: `45.${33 + (n % 50)}.${(n * 7) % 250}.${1 + (n % 240)}`,
    user: `employee${n}@contoso.example`,
    hostname: `laptop-${n}.contoso.example`,
  };
}

/** A local agent endpoint: per path, the bodies received (o200k tokens of each) and their idempotency keys. */
async function startReceiver(cleanup: Cleanup) {
  const got = new Map<string, Array<{ tokens: number; key: string; event: string; body: string }>>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const list = got.get(req.url ?? '/') ?? [];
      list.push({
        tokens: tokensOf(body),
        key: String(req.headers['idempotency-key']),
        event: String(req.headers['x-calseta-event']),
        body,
      });
      got.set(req.url ?? '/', list);
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  cleanup.destroyers.unshift(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { host: `127.0.0.1:${(server.address() as AddressInfo).port}`, got };
}

async function measure(options: Options, cleanup: Cleanup): Promise<number> {
  const startedAt = new Date();
  const receiver = await startReceiver(cleanup);
  const { db, deps, ctx, queue } = await startDemoCore(cleanup, 'incidents', {
    allowHosts: [receiver.host],
    config: {
      encryptionKey: Buffer.alloc(32, 7).toString('base64'),
      agentDispatch: { retryBaseSeconds: 0 },
      incidents: { debounceSeconds: options.debounce },
    },
  });
  await createAgent(ctx, { name: 'per-alert', endpoint_url: `http://${receiver.host}/alert` });
  await createAgent(ctx, {
    name: 'per-incident',
    endpoint_url: `http://${receiver.host}/incident`,
    delivery_mode: 'incident',
  });

  // Enrichment jobs completed, by alert id: the pipeline correlates each alert and schedules its
  // incident deliveries before the job completes (pipeline/correlate-committed.ts).
  const enrichedIds = new Set<number>();
  const enrichWaiters: Array<{ ids: readonly number[]; resolve: () => void }> = [];
  queue.events.on('completed', (job: { name: string; data: unknown }) => {
    if (job.name !== 'enrich-alert') return;
    enrichedIds.add((job.data as { alert_id: number }).alert_id);
    for (const w of [...enrichWaiters]) {
      if (w.ids.every((id) => enrichedIds.has(id))) {
        enrichWaiters.splice(enrichWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  const enriched = (ids: readonly number[]) =>
    ids.every((id) => enrichedIds.has(id))
      ? Promise.resolve()
      : new Promise<void>((resolve) => enrichWaiters.push({ ids, resolve }));
  await startWorker(deps, 4);

  /** The storms' alerts interleaved with the noise, in occurrence order; `offset` makes another set. */
  const planOf = (offset: number) => {
    const plan: Array<{ storm: number | null; payload: Record<string, unknown> }> = [];
    const noisePerStep = Math.ceil(options.noise / options.stormSize);
    let noise = 0;
    for (let i = 0; i < options.stormSize; i++) {
      for (let s = 0; s < options.storms; s++) plan.push({ storm: s, payload: stormAlert(s + offset, i) });
      for (let k = 0; k < noisePerStep && noise < options.noise; k++, noise++) {
        plan.push({ storm: null, payload: noiseAlert(noise + offset * 1_000) });
      }
    }
    return plan;
  };
  const ingestAll = async (plan: ReturnType<typeof planOf>) => {
    const ingested: Array<{ id: number; uuid: string; storm: number | null }> = [];
    for (const item of plan) {
      const accepted = await ingestAlert(ctx, { sourceName: 'generic', payload: item.payload });
      const row = await db
        .selectFrom('alerts')
        .select('id')
        .where('uuid', '=', accepted.alert_uuid)
        .executeTakeFirstOrThrow();
      ingested.push({ id: Number(row.id), uuid: accepted.alert_uuid, storm: item.storm });
    }
    await enriched(ingested.map((a) => a.id));
    return ingested;
  };

  // Phase 1, as it runs: ingest, enrich, correlate and deliver in the worker.
  const plan = planOf(0);
  const t0 = performance.now();
  const phase1 = await ingestAll(plan);
  const alertStorm = new Map(phase1.map((a) => [a.uuid, a.storm]));
  const pipelineSeconds = (performance.now() - t0) / 1000;

  // Settled: no incident delivery scheduled or in flight, no alert delivery unfinished.
  const settled = async () => {
    const [pending] = await db
      .selectFrom('incident_delivery_cursors')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('due_at', 'is not', null)
      .execute();
    const [open] = await db
      .selectFrom('incident_deliveries')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('status', 'not in', ['delivered', 'failed', 'cancelled'])
      .execute();
    const [runs] = await db
      .selectFrom('agent_runs')
      .select((eb) => eb.fn.countAll<string>().as('n'))
      .where('status', 'not in', ['delivered', 'failed', 'cancelled'])
      .execute();
    return Number(pending?.n) + Number(open?.n) + Number(runs?.n) === 0;
  };
  while (!(await settled())) {
    await new Promise<void>((resolve) => {
      const done = (job: { name: string }) => {
        if (!['deliver-incident', 'dispatch-agent', 'enrich-alert'].includes(job.name)) return;
        queue.events.off('completed', done);
        resolve();
      };
      queue.events.on('completed', done);
    });
  }

  // Where each alert went.
  const members = await db
    .selectFrom('incident_alerts')
    .innerJoin('alerts', 'alerts.id', 'incident_alerts.alert_id')
    .select(['alerts.uuid', 'incident_alerts.incident_id'])
    .execute();
  const incidentOf = new Map(members.map((m) => [m.uuid, Number(m.incident_id)]));
  const incidents = new Set(incidentOf.values());
  const noiseMerged = [...alertStorm].filter(([uuid, storm]) => storm === null && incidentOf.has(uuid)).length;
  const deliveries = await db
    .selectFrom('incident_deliveries')
    .select(['incident_id', 'revision', 'token_count', 'status', 'idempotency_key'])
    .execute();
  const alertRuns = await db
    .selectFrom('agent_runs')
    .innerJoin('alerts', 'alerts.id', 'agent_runs.alert_id')
    .select(['alerts.uuid', 'agent_runs.request_payload', 'agent_runs.status'])
    .execute();
  const alertTokens = new Map(alertRuns.map((r) => [r.uuid, tokensOf(r.request_payload ?? '')]));

  interface StormRow {
    storm: number;
    alerts: number;
    incidents: number;
    inIncident: number;
    alertDeliveries: number;
    alertTokens: number;
    incidentDeliveries: number;
    incidentTokens: number;
  }
  const rows: StormRow[] = [];
  for (let s = 0; s < options.storms; s++) {
    const uuids = [...alertStorm].filter(([, storm]) => storm === s).map(([uuid]) => uuid);
    const ids = new Set(uuids.flatMap((u) => (incidentOf.has(u) ? [incidentOf.get(u) as number] : [])));
    const mine = deliveries.filter((d) => ids.has(Number(d.incident_id)));
    rows.push({
      storm: s + 1,
      alerts: uuids.length,
      incidents: ids.size,
      inIncident: uuids.filter((u) => incidentOf.has(u)).length,
      alertDeliveries: uuids.filter((u) => alertTokens.has(u)).length,
      alertTokens: uuids.reduce((n, u) => n + (alertTokens.get(u) ?? 0), 0),
      incidentDeliveries: mine.length,
      incidentTokens: mine.reduce((n, d) => n + (d.token_count ?? 0), 0),
    });
  }
  const received = receiver.got.get('/incident') ?? [];
  const duplicateKeys = received.length - new Set(received.map((r) => r.key)).size;

  // Phase 2, correlation's cost: another set of storms and noise ingested and enriched with correlation
  // off, then correlated one alert per call (each its own transaction: the pipeline batches up to 50,
  // so this is the upper bound per alert), on a handle that counts the statements it sends.
  await updateCorrelationConfig(ctx, { enabled: false });
  const phase2 = await ingestAll(planOf(options.storms));
  await updateCorrelationConfig(ctx, { enabled: true });
  let statements = 0;
  const counter: Parameters<typeof db.withPlugin>[0] = {
    transformQuery: (args) => {
      statements++;
      return args.node;
    },
    transformResult: async (args) => args.result,
  };
  const counted = { ...ctx, db: db.withPlugin(counter) };
  const correlationMs = new LatencyRecorder();
  const statementsPerAlert: number[] = [];
  for (const alert of phase2.sort((x, y) => x.id - y.id)) {
    const before = statements;
    const started = performance.now();
    await correlateAlerts(counted, [alert.id]);
    correlationMs.record(performance.now() - started);
    statementsPerAlert.push(statements - before);
  }
  const cost = correlationMs.summary();
  const meanStatements = statementsPerAlert.reduce((a, b) => a + b, 0) / Math.max(1, statementsPerAlert.length);
  const maxStatements = Math.max(0, ...statementsPerAlert);

  if (options.show && received.length > 0) {
    process.stdout.write(`${JSON.stringify(JSON.parse((received.at(-1) as { body: string }).body), null, 2)}\n`);
  }
  process.stdout.write(
    `\n${table([
      [
        'storm',
        'alerts',
        'incidents',
        'alerts in one',
        'per-alert deliveries',
        'tokens (per alert)',
        'incident deliveries',
        'tokens (per incident)',
        'ratio',
      ],
      ...rows.map((r) => [
        String(r.storm),
        String(r.alerts),
        String(r.incidents),
        `${r.inIncident}/${r.alerts}`,
        String(r.alertDeliveries),
        fmt(r.alertTokens, 0),
        String(r.incidentDeliveries),
        fmt(r.incidentTokens, 0),
        r.incidentTokens === 0 ? 'n/a' : `${fmt(r.alertTokens / r.incidentTokens, 1)}x`,
      ]),
    ])}\n`,
  );
  const perAlertMean =
    rows.reduce((n, r) => n + r.alertTokens, 0) /
    Math.max(
      1,
      rows.reduce((n, r) => n + r.alerts, 0),
    );
  process.stdout.write(
    [
      '',
      `alerts ingested            ${plan.length} (${options.storms} storms × ${options.stormSize}, ${options.noise} noise) in ${fmt(pipelineSeconds, 1)} s`,
      `incidents formed           ${incidents.size} (storms: ${options.storms}); noise alerts merged into one: ${noiseMerged}`,
      `agent tokens per alert     ${fmt(perAlertMean, 0)} on average (per-alert agent)`,
      `incident deliveries        ${deliveries.length} (${deliveries.filter((d) => d.status === 'delivered').length} delivered), duplicate keys received: ${duplicateKeys}`,
      `correlation per alert      (${phase2.length} more alerts, one call each) p50 ${fmt(cost.p50, 1)} ms, p90 ${fmt(cost.p90, 1)} ms, p99 ${fmt(cost.p99, 1)} ms, max ${fmt(cost.max, 1)} ms; statements mean ${fmt(meanStatements, 1)}, max ${maxStatements}`,
      '',
    ].join('\n'),
  );
  const file = writeResult('incidents', startedAt, {
    startedAt,
    options,
    storms: rows,
    incidents: incidents.size,
    noiseMerged,
    deliveries: deliveries.length,
    duplicateKeys,
    correlation: { alerts: phase2.length, ms: cost, statementsMean: meanStatements, statementsMax: maxStatements },
    pipelineSeconds,
  });
  process.stdout.write(`Result written to ${file}\n`);
  return 0;
}

export function run(args: string[]): Promise<number> {
  return runMeasured(args, parse, HELP, 'the incidents benchmark', measure);
}
