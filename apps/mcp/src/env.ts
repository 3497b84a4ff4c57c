import {
  GateEnvSchema,
  OPS_DEFAULT_PORTS,
  opsEnvShape,
  ProcessEnvSchema,
  parseProcessEnv,
  TracingEnvSchema,
} from '@calseta/core';
import { z } from 'zod';

/** The MCP server's configuration: the only place that reads process.env. */
const EnvSchema = ProcessEnvSchema.extend({
  // Rate limits and trusted proxies: the API's settings, applied to the same per-key buckets.
  ...GateEnvSchema.shape,
  // OTEL_*: traces, off unless an OTLP endpoint is set (core's infra/telemetry/tracing.ts).
  ...TracingEnvSchema.shape,
  // OPS_HOST, OPS_PORT: /metrics, /health/live and /health/ready on a port of their own (docs/operations.md).
  ...opsEnvShape(OPS_DEFAULT_PORTS.mcp),
  MCP_HOST: z.string().default('0.0.0.0'),
  MCP_PORT: z.coerce.number().int().min(0).max(65535).default(8001),
  /** Sessions held at once (the least recently used is closed beyond it). */
  MCP_MAX_SESSIONS: z.coerce.number().int().min(1).default(1000),
  /** A session without subscriptions closes after this many idle minutes. */
  MCP_SESSION_IDLE_MINUTES: z.coerce.number().int().min(1).default(30),
  /** Largest JSON-RPC request body accepted (MiB). */
  MCP_MAX_BODY_SIZE_MB: z.coerce.number().positive().default(1),
});
export type Env = ReturnType<typeof loadEnv>;

export function loadEnv(source: NodeJS.ProcessEnv = process.env) {
  return parseProcessEnv(EnvSchema, source, 'MCP');
}
