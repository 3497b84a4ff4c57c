import { type Logger, pino } from 'pino';

export type { Logger };

/** Keys whose values never reach a log line. */
const REDACT = [
  'authorization',
  '*.authorization',
  'req.headers.authorization',
  'headers.authorization',
  '*.password',
  '*.secret',
  '*.token',
  '*.api_key',
  '*.key',
  'key',
  'password',
  'secret',
  'token',
];

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
  };
  if (typeof destination === 'object') return pino(options, destination);
  return destination === 'stderr' ? pino(options, pino.destination({ dest: 2, sync: true })) : pino(options);
}
