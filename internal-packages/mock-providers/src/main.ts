/**
 * CLI: `tsx internal-packages/mock-providers/src/main.ts [flags]` — starts the mock provider server and
 * prints its URL and the base URL to use for each provider. Stops on SIGINT / SIGTERM.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { KNOWN_BAD, type MockProvidersServer, startMockProviders } from './index.js';
import type { MockProvidersOptions } from './types.js';

const USAGE = `Usage: mock-providers [flags]

  --port <n>                  port (default 8090; 0 = random)
  --host <addr>               bind address (default 127.0.0.1)
  --latency <ms|min-max>      delay every response, e.g. 50 or 20-120
  --error-rate <0..1>         share of requests answered 500 (evenly spread)
  --malformed-rate <0..1>     share of 200 responses with a truncated JSON body
  --rate-limit-every <n>      every Nth request to a provider → 429
  --rate-limit-per-minute <n> more than n requests/minute to a provider → 429
  --retry-after <s>           Retry-After seconds on 429s
  --virustotal-key <k>        require this x-apikey (default: any non-empty)
  --abuseipdb-key <k>         require this Key header
  --okta-token <t>            require this SSWS token
  --entra-client-secret <s>   require this client_secret (Graph then only accepts tokens it issued)
  -h, --help
`;

function num(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new Error(`--${name} expects a number, got "${text}"`);
  return n;
}

export function parseCliOptions(argv: string[]): MockProvidersOptions | 'help' {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      latency: { type: 'string' },
      'error-rate': { type: 'string' },
      'malformed-rate': { type: 'string' },
      'rate-limit-every': { type: 'string' },
      'rate-limit-per-minute': { type: 'string' },
      'retry-after': { type: 'string' },
      'virustotal-key': { type: 'string' },
      'abuseipdb-key': { type: 'string' },
      'okta-token': { type: 'string' },
      'entra-client-secret': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) return 'help';
  let latencyMs: MockProvidersOptions['latencyMs'];
  if (values.latency !== undefined) {
    const range = /^(\d+)-(\d+)$/.exec(values.latency);
    latencyMs = range ? { min: Number(range[1]), max: Number(range[2]) } : num('latency', values.latency);
  }
  const every = num('rate-limit-every', values['rate-limit-every']);
  const perMinute = num('rate-limit-per-minute', values['rate-limit-per-minute']);
  const retryAfterSeconds = num('retry-after', values['retry-after']);
  const apiKeys = {
    virustotal: values['virustotal-key'],
    abuseipdb: values['abuseipdb-key'],
    okta: values['okta-token'],
    entraClientSecret: values['entra-client-secret'],
  };
  return {
    port: num('port', values.port) ?? 8090,
    host: values.host ?? '127.0.0.1',
    latencyMs,
    errorRate: num('error-rate', values['error-rate']),
    malformedRate: num('malformed-rate', values['malformed-rate']),
    rateLimit: every !== undefined || perMinute !== undefined ? { every, perMinute, retryAfterSeconds } : undefined,
    apiKeys: Object.fromEntries(Object.entries(apiKeys).filter(([, v]) => v !== undefined)),
  };
}

/**
 * Runs the CLI with the given arguments (without the program name): prints the URLs and stops the
 * server on SIGINT / SIGTERM. Resolves to the running server, or undefined for --help / bad flags.
 */
export async function runMockProvidersCli(argv: string[]): Promise<MockProvidersServer | undefined> {
  let options: MockProvidersOptions | 'help';
  try {
    options = parseCliOptions(argv);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    process.exitCode = 2;
    return undefined;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return undefined;
  }
  const server = await startMockProviders(options);
  const b = server.baseUrls;
  const rows: [string, string, string][] = [
    ['virustotal', b.virustotal, 'https://www.virustotal.com'],
    ['abuseipdb', b.abuseipdb, 'https://api.abuseipdb.com'],
    ['okta', b.okta, 'https://<org>.okta.com'],
    ['entra login', b.entraLogin, 'https://login.microsoftonline.com'],
    ['graph', b.graph, 'https://graph.microsoft.com'],
  ];
  const width = Math.max(...rows.map(([, url]) => url.length));
  process.stdout.write(
    [
      `Mock providers listening on ${server.url}  (development, tests and benchmarks only)`,
      '',
      ...rows.map(([name, url, real]) => `  ${name.padEnd(12)}${url.padEnd(width + 2)}replaces ${real}`),
      '',
      `  control     ${server.url}/__mock/stats | /__mock/options | /__mock/reset`,
      `  try         curl -H 'x-apikey: any' ${b.virustotal}/api/v3/ip_addresses/${KNOWN_BAD.ip[1]}`,
      '',
    ].join('\n'),
  );
  const stop = () => {
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  return server;
}

// Run as a script only from this source file: bundled into the CLI, import.meta.url is the bundle's,
// which is also process.argv[1], and the CLI calls runMockProvidersCli itself.
const isScript =
  import.meta.url.endsWith('/src/main.ts') && import.meta.url === pathToFileURL(process.argv[1] ?? '').href;
if (isScript) {
  await runMockProvidersCli(process.argv.slice(2));
}
