/**
 * Errors of the outbound HTTP client. Deliberately independent of `ServiceError`: callers decide
 * what a refused or failed outbound call means for their operation.
 */

/** The target is not allowed by the outbound policy (scheme, hostname, resolved address, redirect). */
export class OutboundBlockedError extends Error {
  readonly code = 'SSRF_BLOCKED';
  /** Human-readable, e.g. "Blocked loopback address 127.0.0.1". */
  readonly reason: string;
  /** The hostname refused (as parsed from the URL; '' when there was none). Never the full URL. */
  readonly host: string;

  constructor(reason: string, host: string) {
    super(`Outbound request refused: ${reason}`);
    this.name = 'OutboundBlockedError';
    this.reason = reason;
    this.host = host;
  }
}

export type OutboundFailure = 'timeout' | 'aborted' | 'too_large' | 'too_many_redirects' | 'network';

/** The request was allowed but did not complete. */
export class OutboundRequestError extends Error {
  readonly code = 'OUTBOUND_REQUEST_FAILED';
  readonly kind: OutboundFailure;

  constructor(kind: OutboundFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'OutboundRequestError';
    this.kind = kind;
  }
}
