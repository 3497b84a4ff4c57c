import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHarness, type Harness } from './harness.js';

const VALID = `export async function run(ctx) {
  ctx.log.info('checking', { value: ctx.indicator.value });
  return WorkflowResult.ok('done', { value: ctx.indicator.value });
}`;
const INVALID = `import fetch from 'node-fetch';
export async function run(ctx) {
  return WorkflowResult.ok('done');
}`;

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: {
    model: string;
    max_tokens: number;
    system: string;
    messages: Array<{ role: string; content: string }>;
  };
}

/** A local stand-in for the Anthropic Messages API: answers the scripted texts in order. */
async function startAnthropic() {
  const received: Received[] = [];
  const answers: Array<{ status?: number; text: string }> = [];
  const server = createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk) => {
      raw += chunk;
    });
    req.on('end', () => {
      received.push({ headers: req.headers, body: JSON.parse(raw) });
      const next = answers.shift() ?? { text: 'no answer scripted' };
      const status = next.status ?? 200;
      res.writeHead(status, { 'content-type': 'application/json' }).end(
        JSON.stringify(
          status === 200
            ? {
                id: 'msg_test',
                type: 'message',
                role: 'assistant',
                model: 'claude-test',
                content: [{ type: 'text', text: next.text }],
                stop_reason: 'end_turn',
              }
            : { type: 'error', error: { type: 'overloaded_error', message: next.text } },
        ),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, received, answers, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const fenced = (code: string) => `Here is the workflow:\n\n\`\`\`javascript\n${code}\n\`\`\`\n`;

describe('POST /v1/workflows/generate', () => {
  let h: Harness;
  let anthropic: Awaited<ReturnType<typeof startAnthropic>>;

  beforeAll(async () => {
    anthropic = await startAnthropic();
    h = await createHarness({ allowHosts: [anthropic.host] });
  });
  afterAll(async () => {
    await h.close();
    await anthropic.close();
  });
  beforeEach(() => {
    anthropic.received.length = 0;
    anthropic.answers.length = 0;
    h.deps.config.generation = {
      anthropicApiKey: 'sk-ant-test',
      anthropicBaseUrl: `http://${anthropic.host}`,
      model: 'claude-test-model',
    };
  });

  it('without ANTHROPIC_API_KEY: 400 GENERATION_NOT_CONFIGURED', async () => {
    h.deps.config.generation = {};
    const res = await h.request('POST', '/v1/workflows/generate', { json: { description: 'block an IP' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('GENERATION_NOT_CONFIGURED');
    expect(res.body.error.message).toMatch(/ANTHROPIC_API_KEY/);
    expect(anthropic.received).toHaveLength(0);
  });

  it('returns valid generated code (not saved), calling the Messages API as documented', async () => {
    anthropic.answers.push({ text: fenced(VALID) });
    const before = await h.query<{ n: number }>('SELECT count(*)::int AS n FROM workflows');
    const res = await h.request('POST', '/v1/workflows/generate', {
      json: { description: 'Log the indicator and succeed', indicator_types: ['ip', 'domain'], name: 'Logger' },
    });
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual({
      code: `${VALID}\n`,
      validation: { ok: true, errors: [] },
      model: 'claude-test-model',
    });
    expect(anthropic.received).toHaveLength(1);
    const [call] = anthropic.received;
    expect(call?.headers['x-api-key']).toBe('sk-ant-test');
    expect(call?.headers['anthropic-version']).toBe('2023-06-01');
    expect(call?.body.model).toBe('claude-test-model');
    expect(call?.body.max_tokens).toBe(4096);
    expect(call?.body.system).toMatch(/ctx\.integrations\.okta/);
    expect(call?.body.system).toMatch(/WorkflowResult\.ok/);
    expect(call?.body.messages).toHaveLength(1);
    expect(call?.body.messages[0]?.content).toMatch(/Log the indicator and succeed/);
    expect(call?.body.messages[0]?.content).toMatch(/ip, domain/);
    expect(call?.body.messages[0]?.content).toMatch(/"Logger"/);
    const after = await h.query<{ n: number }>('SELECT count(*)::int AS n FROM workflows');
    expect(after[0]?.n).toBe(before[0]?.n);
  });

  it('retries once with the validation errors when the first code is invalid', async () => {
    anthropic.answers.push({ text: fenced(INVALID) }, { text: fenced(VALID) });
    const res = await h.request('POST', '/v1/workflows/generate', { json: { description: 'anything' } });
    expect(res.status).toBe(200);
    expect(res.body.data.validation).toEqual({ ok: true, errors: [] });
    expect(res.body.data.code).toBe(`${VALID}\n`);
    expect(anthropic.received).toHaveLength(2);
    const retry = anthropic.received[1]?.body.messages ?? [];
    expect(retry.map((m) => m.role)).toEqual(['user', 'assistant', 'user']);
    expect(retry[1]?.content).toContain("import fetch from 'node-fetch'");
    expect(retry[2]?.content).toMatch(/Line 1, column 1: .*import/i);
  });

  it('returns the code with its errors when the retry is invalid too', async () => {
    anthropic.answers.push({ text: fenced(INVALID) }, { text: INVALID });
    const res = await h.request('POST', '/v1/workflows/generate', { json: { description: 'anything' } });
    expect(res.status).toBe(200);
    expect(res.body.data.validation.ok).toBe(false);
    expect(res.body.data.validation.errors[0]).toMatchObject({ line: 1, column: 1 });
    expect(res.body.data.code).toBe(`${INVALID}\n`);
    expect(anthropic.received).toHaveLength(2);
  });

  it('an Anthropic error is a 503; workflows:write is required; the body is validated', async () => {
    anthropic.answers.push({ status: 529, text: 'Overloaded' });
    const failed = await h.request('POST', '/v1/workflows/generate', { json: { description: 'anything' } });
    expect(failed.status).toBe(503);
    expect(failed.body.error.message).toMatch(/HTTP 529: Overloaded/);
    const key = await h.createKey({ scopes: ['workflows:read'] });
    expect((await h.request('POST', '/v1/workflows/generate', { key, json: { description: 'x' } })).status).toBe(403);
    expect((await h.request('POST', '/v1/workflows/generate', { json: {} })).status).toBe(422);
  });
});
