export type { OutboundFailure } from './errors.js';
export { OutboundBlockedError, OutboundRequestError } from './errors.js';
export type { OutboundPolicy } from './policy.js';
export { DEFAULT_OUTBOUND_POLICY, isBlockedAddress, outboundPolicy } from './policy.js';
export type {
  LookupAddress,
  LookupPort,
  SafeFetch,
  SafeFetchOptions,
  SafeRequestInit,
  SafeResponse,
} from './safe-fetch.js';
export { checkOutboundUrl, createSafeFetch, systemLookup } from './safe-fetch.js';
