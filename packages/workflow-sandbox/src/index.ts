/**
 * @calseta/workflow-sandbox — validates workflow JavaScript and runs it in QuickJS with hard limits.
 * Pure: no database, network or environment of its own; the host passes capabilities in (HTTP
 * client, declared secrets, integration clients). Named exports only.
 */

export type { BuiltinRiskLevel, BuiltinWorkflow } from './builtins.js';
export { BUILTIN_WORKFLOWS } from './builtins.js';
export type { LimitName, SandboxLimits } from './limits.js';
export { DEFAULT_LIMITS, MIN_MEMORY_BYTES, MIN_RUN_MEMORY_BYTES, resolveLimits } from './limits.js';
export type {
  HeadersLike,
  HostHttp,
  HostHttpOptions,
  HostHttpRequest,
  HostHttpResponse,
  HostIntegration,
  HttpMethod,
  JsonValue,
  LogEntry,
  LogLevel,
  RunInput,
  RunOutcome,
  RunStatus,
  Sandbox,
  SandboxOptions,
  WorkflowResultData,
} from './sandbox.js';
export { createSandbox, HTTP_METHODS, WATCHDOG_GRACE_MS } from './sandbox.js';
export type { ThreadedSandboxOptions } from './threads.js';
export { createThreadedSandbox, DEFAULT_RESOURCE_LIMITS, DEFAULT_TERMINATE_GRACE_MS } from './threads.js';
export type { ValidationError, ValidationResult } from './validate.js';
export {
  FORBIDDEN_IDENTIFIERS,
  FORBIDDEN_PROPERTIES,
  formatValidationError,
  MAX_CODE_BYTES,
  validateWorkflowCode,
} from './validate.js';
