import fs from 'node:fs/promises';
import path from 'node:path';
import {
  type CoreDeps,
  contextFor,
  createAgent,
  createApiKey,
  createWorkflow,
  listAgents,
  listWorkflows,
  rotateAgentSigningSecret,
  SYSTEM,
  updateAgent,
} from '@calseta/core';
import { type Outcome, restActions, startWebhookAgent, type WebhookAgent } from '@calseta/example-triage-agent';
import { seedDemo } from '@calseta/seeds';

export const DEMO_AGENT_NAME = 'demo-triage-agent';
export const DEMO_WORKFLOW_NAME = 'Block IP at the edge (demo)';
const DEMO_WORKFLOW_CODE = `export async function run(ctx) {
  // A real one would call the firewall's API with ctx.http and a declared secret.
  ctx.log.info('blocking', { ip: ctx.indicator.value });
  return WorkflowResult.ok('Blocked ' + ctx.indicator.value + ' at the edge (demo).', { ip: ctx.indicator.value });
}`;

export interface DemoAgent {
  agent: WebhookAgent;
  /** host:port the API and worker must be allowed to call (outbound policy). */
  host: string;
}

/**
 * The example triage agent, running inside `pnpm dev`: it listens on loopback; registering it and
 * seeding happen once the outbound policy knows its address (see `seedLivingDemo`).
 */
export async function startDemoAgent(
  apiUrl: string,
  agentKey: string,
  log: (line: string) => void,
): Promise<DemoAgent & { setSecret(secret: string): void }> {
  let secret = '';
  const agent = await startWebhookAgent({
    get signingSecret() {
      return secret;
    },
    calseta: restActions(apiUrl, agentKey, DEMO_AGENT_NAME),
    onOutcome: (o) => log(describe(o)),
  });
  return { agent, host: new URL(agent.url).host, setSecret: (s) => (secret = s) };
}

function describe(o: Outcome | { alert_uuid: string; error: string }): string {
  if ('error' in o) return `alert ${o.alert_uuid}: ${o.error}`;
  const acted = o.workflow
    ? `; ${o.triage.act?.workflow_name} on ${o.triage.act?.indicator_value}: ${o.workflow.status}`
    : '';
  return `alert ${o.alert_uuid}: ${o.triage.verdict} (${o.triage.confidence}), finding posted${acted}`;
}

/** The demo agent's API key: created once, kept in the data dir like the admin key. */
export async function ensureDemoAgentKey(deps: CoreDeps, dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'demo-agent-key');
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const { key } = await createApiKey(contextFor(deps, SYSTEM), {
    name: DEMO_AGENT_NAME,
    key_type: 'agent',
    scopes: ['alerts:read', 'alerts:write', 'workflows:execute'],
  });
  await fs.mkdir(dataDir, { recursive: true, mode: 0o700 });
  await fs.writeFile(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

/**
 * Register the demo agent at its current address (a new signing secret each start), make sure the
 * demo containment workflow exists, and on the first run seed the documented rules, runbooks and
 * the five case-study alerts through the normal pipeline — the worker enriches them through the
 * mock providers and delivers them to the agent, which posts findings and asks to block what is
 * malicious (approvals wait in the UI). `deps` must allow the agent's host (outbound policy).
 */
export async function seedLivingDemo(
  deps: CoreDeps,
  agentUrl: string,
  dataDir: string,
  /** Called with the agent's new signing secret before anything can be delivered to it. */
  useSigningSecret: (secret: string) => void,
): Promise<string | null> {
  const ctx = contextFor(deps, SYSTEM);
  const existing = (await listAgents(ctx, { page: 1, page_size: 500 })).items.find((a) => a.name === DEMO_AGENT_NAME);
  if (existing) {
    await updateAgent(ctx, { uuid: existing.uuid, patch: { endpoint_url: agentUrl, is_active: true } });
    useSigningSecret((await rotateAgentSigningSecret(ctx, { uuid: existing.uuid })).signing_secret);
  } else {
    const created = await createAgent(ctx, {
      name: DEMO_AGENT_NAME,
      endpoint_url: agentUrl,
      description: 'The example triage agent, run by pnpm dev.',
    });
    useSigningSecret(created.signing_secret);
  }
  const workflows = (await listWorkflows(ctx, { page: 1, page_size: 500 })).items;
  if (!workflows.some((w) => w.name === DEMO_WORKFLOW_NAME)) {
    await createWorkflow(ctx, {
      name: DEMO_WORKFLOW_NAME,
      indicator_types: ['ip'],
      code: DEMO_WORKFLOW_CODE,
      state: 'active',
      approval_mode: 'agent_only',
      risk_level: 'high',
      documentation: 'Demo containment: agents may ask for it; a human approves.',
    });
  }
  const marker = path.join(dataDir, 'demo-seeded');
  const firstRun = await fs.access(marker).then(
    () => false,
    () => true,
  );
  if (!firstRun) return null;
  const seeded = await seedDemo(deps);
  await fs.writeFile(marker, `${new Date().toISOString()}\n`);
  return seeded;
}
