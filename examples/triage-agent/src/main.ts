#!/usr/bin/env node
import { restActions } from './act.js';
import { loadEnv } from './env.js';
import { startMcpAgent } from './mcp.js';
// `tsx src/main.ts webhook` — receive signed deliveries on PORT (register http://<host>:PORT/calseta
//   as the agent's endpoint_url and put its signing secret in CALSETA_SIGNING_SECRET).
// `tsx src/main.ts mcp` — the same agent over MCP (CALSETA_MCP_URL), woken by subscriptions.
import type { LlmOptions } from './triage.js';
import { startWebhookAgent } from './webhook.js';

const env = loadEnv();
const mode = process.argv[2];
const llm: LlmOptions | undefined = env.anthropicApiKey
  ? { apiKey: env.anthropicApiKey, ...(env.anthropicBaseUrl && { baseUrl: env.anthropicBaseUrl }) }
  : undefined;
const log = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);
process.stdout.write(
  `triage: ${llm ? 'Claude (rules as fallback)' : 'deterministic rules (set ANTHROPIC_API_KEY for a model)'}\n`,
);

if (mode === 'webhook') {
  if (!env.signingSecret)
    throw new Error('CALSETA_SIGNING_SECRET is required: the agent signing secret from POST /v1/agents.');
  const agent = await startWebhookAgent({
    signingSecret: env.signingSecret,
    calseta: restActions(env.apiUrl, env.apiKey, env.agentName),
    ...(llm && { llm }),
    port: env.port,
    host: '0.0.0.0',
    onOutcome: log,
  });
  process.stdout.write(`listening on ${agent.url.replace('0.0.0.0', 'localhost')}\n`);
} else if (mode === 'mcp') {
  const agent = await startMcpAgent({
    url: env.mcpUrl,
    apiKey: env.apiKey,
    agentName: env.agentName,
    ...(llm && { llm }),
    onOutcome: log,
  });
  process.stdout.write(`connected to ${env.mcpUrl}; subscribed to calseta://alerts\n`);
  await agent.sweep();
} else {
  process.stderr.write('usage: main.ts webhook | mcp\n');
  process.exitCode = 2;
}
