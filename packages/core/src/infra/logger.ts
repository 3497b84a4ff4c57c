import { type Logger, pino } from 'pino';
import { traceLogFields } from './telemetry/tracing.js';

export type { Logger };

/** Field names whose values never reach a log line (credentials, signatures, key material). */
const SECRET_FIELDS = [
  'authorization',
  'cookie',
  'password',
  'secret',
  'token',
  'api_key',
  'apikey',
  'key',
  'auth_config',
  'auth_header_value',
  'webhook_secret',
  'signing_secret',
  'client_secret',
  'access_token',
  'refresh_token',
  'private_key',
  'encryption_key',
  'decide_token',
  '"x-calseta-signature"',
  '"x-sentinel-signature"',
  '"x-elastic-signature"',
  '"x-splunk-webhook-secret"',
  '"x-slack-signature"',
];

/**
 * Redacted at the top level and up to three levels down (`headers.authorization`,
 * `body.auth_config`, `req.headers.authorization`, `input.provider.auth_config`).
 */
const REDACT = SECRET_FIELDS.flatMap((field) => {
  const tail = field.startsWith('"') ? `[${field}]` : `.${field}`;
  const top = field.startsWith('"') ? `[${field}]` : field;
  return [top, `*${tail}`, `*.*${tail}`, `*.*.*${tail}`];
});

export interface LoggerOptions {
  service: 'api' | 'worker' | 'cli' | 'mcp' | 'test';
  level?: string;
  /**
   * Where lines go; stderr when stdout is a protocol channel (MCP over stdio), or a sink (tests).
   * Default stdout.
   */
  destination?: 'stdout' | 'stderr' | { write(line: string): void };
}

export function createLogger({ service, level = 'info', destination = 'stdout' }: LoggerOptions): Logger {
  const options = {
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[REDACTED]' },
    // A line written inside a span names its trace (trace_id, span_id): logs and traces join up.
    mixin: traceLogFields,
  };
  if (typeof destination === 'object') return pino(options, destination);
  return destination === 'stderr' ? pino(options, pino.destination({ dest: 2, sync: true })) : pino(options);
}
