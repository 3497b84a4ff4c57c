import type { IncidentMembershipReason } from '@calseta/schema';
import { render, screen } from '@testing-library/react';
import { MemoryRouter } from 'react-router';
import { describe, expect, it } from 'vitest';
import { IDS } from '../test/incidents.js';
import { MembershipReason } from './incident-reason.js';

const reason: IncidentMembershipReason = {
  rule: 'shared_entity',
  entities: [
    { type: 'host', value: 'fin-ws-042' },
    { type: 'hash_sha256', value: 'ed01ebfbc9eb5bbea545af4d01bf5f1071661840480439c6e5babe8e080e41aa' },
  ],
  matched_alert_uuid: IDS.bruteForce,
  detection_rule_uuid: null,
  source_group: null,
  action: null,
  summary: 'Shares the host fin-ws-042 with the malware alert.',
};

describe('MembershipReason', () => {
  it('names the rule, the values the sentence leaves out, and the matched alert by title', () => {
    render(
      <MemoryRouter>
        <MembershipReason reason={reason} titles={new Map([[IDS.bruteForce, 'Malware Detection Alert']])} />
      </MemoryRouter>,
    );
    expect(screen.getByText('Shared entities')).toBeTruthy();
    expect(screen.getByText(/hash_sha256 ed01ebfb/)).toBeTruthy();
    expect(screen.queryByText('host fin-ws-042')).toBeNull(); // the sentence names it already
    expect(screen.getByRole('link', { name: 'Malware Detection Alert' }).getAttribute('href')).toBe(
      `/alerts/${IDS.bruteForce}`,
    );
  });

  it('an analyst move says so; a matched alert not on the page is named by its id', () => {
    render(
      <MemoryRouter>
        <MembershipReason
          reason={{ ...reason, rule: 'analyst', action: 'move', entities: [], summary: 'Moved here.' }}
        />
      </MemoryRouter>,
    );
    expect(screen.getByText('Analyst decision: move')).toBeTruthy();
    expect(screen.getByRole('link', { name: `alert ${IDS.bruteForce.slice(-12)}` })).toBeTruthy();
  });
});
