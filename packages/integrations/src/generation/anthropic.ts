import type { GuardedFetch } from '../fetch.js';

const DEFAULT_BASE_URL = 'https://api.anthropic.com';
const DEFAULT_MODEL = 'claude-sonnet-4-6';
const TIMEOUT_MS = 60_000;

/** The generation settings of core's configuration (`ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`, `ANTHROPIC_MODEL`). */
export interface GenerationSettings {
  anthropicApiKey?: string | undefined;
  anthropicBaseUrl?: string | undefined;
  model?: string | undefined;
}

export interface ModelMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface ModelRequest {
  system: string;
  messages: readonly ModelMessage[];
  maxTokens: number;
}

/** A failed completion: the message is shown to the caller; `upstreamStatus` when the service answered an error. */
export class ModelError extends Error {
  constructor(
    message: string,
    readonly upstreamStatus?: number,
  ) {
    super(message);
    this.name = 'ModelError';
  }
}

/** One configured model: its name (reported with the result) and a completion call. */
export interface WorkflowModel {
  readonly model: string;
  complete(request: ModelRequest): Promise<string>;
}

/** What a code model gives core (core's `WorkflowModelConnector` port): a model, or null when not configured. */
export interface WorkflowModelSpec {
  connect(http: GuardedFetch, settings: GenerationSettings): WorkflowModel | null;
}

/** Claude through the Anthropic Messages API (`POST /v1/messages`), over core's SSRF-guarded workflow client. */
export const anthropicWorkflowModel: WorkflowModelSpec = {
  connect(http, settings) {
    const key = settings.anthropicApiKey;
    if (!key) return null;
    const url = `${(settings.anthropicBaseUrl ?? DEFAULT_BASE_URL).replace(/\/+$/, '')}/v1/messages`;
    const model = settings.model ?? DEFAULT_MODEL;
    return {
      model,
      async complete({ system, messages, maxTokens }) {
        const response = await http(url, {
          method: 'POST',
          headers: {
            'x-api-key': key,
            'anthropic-version': '2023-06-01',
            'content-type': 'application/json',
            accept: 'application/json',
          },
          body: JSON.stringify({ model, max_tokens: maxTokens, system, messages }),
          timeoutMs: TIMEOUT_MS,
        }).catch((error: unknown) => {
          throw new ModelError(
            `The Anthropic API could not be reached: ${error instanceof Error ? error.message : String(error)}`,
          );
        });
        type Answer = { content?: Array<{ type?: string; text?: string }>; error?: { message?: string } };
        const body = (await response.json().catch(() => null)) as Answer | null;
        if (!response.ok) {
          throw new ModelError(
            `The Anthropic API answered HTTP ${response.status}${body?.error?.message ? `: ${body.error.message}` : ''}`,
            response.status,
          );
        }
        const text = (body?.content ?? [])
          .filter((b) => b.type === 'text' && typeof b.text === 'string')
          .map((b) => b.text)
          .join('\n');
        if (!text.trim()) throw new ModelError('The Anthropic API answered without text.');
        return text;
      },
    };
  },
};
