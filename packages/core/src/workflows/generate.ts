/**
 * `POST /v1/workflows/generate`: ask Claude (Anthropic Messages API) for workflow code from a
 * description, validate it with `validateWorkflowCode` (one corrective retry feeding the errors
 * back) and return it unsaved. Needs `ANTHROPIC_API_KEY` (else `GENERATION_NOT_CONFIGURED`); the
 * call goes through the SSRF-guarded workflow client (a local stand-in must be allow-listed).
 */

import { type WorkflowGenerateInput, type WorkflowGenerateResult, WorkflowGenerateSchema } from '@calseta/schema';
import { formatValidationError, type ValidationResult, validateWorkflowCode } from '@calseta/workflow-sandbox';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../context.js';
import { ServiceError } from '../errors.js';

const DEFAULT_BASE_URL = 'https://api.anthropic.com';
const DEFAULT_MODEL = 'claude-sonnet-4-6';
const TIMEOUT_MS = 60_000;
const MAX_TOKENS = 4096;

export const GENERATE_SYSTEM_PROMPT = `You write Calseta workflows: JavaScript ES modules run in a QuickJS sandbox against one indicator (IP, domain, hash, URL, email, account) during a security investigation.

Contract:
- Export the entry point: \`export async function run(ctx) { ... }\`. It must return \`WorkflowResult.ok(message, data)\` on success or \`WorkflowResult.fail(message, data)\` on a failure the workflow decides. \`WorkflowResult\` is a global; \`data\` is any JSON value.
- \`ctx.indicator\`: \`{ uuid, type, value, malice, is_enriched, enrichment_results, first_seen, last_seen }\` (read-only). \`ctx.alert\`: \`{ uuid, title, severity, source_name, status, occurred_at, tags }\` or null.
- \`ctx.http.get/post/put/patch/delete(url, options?)\`; options: \`headers\` (object), \`params\` (object), \`json\` (any value, sent as JSON) or \`body\` (string). \`ctx.http.request({ method, url, ...options })\` for other methods. The response is \`{ status, ok, headers, text, json() }\`; non-2xx statuses do not throw; network/SSRF refusals throw \`HttpError\`.
- \`ctx.log(message, extra?)\` and \`ctx.log.debug/info/warn/error(message, extra?)\`.
- \`ctx.secrets.get(name)\` returns a secret declared on the workflow, or undefined. Never hard-code credentials; read them from secrets and fail with a clear message when missing.
- \`ctx.integrations.okta\` (methods revokeSessions, suspendUser, unsuspendUser, resetPassword, expirePassword — each takes the user's login) and \`ctx.integrations.entra\` (revokeSessions, disableAccount, enableAccount, resetMfa — each takes the user principal name); each is null when not configured: check before use.

Forbidden (validation rejects them): import/require/dynamic import(), export ... from, fetch, setTimeout and other timers, eval, Function, globalThis, global, window, self, process, module, exports, __proto__, x.constructor.constructor, with.

Wrap network calls in try/catch and return WorkflowResult.fail with the error message. Keep the code short and readable.

Answer with only the complete workflow code in one \`\`\`javascript fenced block, no explanation.`;

function userPrompt(data: WorkflowGenerateInput): string {
  return [
    `Write a Calseta workflow${data.name ? ` named "${data.name}"` : ''}.`,
    `Indicator types: ${data.indicator_types?.length ? data.indicator_types.join(', ') : 'any'}.`,
    '',
    'What it should do:',
    data.description,
  ].join('\n');
}

/** The code in the model's answer: the first fenced block (one with `run` preferred), else the whole text. */
export function extractCode(text: string): string {
  const blocks = [...text.matchAll(/```[\w-]*[ \t]*\r?\n([\s\S]*?)```/g)].map((m) => m[1] ?? '');
  const code = blocks.find((b) => /\bfunction\s+run\b|\brun\s*=/.test(b)) ?? blocks[0] ?? text;
  return `${code.trim()}\n`;
}

type Message = { role: 'user' | 'assistant'; content: string };

async function askClaude(
  ctx: ServiceContext,
  settings: { key: string; baseUrl: string; model: string },
  messages: Message[],
): Promise<string> {
  const response = await ctx
    .workflowFetch(`${settings.baseUrl.replace(/\/+$/, '')}/v1/messages`, {
      method: 'POST',
      headers: {
        'x-api-key': settings.key,
        'anthropic-version': '2023-06-01',
        'content-type': 'application/json',
        accept: 'application/json',
      },
      body: JSON.stringify({
        model: settings.model,
        max_tokens: MAX_TOKENS,
        system: GENERATE_SYSTEM_PROMPT,
        messages,
      }),
      timeoutMs: TIMEOUT_MS,
    })
    .catch((error: unknown) => {
      throw new ServiceError(
        'SERVICE_UNAVAILABLE',
        `The Anthropic API could not be reached: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
  type Answer = { content?: Array<{ type?: string; text?: string }>; error?: { message?: string } };
  const body = (await response.json().catch(() => null)) as Answer | null;
  if (!response.ok) {
    throw new ServiceError(
      'SERVICE_UNAVAILABLE',
      `The Anthropic API answered HTTP ${response.status}${body?.error?.message ? `: ${body.error.message}` : ''}`,
      { upstream_status: response.status },
    );
  }
  const text = (body?.content ?? [])
    .filter((b) => b.type === 'text' && typeof b.text === 'string')
    .map((b) => b.text)
    .join('\n');
  if (!text.trim()) throw new ServiceError('SERVICE_UNAVAILABLE', 'The Anthropic API answered without text.');
  return text;
}

function validationOf(result: ValidationResult): WorkflowGenerateResult['validation'] {
  return result.ok ? { ok: true, errors: [] } : { ok: false, errors: result.errors };
}

/** Generate (not save) workflow code from a description. */
export async function generateWorkflow(
  ctx: ServiceContext,
  input: WorkflowGenerateInput,
): Promise<WorkflowGenerateResult> {
  authorize(ctx, 'workflows:write');
  const data = WorkflowGenerateSchema.parse(input);
  const config = ctx.config.generation ?? {};
  if (!config.anthropicApiKey) {
    throw new ServiceError(
      'GENERATION_NOT_CONFIGURED',
      'Workflow generation is not configured: set ANTHROPIC_API_KEY (optionally ANTHROPIC_MODEL, ANTHROPIC_BASE_URL) and restart.',
    );
  }
  const settings = {
    key: config.anthropicApiKey,
    baseUrl: config.anthropicBaseUrl ?? DEFAULT_BASE_URL,
    model: config.model ?? DEFAULT_MODEL,
  };
  const messages: Message[] = [{ role: 'user', content: userPrompt(data) }];
  const first = await askClaude(ctx, settings, messages);
  let code = extractCode(first);
  let result = validateWorkflowCode(code);
  if (!result.ok) {
    messages.push(
      { role: 'assistant', content: first },
      {
        role: 'user',
        content: `The code failed validation:\n${result.errors.map((e) => `- ${formatValidationError(e)}`).join('\n')}\n\nFix every problem and answer with the complete corrected code only, in one fenced block.`,
      },
    );
    code = extractCode(await askClaude(ctx, settings, messages));
    result = validateWorkflowCode(code);
  }
  return { code, validation: validationOf(result), model: settings.model };
}
