import type { AgentPayloadDoc } from '@calseta/schema';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ResourceUpdatedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { type CalsetaActions, handleAlert, type Outcome } from './act.js';
import type { LlmOptions } from './triage.js';

export interface McpAgentOptions {
  /** `http://localhost:8001/mcp` */
  url: string;
  apiKey: string;
  agentName?: string;
  llm?: LlmOptions;
  /** Token budget of the payloads it asks for. */
  tokenBudget?: number;
  onOutcome?: (outcome: Outcome | { alert_uuid: string; error: string }) => void;
}

export interface McpAgent {
  client: Client;
  /** Triage the enriched alerts that have no finding of this agent yet; resolves when done. */
  sweep(): Promise<Outcome[]>;
  close(): Promise<void>;
}

/** A tool's structured answer, or the tool error as an exception. */
async function tool<T>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const result = await client.callTool({ name, arguments: args });
  if (result.isError) {
    const [first] = (result.content ?? []) as { text?: string }[];
    throw new Error(`${name}: ${first?.text ?? 'failed'}`);
  }
  return result.structuredContent as T;
}

/**
 * The same agent over MCP: it subscribes to `calseta://alerts`, and each time the server says an
 * alert was enriched it sweeps the recent enriched alerts it has not triaged yet — payload via
 * `get_alert_context`, finding via `post_alert_finding`, action via `execute_workflow`.
 */
export async function startMcpAgent(options: McpAgentOptions): Promise<McpAgent> {
  const agentName = options.agentName ?? 'example-triage-agent';
  const client = new Client({ name: agentName, version: '0.1.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(options.url), {
      requestInit: { headers: { authorization: `Bearer ${options.apiKey}` } },
    }),
  );
  const actions: CalsetaActions = {
    async postFinding(alertUuid, finding) {
      await tool(client, 'post_alert_finding', { alert_uuid: alertUuid, agent_name: agentName, ...finding });
    },
    async executeWorkflow({ workflow_uuid, ...input }) {
      const answer = await tool<{
        outcome: string;
        run: { uuid: string; status: string } | null;
        approval: { approval_request_uuid: string } | null;
      }>(client, 'execute_workflow', { workflow_uuid, ...input });
      return answer.approval
        ? { status: 'pending_approval', uuid: answer.approval.approval_request_uuid }
        : { status: String(answer.run?.status), uuid: String(answer.run?.uuid) };
    },
  };

  const handled = new Set<string>();
  let running: Promise<Outcome[]> | null = null;
  let again = false;
  const sweepOnce = async (): Promise<Outcome[]> => {
    const { alerts } = await tool<{ alerts: { uuid: string }[] }>(client, 'search_alerts', {
      enrichment_status: 'Enriched,Partial,Failed,Skipped',
      sort_by: 'created_at',
      sort_order: 'desc',
      page_size: 20,
    });
    const outcomes: Outcome[] = [];
    for (const { uuid } of alerts) {
      if (handled.has(uuid)) continue;
      handled.add(uuid);
      try {
        const payload = await tool<AgentPayloadDoc>(client, 'get_alert_context', {
          alert_uuid: uuid,
          ...(options.tokenBudget && { token_budget: options.tokenBudget }),
        });
        const outcome = await handleAlert(payload, actions, options.llm);
        outcomes.push(outcome);
        options.onOutcome?.(outcome);
      } catch (error) {
        handled.delete(uuid);
        options.onOutcome?.({ alert_uuid: uuid, error: error instanceof Error ? error.message : String(error) });
      }
    }
    return outcomes;
  };
  /** One sweep at a time; a notification during a sweep runs one more afterwards. */
  const sweep = (): Promise<Outcome[]> => {
    if (running) {
      again = true;
      return running;
    }
    running = sweepOnce().finally(() => {
      running = null;
      if (again) {
        again = false;
        void sweep();
      }
    });
    return running;
  };

  client.setNotificationHandler(ResourceUpdatedNotificationSchema, ({ params }) => {
    if (params.uri === 'calseta://alerts') void sweep();
  });
  await client.subscribeResource({ uri: 'calseta://alerts' });
  return { client, sweep, close: () => client.close() };
}
