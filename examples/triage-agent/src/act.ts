import type { AgentPayloadDoc } from '@calseta/schema';
import { type LlmOptions, llmTriage, type Triage, triage } from './triage.js';

/** What the agent did with one alert. */
export interface Outcome {
  alert_uuid: string;
  triage: Triage;
  finding_posted: boolean;
  /** The workflow execution's answer (a queued run, or pending approval), when it acted. */
  workflow?: { status: string; uuid: string };
}

/** The two ways back into Calseta: REST calls, or MCP tool calls. */
export interface CalsetaActions {
  postFinding(
    alertUuid: string,
    finding: { summary: string; confidence: string; recommended_action: string },
  ): Promise<void>;
  executeWorkflow(input: {
    workflow_uuid: string;
    indicator_type: string;
    indicator_value: string;
    alert_uuid: string;
    reason: string;
    confidence: number;
  }): Promise<{ status: string; uuid: string }>;
}

const CONFIDENCE = { low: 0.3, medium: 0.6, high: 0.9 } as const;

/** Triage one payload, post the finding, and run the containment workflow when the verdict warrants it. */
export async function handleAlert(
  payload: AgentPayloadDoc,
  calseta: CalsetaActions,
  llm?: LlmOptions,
): Promise<Outcome> {
  const alertUuid = String(payload.alert.uuid);
  const result = llm ? await llmTriage(payload, llm) : triage(payload);
  await calseta.postFinding(alertUuid, {
    summary: `[${result.verdict}] ${result.summary}`,
    confidence: result.confidence,
    recommended_action: result.recommended_action,
  });
  const outcome: Outcome = { alert_uuid: alertUuid, triage: result, finding_posted: true };
  if (result.verdict === 'malicious' && result.act) {
    outcome.workflow = await calseta.executeWorkflow({
      workflow_uuid: result.act.workflow_uuid,
      indicator_type: result.act.indicator_type,
      indicator_value: result.act.indicator_value,
      alert_uuid: alertUuid,
      reason: result.summary.slice(0, 1000),
      confidence: CONFIDENCE[result.confidence],
    });
  }
  return outcome;
}

/** Calseta's REST API as the agent's hands (an agent key with alerts:write and workflows:execute). */
export function restActions(apiUrl: string, apiKey: string, agentName: string): CalsetaActions {
  const call = async (path: string, body: unknown) => {
    const res = await fetch(new URL(path, apiUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as { data?: Record<string, unknown>; error?: { code: string; message: string } };
    if (!res.ok) throw new Error(`${path}: ${res.status} ${json.error?.code}: ${json.error?.message}`);
    return json.data ?? {};
  };
  return {
    async postFinding(alertUuid, finding) {
      await call(`/v1/alerts/${alertUuid}/findings`, { agent_name: agentName, ...finding });
    },
    async executeWorkflow({ workflow_uuid, ...input }) {
      const data = await call(`/v1/workflows/${workflow_uuid}/execute`, input);
      return data.status === 'pending_approval'
        ? { status: 'pending_approval', uuid: String(data.approval_request_uuid) }
        : { status: String(data.status), uuid: String(data.uuid) };
    },
  };
}
