import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentPayloadDoc } from '@calseta/schema';
import { type CalsetaActions, handleAlert, type Outcome } from './act.js';
import type { LlmOptions } from './triage.js';

/** Deliveries signed longer ago than this are refused (replays). */
const TOLERANCE_SECONDS = 300;
/** Idempotency keys remembered (a real agent keeps them in its own database). */
const REMEMBERED_KEYS = 10_000;
const MAX_BODY_BYTES = 5 * 1024 * 1024;

/** `v1=HMAC-SHA256(secret, "<timestamp>.<raw body>")`, compared in constant time, timestamp fresh. */
export function verifySignature(
  secret: string,
  timestamp: string | undefined,
  signature: string | undefined,
  rawBody: Buffer,
  nowSeconds = Date.now() / 1000,
): boolean {
  const ts = Number(timestamp);
  if (!timestamp || !Number.isInteger(ts) || Math.abs(nowSeconds - ts) > TOLERANCE_SECONDS) return false;
  const expected = Buffer.from(
    `v1=${createHmac('sha256', secret).update(`${timestamp}.`).update(rawBody).digest('hex')}`,
  );
  const given = Buffer.from(signature ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

async function readBody(req: IncomingMessage): Promise<Buffer | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return null;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

export interface WebhookAgentOptions {
  /** The agent's signing secret, returned once by `POST /v1/agents`. */
  signingSecret: string;
  calseta: CalsetaActions;
  llm?: LlmOptions;
  port?: number;
  host?: string;
  /** Called after each alert is handled (or fails): logging, tests. */
  onOutcome?: (outcome: Outcome | { alert_uuid: string; error: string }) => void;
}

export interface WebhookAgent {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * The agent's webhook endpoint: verify, deduplicate on `Idempotency-Key`, answer 202 at once (so a
 * slow model never makes Calseta retry), then triage and act in the background.
 */
export async function startWebhookAgent(options: WebhookAgentOptions): Promise<WebhookAgent> {
  const seen = new Set<string>();
  const server = createServer(async (req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    };
    if (req.method !== 'POST') return reply(405, { error: 'POST only' });
    const raw = await readBody(req);
    if (raw === null) return reply(413, { error: 'too large' });
    const header = (name: string) => req.headers[name] as string | undefined;
    if (!verifySignature(options.signingSecret, header('x-calseta-timestamp'), header('x-calseta-signature'), raw)) {
      return reply(401, { error: 'bad signature' });
    }
    if (header('x-calseta-event') === 'agent.test') return reply(200, { ok: true, test: true });
    const key = header('idempotency-key') ?? '';
    if (seen.has(key)) return reply(200, { ok: true, duplicate: true });
    seen.add(key);
    if (seen.size > REMEMBERED_KEYS) seen.delete(seen.values().next().value as string);
    let payload: AgentPayloadDoc;
    try {
      payload = JSON.parse(raw.toString('utf8')) as AgentPayloadDoc;
    } catch {
      return reply(400, { error: 'not JSON' });
    }
    reply(202, { accepted: true });
    const alertUuid = String(payload.alert?.uuid);
    try {
      options.onOutcome?.(await handleAlert(payload, options.calseta, options.llm));
    } catch (error) {
      seen.delete(key); // a redelivery (same key) may try again
      options.onOutcome?.({ alert_uuid: alertUuid, error: error instanceof Error ? error.message : String(error) });
    }
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}/calseta`,
    server,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
