import type { CalsetaPlugin } from '@calseta/plugin-sdk';
import type { WorkflowApproval } from '@calseta/schema';
import type { HostIntegration } from '@calseta/workflow-sandbox';
import type { BuiltinProvider } from './enrichment/builtin-auth.js';
import type { SafeFetch } from './http/safe-fetch.js';

/**
 * The ports through which core reaches integrations: it never imports one (first-party ones included).
 * Each app's composition root fills them (`firstParty` from `@calseta/integrations`); every vendor
 * client makes its requests through the SSRF-guarded client core hands it, never a raw fetch.
 */

export type ApprovalEvent = 'requested' | 'decided' | 'expired' | 'executed';

/** The message of one chat system (an approval's `notifier_type`); core posts it to the admin-configured webhook. */
export interface ApprovalNotifier {
  message(
    approval: WorkflowApproval,
    event: ApprovalEvent,
    options: { link?: string | undefined; buttons: boolean },
  ): Record<string, unknown>;
}

/** Workflow generation settings (`ANTHROPIC_*`). */
export interface GenerationConfig {
  anthropicApiKey?: string | undefined;
  anthropicBaseUrl?: string;
  model?: string;
}

/** One configured code model. `complete` rejects with a message for the caller (`upstreamStatus` when the service answered an error). */
export interface WorkflowModel {
  readonly model: string;
  complete(request: {
    system: string;
    messages: ReadonlyArray<{ role: 'user' | 'assistant'; content: string }>;
    maxTokens: number;
  }): Promise<string>;
}

export interface WorkflowModelConnector {
  /** The model `config` names, or null when it is not configured (no key). */
  connect(fetch: SafeFetch, config: GenerationConfig): WorkflowModel | null;
}

/** `ctx.integrations.<name>` of workflow code; the enrichment provider of that name holds its credentials. */
export interface WorkflowIntegration {
  readonly name: string;
  /** The test endpoint's no-op client has exactly these methods. */
  readonly methods: readonly string[];
  /** What a no-op call answers per method (default null). */
  readonly testResults?: Readonly<Record<string, unknown>>;
  /** A live client from the provider's resolved credentials, or null when they are incomplete. */
  connect(fetch: SafeFetch, auth: Readonly<Record<string, string>>): HostIntegration | null;
}

/** What a composition root hands `createCore` besides configuration. */
export interface Integrations {
  /** Their sources are registered like the `CALSETA_PLUGINS` ones, before them (providers: `builtinProviders`). */
  plugins: readonly CalsetaPlugin[];
  /** Seeded as `is_builtin` providers; their env variables are the only non-`CALSETA_PROVIDER_*` ones providers read. */
  builtinProviders: readonly BuiltinProvider[];
  /** By `notifier_type` (`slack`, `teams`); an approval whose notifier is missing here is not sent. */
  approvalNotifiers: Readonly<Record<string, ApprovalNotifier>>;
  /** Absent: workflow generation answers GENERATION_NOT_CONFIGURED. */
  workflowModel?: WorkflowModelConnector;
  workflowIntegrations: readonly WorkflowIntegration[];
}

/** No integrations at all (tests of core alone). */
export const NO_INTEGRATIONS: Integrations = Object.freeze({
  plugins: [],
  builtinProviders: [],
  approvalNotifiers: {},
  workflowIntegrations: [],
});
