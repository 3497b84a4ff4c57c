import type {
  DetectionRuleRef,
  ExtractedIndicator,
  IndicatorType,
  NormalizedAlert,
  NormalizedAlertInput,
} from '@calseta/schema';

/** One problem found in a source payload; `path` is a dotted path into the payload. */
export interface PayloadIssue {
  path: string;
  message: string;
}

export type ValidationResult = { ok: true } | { ok: false; issues: PayloadIssue[] };

/** A webhook request as a source plugin sees it for signature checks. Header names are lowercase. */
export interface WebhookRequest {
  headers: Readonly<Record<string, string>>;
  rawBody: Uint8Array;
  /** The secret configured for this source (from the source's encrypted auth config or env). */
  secret: string;
}

/** A field a plugin extracts indicators from, documented for the UI and `source-plugin-fields`. */
export interface DocumentedExtraction {
  field_path: string;
  indicator_type: IndicatorType;
  description: string;
}

/**
 * The contract of an alert source: every first-party source and every community plugin implements
 * exactly this. All methods are pure and synchronous; none may throw for any JSON input (core still
 * isolates them, but a throwing plugin is a bug).
 */
export interface AlertSource {
  /** URL-safe id used in `POST /v1/ingest/{name}`: `^[a-z0-9][a-z0-9_-]{0,62}$`. */
  readonly name: string;
  readonly displayName: string;
  /** Accept or reject a parsed JSON payload, saying why when rejected. */
  validate(raw: unknown): ValidationResult;
  /** Map a payload that passed `validate` to the agent-native alert. */
  normalize(raw: unknown): NormalizedAlertInput;
  /** Pass 1 of indicator extraction: indicators this source knows how to find in its own payload. */
  extractIndicators(raw: unknown): ExtractedIndicator[];
  /** The detection rule that fired, when the payload names one. */
  detectionRule?(raw: unknown): DetectionRuleRef | null;
  /**
   * Verify a webhook's authenticity. Called only when a secret is configured for the source;
   * must compare in constant time.
   */
  verifySignature?(request: WebhookRequest): boolean;
  /** The fields `extractIndicators` reads, for documentation and the mapping UI. */
  readonly documentedExtractions: readonly DocumentedExtraction[];
}

const SOURCE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Declare an alert source. Checks the static parts of the contract once, at definition time. */
export function defineAlertSource(source: AlertSource): AlertSource {
  if (!SOURCE_NAME.test(source.name)) {
    throw new TypeError(`Alert source name "${source.name}" must match ${SOURCE_NAME}`);
  }
  if (!source.displayName.trim()) {
    throw new TypeError(`Alert source "${source.name}" needs a displayName`);
  }
  return Object.freeze({ ...source });
}

export type { DetectionRuleRef, ExtractedIndicator, NormalizedAlert, NormalizedAlertInput };
