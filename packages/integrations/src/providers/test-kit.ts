import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CachePort, CoalescePort, HttpPort, RatePort } from '@calseta/enrichment-engine';

/**
 * Real-HTTP parts for the providers' tests: a server on 127.0.0.1 that records the paths it is asked
 * for, the engine's HTTP port over `fetch`, and pass-through cache/coalesce/rate ports.
 */
export interface RecordingServer {
  /** Every request path (with query) received, in order; tests may empty it. */
  readonly paths: string[];
  readonly base: string;
  close(): Promise<void>;
}

/** Answers each request with the JSON text `answer(path)` and records the path. */
export async function startRecordingServer(answer: (path: string) => string): Promise<RecordingServer> {
  const paths: string[] = [];
  const server = http.createServer((req, res) => {
    paths.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    res.end(answer(req.url ?? ''));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    paths,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export const fetchHttp: HttpPort = async (request) => {
  const response = await fetch(request.url, {
    method: request.method,
    headers: request.headers,
    ...(request.body === undefined ? {} : { body: request.body }),
    signal: request.signal,
  });
  return {
    status: response.status,
    headers: Object.fromEntries(response.headers),
    body: await response.text(),
    durationMs: 0,
  };
};

export const noCache: CachePort = { get: async () => undefined, set: async () => {} };
export const direct: CoalescePort = { run: (_key, work) => work() };
export const open: RatePort = { acquire: async () => ({ ok: true }), pause: async () => {} };
