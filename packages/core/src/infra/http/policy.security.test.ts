/**
 * Audit finding (Low): one `SSRF_ALLOWED_HOSTS` served every outbound purpose, and an allow-listed
 * host skipped the cloud-metadata block. Now each purpose has its own list, and the metadata
 * endpoints and link-local addresses are refused whatever any list says.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProcessEnvSchema, parseProcessEnv, sharedCoreConfig } from '../../config.js';
import { OutboundBlockedError } from './errors.js';
import { checkUrl, compile, OUTBOUND_PURPOSES, outboundPolicy, policyFor } from './policy.js';
import { createSafeFetch, type LookupPort } from './safe-fetch.js';

const METADATA_HOSTS = [
  '169.254.169.254',
  '169.254.170.2',
  '169.254.10.10', // any link-local
  '100.100.100.200',
  '[fd00:ec2::254]',
  '[fe80::1]',
  '[::ffff:169.254.169.254]',
  'metadata.google.internal',
];

describe('allow-listed metadata and link-local hosts', () => {
  it.each(METADATA_HOSTS)('%s stays blocked when allow-listed (host, host:port and CIDR)', (host) => {
    const bare = host.replace(/^\[|\]$/g, '');
    const policy = compile(
      outboundPolicy({
        allowHosts: [host, `${host}:80`],
        allowCidrs: ['169.254.0.0/16', '100.64.0.0/10', 'fd00::/8', 'fe80::/10'],
      }),
    );
    expect(() => checkUrl(policy, `http://${host}/latest/meta-data/`), bare).toThrow(OutboundBlockedError);
  });

  it('an allow-listed name resolving to the metadata address is refused at connect time', async () => {
    const lookup: LookupPort = async () => [{ address: '169.254.169.254', family: 4 }];
    const fetch = createSafeFetch({ allowHosts: ['intel.example'], timeoutMs: 2_000 }, { lookup });
    try {
      const error = await fetch('http://intel.example/latest/meta-data/').then(
        () => null,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(OutboundBlockedError);
      expect((error as OutboundBlockedError).reason).toMatch(/metadata address 169\.254\.169\.254/);
    } finally {
      await fetch.close();
    }
  });
});

describe('per-purpose allow-lists', () => {
  let server: http.Server;
  let origin: string;
  let hits = 0;

  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      hits += 1;
      res.end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('a host opened for one purpose is reachable by that purpose only; the shared list still serves all', async () => {
    const host = new URL(origin).host;
    for (const purpose of OUTBOUND_PURPOSES) {
      const env = parseProcessEnv(
        ProcessEnvSchema,
        { DATABASE_URL: 'postgres://x', [`SSRF_ALLOWED_HOSTS_${purpose.toUpperCase()}`]: host },
        'test',
      );
      const outbound = sharedCoreConfig(env).outbound ?? {};
      for (const other of OUTBOUND_PURPOSES) {
        const fetch = createSafeFetch({ ...policyFor(outbound, other), timeoutMs: 2_000 });
        try {
          const before = hits;
          const outcome = await fetch(`${origin}/`).then(
            async (r) => `status ${r.status} ${await r.text()}`,
            (e: unknown) => (e instanceof OutboundBlockedError ? 'blocked' : String(e)),
          );
          expect(outcome, `${purpose} list, ${other} client`).toBe(
            other === purpose ? 'status 200 {"ok":true}' : 'blocked',
          );
          expect(hits - before).toBe(other === purpose ? 1 : 0);
        } finally {
          await fetch.close();
        }
      }
    }
    const shared = sharedCoreConfig(
      parseProcessEnv(ProcessEnvSchema, { DATABASE_URL: 'postgres://x', SSRF_ALLOWED_HOSTS: host }, 'test'),
    ).outbound;
    for (const purpose of OUTBOUND_PURPOSES) {
      expect(() => checkUrl(compile(outboundPolicy(policyFor(shared ?? {}, purpose))), `${origin}/`)).not.toThrow();
    }
  });
});
