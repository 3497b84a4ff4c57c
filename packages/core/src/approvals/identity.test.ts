import { describe, expect, it } from 'vitest';
import type { AuthenticatedKey } from '../infra/context.js';
import { decisionRefusal, principalOf } from './identity.js';

const key = (uuid: string, keyType: 'human' | 'agent', prefix = 'cai_abcd'): AuthenticatedKey => ({
  id: 1,
  uuid,
  name: 'k',
  prefix,
  scopes: ['approvals:write'],
  keyType,
  allowedSources: null,
});

describe('who may decide an approval request', () => {
  const alice = principalOf({ type: 'api', key: key('a1', 'human') });
  const bob = principalOf({ type: 'mcp', key: key('b2', 'human', 'cai_bbbb') });
  const agent = principalOf({ type: 'api', key: key('c3', 'agent', 'cai_cccc') });

  it('names keys by uuid, whatever the transport', () => {
    expect(alice).toEqual({ id: 'api_key:a1', kind: 'person', keyPrefix: 'cai_abcd' });
    expect(principalOf({ type: 'system' })).toEqual({ id: 'system', kind: 'system' });
  });

  it('refuses agents and the requester; lets another person decide', () => {
    const byAlice = { requested_by: alice.id, trigger_agent_key_prefix: 'cai_abcd' };
    expect(decisionRefusal(byAlice, alice)).toBe('requester');
    expect(decisionRefusal(byAlice, agent)).toBe('agent');
    expect(decisionRefusal(byAlice, bob)).toBeNull();
    expect(decisionRefusal(byAlice, { id: 'slack:U1', kind: 'person' })).toBeNull();
  });

  it('falls back to the key prefix for requests stored without a requester', () => {
    expect(decisionRefusal({ trigger_agent_key_prefix: 'cai_abcd' }, alice)).toBe('requester');
    expect(decisionRefusal({ trigger_agent_key_prefix: 'cai_abcd' }, bob)).toBeNull();
    expect(decisionRefusal({ trigger_agent_key_prefix: 'cai_abcd' }, { id: 'browser', kind: 'person' })).toBeNull();
  });
});
