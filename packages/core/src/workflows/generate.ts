/**
 * `POST /v1/workflows/generate`: ask the code model behind the `workflowModel` port (first-party:
 * Claude through the Anthropic Messages API, in `@calseta/integrations`) for workflow code from a
 * description, validate it with `validateWorkflowCode` (one corrective retry feeding the errors
 * back) and return it unsaved. Needs `ANTHROPIC_API_KEY` (else `GENERATION_NOT_CONFIGURED`); the
 * model is handed the SSRF-guarded workflow client (a local stand-in must be allow-listed).
 */

import { type WorkflowGenerateInput, type WorkflowGenerateResult, WorkflowGenerateSchema } from '@calseta/schema';
import { formatValidationError, type ValidationResult, validateWorkflowCode } from '@calseta/workflow-sandbox';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';
import { ServiceError } from '../infra/errors.js';
import type { WorkflowModel } from '../infra/integrations.js';

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

/** One completion; whatever the model port rejects with is the service's unavailability, said as it said it. */
async function ask(model: WorkflowModel, messages: Message[]): Promise<string> {
  try {
    return await model.complete({ system: GENERATE_SYSTEM_PROMPT, messages, maxTokens: MAX_TOKENS });
  } catch (error) {
    const status = (error as { upstreamStatus?: unknown } | null)?.upstreamStatus;
    throw new ServiceError(
      'SERVICE_UNAVAILABLE',
      error instanceof Error ? error.message : String(error),
      typeof status === 'number' ? { upstream_status: status } : undefined,
    );
  }
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
  const model = ctx.integrations.workflowModel?.connect(ctx.workflowFetch, ctx.config.generation ?? {}) ?? null;
  if (model === null) {
    throw new ServiceError(
      'GENERATION_NOT_CONFIGURED',
      'Workflow generation is not configured: set ANTHROPIC_API_KEY (optionally ANTHROPIC_MODEL, ANTHROPIC_BASE_URL) and restart.',
    );
  }
  const messages: Message[] = [{ role: 'user', content: userPrompt(data) }];
  const first = await ask(model, messages);
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
    code = extractCode(await ask(model, messages));
    result = validateWorkflowCode(code);
  }
  return { code, validation: validationOf(result), model: model.model };
}
