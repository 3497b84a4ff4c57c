import type { RelationshipGraph } from '@calseta/schema';
import { useNavigate } from 'react-router';

/** Node colour per verdict (also the incident graph's). */
export const COLORS: Record<string, string> = {
  Malicious: '#f87171',
  Suspicious: '#fbbf24',
  Benign: '#34d399',
  Pending: '#94a3b8',
};
export const truncate = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/**
 * The alert in the middle, its indicators on a ring, and other alerts sharing each indicator further
 * out. Nodes are links (focusable, Enter opens them); a list below gives the same facts as text.
 */
export function RelationshipGraphView({ graph }: { graph: RelationshipGraph }) {
  const navigate = useNavigate();
  const size = 640;
  const c = size / 2;
  const n = Math.max(graph.indicators.length, 1);
  const nodes = graph.indicators.map((ind, i) => {
    const angle = (2 * Math.PI * i) / n - Math.PI / 2;
    const x = c + Math.cos(angle) * 170;
    const y = c + Math.sin(angle) * 170;
    const siblings = ind.sibling_alerts.slice(0, 4).map((s, j, all) => {
      const spread = (j - (all.length - 1) / 2) * 0.28;
      return { alert: s, x: c + Math.cos(angle + spread) * 285, y: c + Math.sin(angle + spread) * 285 };
    });
    return { ind, x, y, siblings };
  });
  const open = (path: string) => () => void navigate(path);
  return (
    <div className="graph">
      <svg
        viewBox={`0 0 ${size} ${size}`}
        role="img"
        aria-label="Relationship graph of the alert, its indicators and other alerts sharing them"
      >
        {nodes.map(({ ind, x, y, siblings }) => (
          <g key={ind.uuid}>
            <line x1={c} y1={c} x2={x} y2={y} stroke="#334155" />
            {siblings.map((s) => (
              <line key={s.alert.uuid} x1={x} y1={y} x2={s.x} y2={s.y} stroke="#334155" strokeDasharray="3 3" />
            ))}
          </g>
        ))}
        <circle cx={c} cy={c} r={26} fill="#2dd4bf" />
        <text x={c} y={c + 42} textAnchor="middle">
          {truncate(graph.alert.title, 40)}
        </text>
        {nodes.map(({ ind, x, y, siblings }) => (
          <g key={ind.uuid}>
            {/* biome-ignore lint/a11y/useSemanticElements: an SVG node cannot be a <button>; role, tabIndex and Enter make it one */}
            <g
              role="button"
              tabIndex={0}
              aria-label={`Indicator ${ind.type} ${ind.value}, ${ind.malice}`}
              onClick={open(`/indicators/${ind.uuid}`)}
              onKeyDown={(e) => e.key === 'Enter' && open(`/indicators/${ind.uuid}`)()}
              style={{ cursor: 'pointer' }}
            >
              <circle cx={x} cy={y} r={14} fill={COLORS[ind.malice] ?? '#94a3b8'} />
              <title>{`${ind.type}: ${ind.value} — ${ind.malice}; ${ind.total_alert_count} other alert(s)`}</title>
              <text x={x} y={y + 28} textAnchor="middle">
                {truncate(ind.value, 26)}
              </text>
            </g>
            {siblings.map((s) => (
              // biome-ignore lint/a11y/useSemanticElements: see above
              <g
                key={s.alert.uuid}
                role="button"
                tabIndex={0}
                aria-label={`Alert ${s.alert.title}`}
                onClick={open(`/alerts/${s.alert.uuid}`)}
                onKeyDown={(e) => e.key === 'Enter' && open(`/alerts/${s.alert.uuid}`)()}
                style={{ cursor: 'pointer' }}
              >
                <rect x={s.x - 8} y={s.y - 8} width={16} height={16} rx={3} fill="#60a5fa" />
                <title>{`${s.alert.title} (${s.alert.severity}, ${s.alert.status})`}</title>
              </g>
            ))}
          </g>
        ))}
      </svg>
      <p className="muted small legend">
        <VerdictSwatches />
        <span>
          <span className="swatch" style={{ background: '#60a5fa' }} /> other alert with this indicator
        </span>
      </p>
    </div>
  );
}

/** The legend's verdict colours (this graph's and the incident graph's). */
export function VerdictSwatches() {
  return Object.entries(COLORS).map(([verdict, color]) => (
    <span key={verdict}>
      <span className="swatch" style={{ background: color, borderRadius: '50%' }} /> {verdict}{' '}
    </span>
  ));
}
