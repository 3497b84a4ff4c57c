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
}

export function createLogger({ service, level = 'info' }: LoggerOptions): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[REDACTED]' },
  });
}
