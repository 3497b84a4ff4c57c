/** The agent's configuration: the only place that reads process.env. */
export interface AgentEnv {
  apiUrl: string;
  mcpUrl: string;
  apiKey: string;
  signingSecret: string | undefined;
  port: number;
  agentName: string;
  anthropicApiKey: string | undefined;
  anthropicBaseUrl: string | undefined;
}

export function loadEnv(source: NodeJS.ProcessEnv = process.env): AgentEnv {
  const apiKey = source.CALSETA_API_KEY;
  if (!apiKey) throw new Error('CALSETA_API_KEY is required (an agent key with alerts:write and workflows:execute).');
  return {
    apiUrl: source.CALSETA_API_URL ?? 'http://localhost:8000',
    mcpUrl: source.CALSETA_MCP_URL ?? 'http://localhost:8001/mcp',
    apiKey,
    signingSecret: source.CALSETA_SIGNING_SECRET,
    port: Number(source.PORT ?? 9000),
    agentName: source.AGENT_NAME ?? 'example-triage-agent',
    anthropicApiKey: source.ANTHROPIC_API_KEY || undefined,
    anthropicBaseUrl: source.ANTHROPIC_BASE_URL || undefined,
  };
}
