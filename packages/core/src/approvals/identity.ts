import type { Actor } from '../infra/context.js';

/**
 * Who requests or decides an approval, as one stable identity. Today a caller is an API key
 * (`api_key:<uuid>`), a Slack user (`slack:<id>`) or the holder of a notification's browser link
 * (`browser`). When people sign in (a users table), a person becomes `user:<uuid>` and a key a
 * person owns resolves to that person here — so one person holding two keys is still one requester.
 */
export interface Principal {
  /** Compared for "the requester never decides"; recorded as `responder_id`. */
  id: string;
  /** Agents never decide; `system` is the process itself (seeders, the worker). */
  kind: 'person' | 'agent' | 'system';
  /** The key's prefix, to recognise requests stored before requesters had an identity. */
  keyPrefix?: string;
}

export function principalOf(actor: Actor): Principal {
  if (actor.type === 'system') return { id: 'system', kind: 'system' };
  const { key } = actor;
  // A person is one principal whatever they act through: their session or any key they own.
  if (key.user)
    return { id: `user:${key.user.uuid}`, kind: 'person', ...(key.id !== null && { keyPrefix: key.prefix }) };
  return {
    id: `api_key:${key.uuid}`,
    kind: key.keyType === 'agent' ? 'agent' : 'person',
    keyPrefix: key.prefix,
  };
}

/** What a request remembers of its requester (in `trigger_context`, plus the reference's prefix column). */
export interface Requester {
  /** `Principal.id`; absent on requests stored before it was recorded. */
  requested_by?: string | undefined;
  trigger_agent_key_prefix: string;
}

/**
 * Why `decider` may not decide this request, or null when it may. Agents never decide (a person
 * must); the requester never decides its own request. Requests without a recorded requester fall
 * back to the key prefix, which can only refuse too much, never too little.
 */
export function decisionRefusal(requester: Requester, decider: Principal): 'agent' | 'requester' | null {
  if (decider.kind === 'agent') return 'agent';
  if (requester.requested_by !== undefined) return requester.requested_by === decider.id ? 'requester' : null;
  return decider.keyPrefix !== undefined && decider.keyPrefix === requester.trigger_agent_key_prefix
    ? 'requester'
    : null;
}
