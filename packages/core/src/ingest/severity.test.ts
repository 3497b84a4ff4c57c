import type { NormalizedAlert } from '@calseta/schema';
import { describe, expect, it } from 'vitest';
import { settleSeverity } from './severity.js';

const alert = (over: Partial<NormalizedAlert>): NormalizedAlert => ({
  title: 'T',
  severity: 'Pending',
  occurred_at: null,
  source_name: 'x',
  description: null,
  tags: [],
  extra: {},
  ...over,
});

describe('settleSeverity', () => {
  it("keeps a plugin's mapped severity", () => {
    expect(settleSeverity(alert({ severity: 'High', severity_raw: 'high' }))).toEqual({
      severity: 'High',
      severity_raw: 'high',
      severity_unmapped: false,
    });
  });

  it('re-reads a raw value a plugin left at Pending (an older table), else flags it with the visible default', () => {
    expect(settleSeverity(alert({ severity_raw: 'crit' }))).toMatchObject({
      severity: 'Critical',
      severity_unmapped: false,
    });
    expect(settleSeverity(alert({ severity_raw: 'Sev-Purple' }))).toEqual({
      severity: 'Medium',
      severity_raw: 'Sev-Purple',
      severity_unmapped: true,
    });
  });

  it('Pending only when nothing was sent; a plugin-flagged value is never Pending', () => {
    expect(settleSeverity(alert({}))).toEqual({ severity: 'Pending', severity_raw: null, severity_unmapped: false });
    expect(settleSeverity(alert({ severity_raw: '  ' }))).toMatchObject({ severity: 'Pending' });
    expect(settleSeverity(alert({ severity_raw: 'odd', severity_unmapped: true }))).toMatchObject({
      severity: 'Medium',
      severity_unmapped: true,
    });
    expect(settleSeverity(alert({ severity_raw: 'x'.repeat(500) })).severity_raw).toHaveLength(64);
  });
});
