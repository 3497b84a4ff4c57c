import { OPS_DEFAULT_PORTS, opsEnvShape, ProcessEnvSchema, parseProcessEnv, TracingEnvSchema } from '@calseta/core';
import { z } from 'zod';

/** The worker's configuration: the only place that reads process.env. */
const EnvSchema = ProcessEnvSchema.extend({
  // OTEL_*: traces, off unless an OTLP endpoint is set (core's infra/telemetry/tracing.ts).
  ...TracingEnvSchema.shape,
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(200).default(64),
  // OPS_HOST, OPS_PORT: /metrics, /health/live and /health/ready (the worker's only port; docs/operations.md).
  ...opsEnvShape(OPS_DEFAULT_PORTS.worker),
});
export type Env = ReturnType<typeof loadEnv>;

export function loadEnv(source: NodeJS.ProcessEnv = process.env) {
  return parseProcessEnv(EnvSchema, source, 'worker');
}
