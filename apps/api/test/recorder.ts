import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Recorded {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The body, parsed when it is JSON. */
  body: any;
  text: string;
}

export interface Recorder {
  /** `127.0.0.1:<port>`, for the harness's `allowHosts`. */
  host: string;
  url: string;
  received: Recorded[];
  /** Resolves with the first request (from index `from` on) that matches; waits on arrivals, never sleeps. */
  next(match?: (r: Recorded) => boolean, from?: number): Promise<Recorded>;
  close(): Promise<void>;
}

/**
 * A real HTTP server on 127.0.0.1 that answers 200 `ok` and records every request: a stand-in for a
 * Slack / Teams incoming webhook, an agent endpoint, or an attacker's server.
 */
export async function startRecorder(): Promise<Recorder> {
  const received: Recorded[] = [];
  const waiters: Array<() => void> = [];
  const server = createServer((req, res) => {
    let text = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      text += chunk;
    });
    req.on('end', () => {
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : null;
      } catch {
        // not JSON
      }
      received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body, text });
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
      for (const wake of waiters.splice(0)) wake();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: `http://${host}`,
    received,
    async next(match = () => true, from = 0) {
      for (;;) {
        const found = received.slice(from).find(match);
        if (found) return found;
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
