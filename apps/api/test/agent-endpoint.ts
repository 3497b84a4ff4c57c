/**
 * A real local agent endpoint for tests (deliveries per alert and per incident): records every
 * request, answers per path as `respond` says, and `next` resolves when a matching request has
 * arrived — no timers. `verifySignature` is what a receiver does (docs/agent-webhooks.md), written
 * here independently of core.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export function verifySignature(secret: string, r: Received): boolean {
  const ts = Number(r.headers['x-calseta-timestamp']);
  if (!Number.isInteger(ts) || Math.abs(Date.now() / 1000 - ts) > 300) return false;
  const expected = Buffer.from(`v1=${createHmac('sha256', secret).update(`${ts}.${r.body}`).digest('hex')}`);
  const given = Buffer.from(String(r.headers['x-calseta-signature'] ?? ''));
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  json: any;
  /** What the endpoint answered (0: connection dropped; -1: not yet). */
  answered: number;
  /** Requests to the same path before this one. */
  seen: number;
  at: Date;
}

/** Per path: a status, 0 to drop the connection, or a promise (an answer held back). */
export type Responder = (seen: number, got: Received) => number | Promise<number>;

/** A real agent endpoint; `next` resolves when a matching request has arrived (no timers). */
export async function startAgentEndpoint() {
  const received: Received[] = [];
  const responders = new Map<string, Responder>();
  const waiters: Array<{ match: (r: Received) => boolean; resolve: (r: Received) => void }> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const path = req.url ?? '/';
      const body = Buffer.concat(chunks).toString('utf8');
      let json: unknown = null;
      try {
        json = JSON.parse(body);
      } catch {
        // not JSON
      }
      const seen = received.filter((r) => r.path === path).length;
      const entry: Received = { path, headers: req.headers, body, json, answered: -1, seen, at: new Date() };
      received.push(entry);
      for (const w of [...waiters]) {
        if (w.match(entry)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(entry);
        }
      }
      const status = await (responders.get(path) ?? (() => 200))(seen, entry);
      entry.answered = status;
      if (status === 0) req.socket.destroy();
      else res.writeHead(status, { 'content-type': 'application/json' }).end('{"received":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    received,
    url: (path: string) => `http://${host}/${path}`,
    respond(path: string, responder: Responder) {
      responders.set(`/${path}`, responder);
    },
    next(match: (r: Received) => boolean): Promise<Received> {
      const found = received.find(match);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export type Endpoint = Awaited<ReturnType<typeof startAgentEndpoint>>;
