import { normalizeSeverity } from '@calseta/plugin-sdk';
import type { NormalizedAlert } from '@calseta/schema';

export interface SettledSeverity {
  severity: NormalizedAlert['severity'];
  severity_raw: string | null;
  severity_unmapped: boolean;
}

/**
 * The severity an alert is stored with. A plugin's mapped severity stands. A plugin that fell back to
 * Pending although the source sent a value (`severity_raw`) gets that value re-read with the SDK's
 * `normalizeSeverity`; when nothing can read it the alert is flagged `severity_unmapped` and carries
 * the visible default (Medium): Pending weighs 0, sorts below Informational and never reaches an agent
 * filtering on severity. Pending remains only when the source really sent nothing.
 */
export function settleSeverity(normalized: NormalizedAlert): SettledSeverity {
  const raw = normalized.severity_raw?.trim().slice(0, 64) || null;
  if (normalized.severity_unmapped === true) {
    const severity = normalized.severity === 'Pending' ? 'Medium' : normalized.severity;
    return { severity, severity_raw: raw, severity_unmapped: true };
  }
  if (normalized.severity !== 'Pending' || raw === null) {
    return { severity: normalized.severity, severity_raw: raw, severity_unmapped: false };
  }
  const read = normalizeSeverity(raw);
  return { severity: read.severity, severity_raw: read.raw, severity_unmapped: read.status === 'unmapped' };
}
