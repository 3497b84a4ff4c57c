export type { OutboundFailure } from './errors.js';
export { OutboundBlockedError, OutboundRequestError } from './errors.js';
export type { OutboundConfig, OutboundPolicy, OutboundPurpose } from './policy.js';
export {
  DEFAULT_OUTBOUND_POLICY,
  isBlockedAddress,
  OUTBOUND_PURPOSES,
  outboundPolicy,
  policyFor,
} from './policy.js';
export type {
  LookupAddress,
  LookupPort,
  SafeFetch,
  SafeFetchOptions,
  SafeRequestInit,
  SafeResponse,
} from './safe-fetch.js';
export { checkOutboundUrl, createSafeFetch, systemLookup } from './safe-fetch.js';
