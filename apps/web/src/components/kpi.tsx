import type { ReactNode } from 'react';

/** One number with its label (dashboards, rule metrics). */
export function Kpi({ label, value, hint }: { label: string; value: ReactNode; hint?: string }) {
  return (
    <div className="kpi" title={hint}>
      <div className="label">{label}</div>
      <div className="value">{value}</div>
    </div>
  );
}
