import { describe, expect, it } from 'vitest';
import { normalizeSeverity, pickSeverity } from './helpers.js';

describe('normalizeSeverity', () => {
  it('reads words and synonyms in any case', () => {
    const cases: Array<[unknown, string]> = [
      ['CRITICAL', 'Critical'],
      ['crit', 'Critical'],
      ['Fatal', 'Critical'],
      ['emergency', 'Critical'],
      ['High', 'High'],
      ['severe', 'High'],
      ['MAJOR', 'High'],
      ['medium', 'Medium'],
      ['Moderate', 'Medium'],
      ['warning', 'Medium'],
      ['low', 'Low'],
      ['minor', 'Low'],
      ['Informational', 'Informational'],
      ['information', 'Informational'],
      ['info', 'Informational'],
      ['debug', 'Informational'],
      ['SEV_040_HIGH', 'High'],
      ['SEV_050_CRITICAL', 'Critical'],
      [' severity-low ', 'Low'],
      [['high', 'low'], 'High'],
    ];
    for (const [value, severity] of cases) {
      expect(normalizeSeverity(value), String(value)).toMatchObject({ severity, mapped: true, status: 'mapped' });
    }
  });

  it('reads numbers on the given scale (higher is more severe, except priority)', () => {
    expect(normalizeSeverity(5).severity).toBe('Critical');
    expect(normalizeSeverity('1').severity).toBe('Informational');
    expect(normalizeSeverity(1, { scale: 'priority' }).severity).toBe('Critical');
    expect(normalizeSeverity(21, { scale: 'risk_score' }).severity).toBe('Low');
    expect(normalizeSeverity(22, { scale: 'risk_score' }).severity).toBe('Medium');
    expect(normalizeSeverity(47, { scale: 'risk_score' }).severity).toBe('Medium');
    expect(normalizeSeverity(48, { scale: 'risk_score' }).severity).toBe('High');
    expect(normalizeSeverity(73, { scale: 'risk_score' }).severity).toBe('High');
    expect(normalizeSeverity(74, { scale: 'risk_score' }).severity).toBe('Critical');
    expect(normalizeSeverity(5, { scale: 'risk_score' }).severity).toBe('Low');
    expect(normalizeSeverity(99, { scale: 'auto' }).severity).toBe('Critical');
    expect(normalizeSeverity(10, { scale: 'falcon' }).severity).toBe('Informational');
    expect(normalizeSeverity(70, { scale: 'falcon' }).severity).toBe('High');
    expect(normalizeSeverity(90, { scale: 'falcon' }).severity).toBe('Critical');
    expect(normalizeSeverity('6', { scale: 'splunk' }).severity).toBe('Critical');
    expect(normalizeSeverity(3, { scale: 'splunk' }).severity).toBe('Medium');
  });

  it('says Pending only when nothing was sent', () => {
    for (const value of [undefined, null, '', '  ', 'unknown', 'None', 'N/A', {}, true]) {
      expect(normalizeSeverity(value), String(value)).toEqual({
        severity: 'Pending',
        mapped: false,
        status: 'absent',
        raw: null,
      });
    }
  });

  it('keeps an unreadable value visible and flagged, never Pending', () => {
    expect(normalizeSeverity('Sev-Purple')).toEqual({
      severity: 'Medium',
      mapped: false,
      status: 'unmapped',
      raw: 'Sev-Purple',
    });
    expect(normalizeSeverity(250, { scale: 'risk_score' })).toMatchObject({ status: 'unmapped', raw: '250' });
    expect(normalizeSeverity('constructor').status).toBe('unmapped');
    expect(normalizeSeverity('__proto__').status).toBe('unmapped');
    expect(normalizeSeverity('x'.repeat(1000)).raw).toHaveLength(64);
    expect(normalizeSeverity('weird', { unmapped: 'High' }).severity).toBe('High');
  });

  it('pickSeverity prefers a mapped candidate, then an unmapped one', () => {
    const word = normalizeSeverity(undefined);
    const score = normalizeSeverity(80, { scale: 'risk_score' });
    expect(pickSeverity(word, score).severity).toBe('Critical');
    expect(pickSeverity(normalizeSeverity('odd'), word).status).toBe('unmapped');
    expect(pickSeverity(word).status).toBe('absent');
  });
});
