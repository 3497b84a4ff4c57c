import { ProcessEnvSchema, parseProcessEnv } from '@calseta/core';
import { z } from 'zod';

/** The MCP server's configuration: the only place that reads process.env. */
const EnvSchema = ProcessEnvSchema.extend({
  MCP_HOST: z.string().default('0.0.0.0'),
  MCP_PORT: z.coerce.number().int().min(0).max(65535).default(8001),
  /** Sessions held at once (the least recently used is closed beyond it). */
  MCP_MAX_SESSIONS: z.coerce.number().int().min(1).default(1000),
  /** A session without subscriptions closes after this many idle minutes. */
  MCP_SESSION_IDLE_MINUTES: z.coerce.number().int().min(1).default(30),
});
export type Env = ReturnType<typeof loadEnv>;

export function loadEnv(source: NodeJS.ProcessEnv = process.env) {
  return parseProcessEnv(EnvSchema, source, 'MCP');
}
