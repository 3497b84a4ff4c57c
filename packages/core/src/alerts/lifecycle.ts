/** What a status / classification patch changes, for alerts and incidents alike (same lifecycle). */
export interface LifecycleRow {
  status: string;
  close_classification: string | null;
  acknowledged_at: Date | null;
  triaged_at: Date | null;
  closed_at: Date | null;
}

export interface LifecycleChange {
  /** Columns to set (status, classification, the first acknowledged / triaged / closed times). */
  set: Record<string, unknown>;
  /** The status moved (`closed`: to Closed, whose event also carries the classification). */
  status?: { from: string; to: string; closed: boolean };
  /** The classification changed apart from a close (closing records it in its own event). */
  classification?: { from: string | null; to: string | null };
}

/**
 * The lifecycle rules: leaving Open (or closing) acknowledges, Triaging triages, Closed closes — each
 * time recorded once; a classification change made by the close itself gets no event of its own.
 */
export function lifecycleChange(
  current: LifecycleRow,
  patch: { status?: string; close_classification?: string | null },
  now: Date,
): LifecycleChange {
  const change: LifecycleChange = { set: {} };
  if (patch.status !== undefined && patch.status !== current.status) {
    change.set.status = patch.status;
    const leavingOpen = current.status === 'Open';
    if (!current.acknowledged_at && (patch.status === 'Closed' || (leavingOpen && patch.status !== 'Open'))) {
      change.set.acknowledged_at = now;
    }
    if (patch.status === 'Triaging' && !current.triaged_at) change.set.triaged_at = now;
    if (patch.status === 'Closed' && !current.closed_at) change.set.closed_at = now;
    change.status = { from: current.status, to: patch.status, closed: patch.status === 'Closed' };
  }
  if (patch.close_classification !== undefined && patch.close_classification !== current.close_classification) {
    change.set.close_classification = patch.close_classification;
    if (patch.status !== 'Closed' || current.status === 'Closed') {
      change.classification = { from: current.close_classification, to: patch.close_classification };
    }
  }
  return change;
}
