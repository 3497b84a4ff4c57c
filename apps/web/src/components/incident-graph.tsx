import type { Incident, IncidentMember } from '@calseta/schema';
import { type ReactNode, useState } from 'react';
import { useNavigate } from 'react-router';
import { COLORS, truncate, VerdictSwatches } from './relationship-graph.js';

/** Most nodes drawn per column; the tables beside the graph list everything. */
export const GRAPH_MAX_ALERTS = 40;
export const GRAPH_MAX_ENTITIES = 30;
const GROUP_COLOR = '#a78bfa';
const ALERT_COLOR = '#60a5fa';
const OTHER_COLOR = '#f472b6';

export interface GraphEntity {
  key: string;
  label: string;
  title: string;
  color: string;
  /** Where the node leads (an indicator's page), if anywhere. */
  to: string | null;
}
export interface IncidentGraphModel {
  alerts: IncidentMember[];
  entities: GraphEntity[];
  /** `[alert uuid, entity key]` pairs. */
  edges: Array<[string, string]>;
  hidden: { alerts: number; entities: number };
}

const entityKey = (type: string, value: string) => `${type}:${value}`;

/**
 * Alerts ↔ what ties them: the shared entities (with their verdicts), and the SIEM's own groups.
 * Edges come from each shared entity's `alert_uuids` (the API lists up to 50) and from the members'
 * reasons (the alert that joined and the alert it matched both hold what they shared; the SIEM's groups).
 */
export function incidentGraph(incident: Incident): IncidentGraphModel {
  const members = new Set(incident.alerts.map((a) => a.uuid));
  const entities = new Map<string, GraphEntity>();
  for (const e of incident.shared_entities) {
    entities.set(entityKey(e.type, e.value), {
      key: entityKey(e.type, e.value),
      label: e.value,
      title: `${e.type}: ${e.value} — ${e.malice}; on ${e.alert_count} alerts`,
      color: COLORS[e.malice] ?? COLORS.Pending ?? '',
      to: `/indicators/${e.indicator_uuid}`,
    });
  }
  const edges = new Map<string, [string, string]>();
  const link = (alert: string | null, key: string) => {
    if (alert && members.has(alert) && entities.has(key)) edges.set(`${alert}|${key}`, [alert, key]);
  };
  for (const e of incident.shared_entities) for (const uuid of e.alert_uuids) link(uuid, entityKey(e.type, e.value));
  for (const a of incident.alerts) {
    const { entities: shared, source_group: group, matched_alert_uuid: matched } = a.membership.reason;
    const keys = shared.map((e) => entityKey(e.type, e.value));
    // What a reason names that is no indicator (a host name): a node that leads nowhere.
    for (const e of shared) {
      const key = entityKey(e.type, e.value);
      if (!entities.has(key))
        entities.set(key, { key, label: e.value, title: `${e.type}: ${e.value}`, color: OTHER_COLOR, to: null });
    }
    if (group) {
      const key = `group:${group.source_name}:${group.field}:${group.value}`;
      entities.set(key, {
        key,
        label: `${group.source_name} ${group.value}`,
        title: `${group.source_name} grouped these alerts (${group.field} = ${group.value})`,
        color: GROUP_COLOR,
        to: null,
      });
      keys.push(key);
    }
    for (const key of keys) {
      link(a.uuid, key);
      link(matched, key);
    }
  }
  // Draw the best-connected first, up to the caps.
  const degree = new Map<string, number>();
  for (const [alert, key] of edges.values()) {
    degree.set(alert, (degree.get(alert) ?? 0) + 1);
    degree.set(key, (degree.get(key) ?? 0) + 1);
  }
  const byDegree = <T,>(items: T[], id: (t: T) => string, max: number) =>
    [...items].sort((x, y) => (degree.get(id(y)) ?? 0) - (degree.get(id(x)) ?? 0)).slice(0, max);
  const alerts = byDegree(incident.alerts, (a) => a.uuid, GRAPH_MAX_ALERTS).sort((x, y) =>
    x.occurred_at.localeCompare(y.occurred_at),
  );
  const shown = byDegree([...entities.values()], (e) => e.key, GRAPH_MAX_ENTITIES);
  const alertSet = new Set(alerts.map((a) => a.uuid));
  const entitySet = new Set(shown.map((e) => e.key));
  return {
    alerts,
    entities: shown,
    edges: [...edges.values()].filter(([a, k]) => alertSet.has(a) && entitySet.has(k)),
    hidden: { alerts: incident.alerts.length - alerts.length, entities: entities.size - shown.length },
  };
}

const ROW = 32;
const WIDTH = 760;
const ALERT_X = 250;
const ENTITY_X = 510;

/**
 * Member alerts on the left (oldest at the top), the entities and groups they share on the right, a line
 * where an alert holds one. Nodes are links (focusable, Enter opens them); focusing or hovering one lights
 * its lines. The member and shared-entity tables give the same facts as text.
 */
export function IncidentGraphView({ incident }: { incident: Incident }) {
  const navigate = useNavigate();
  const [active, setActive] = useState<string | null>(null);
  const model = incidentGraph(incident);
  const rows = Math.max(model.alerts.length, model.entities.length, 1);
  const height = rows * ROW + 24;
  const yOf = (i: number, n: number) => 12 + (height - 24) * ((i + 0.5) / Math.max(n, 1));
  const alertY = new Map(model.alerts.map((a, i) => [a.uuid, yOf(i, model.alerts.length)]));
  const entityY = new Map(model.entities.map((e, i) => [e.key, yOf(i, model.entities.length)]));
  const open = (to: string | null) => () => to && void navigate(to);
  /**
   * One node: the shape is the control (an SVG node cannot be a <button>: role, tabIndex and Enter make
   * it one; one that leads nowhere is an image), named in full; the label beside it, outside the control,
   * is that text cut short (a control's visible text must be part of its name).
   */
  const node = (
    key: string,
    {
      name,
      label,
      to,
      x,
      y,
      end,
    }: { name: string; label: string; to: string | null; x: number; y: number; end?: boolean },
    shape: ReactNode,
  ) => (
    <g key={key}>
      {/* biome-ignore lint/a11y/noStaticElementInteractions: the role is a button whenever the node leads somewhere */}
      <g
        role={to ? 'button' : 'img'}
        aria-label={name}
        tabIndex={to ? 0 : undefined}
        onClick={open(to)}
        onKeyDown={(e) => e.key === 'Enter' && open(to)()}
        onFocus={() => setActive(key)}
        onBlur={() => setActive(null)}
        onMouseEnter={() => setActive(key)}
        onMouseLeave={() => setActive(null)}
        style={to ? { cursor: 'pointer' } : undefined}
      >
        {shape}
        <title>{name}</title>
      </g>
      <text x={end ? x - 16 : x + 16} y={y + 4} textAnchor={end ? 'end' : 'start'}>
        {label}
      </text>
    </g>
  );
  if (model.edges.length === 0) return <p className="muted">The members share no entity.</p>;
  return (
    <figure
      className="graph incident-graph"
      aria-label="Shared-entity graph: member alerts and the entities they share"
    >
      <svg viewBox={`0 0 ${WIDTH} ${height}`}>
        <title>Member alerts (left) and the entities they share (right)</title>
        {model.edges.map(([alert, key]) => {
          const lit = active === alert || active === key;
          return (
            <line
              key={`${alert}|${key}`}
              x1={ALERT_X}
              y1={alertY.get(alert)}
              x2={ENTITY_X}
              y2={entityY.get(key)}
              stroke={lit ? '#2dd4bf' : '#475569'}
              strokeWidth={lit ? 2 : 1}
            />
          );
        })}
        {model.alerts.map((a) => {
          const y = alertY.get(a.uuid) ?? 0;
          return node(
            a.uuid,
            {
              name: `Alert ${a.title} (${a.severity}, ${a.status})`,
              label: truncate(a.title, 36),
              to: `/alerts/${a.uuid}`,
              x: ALERT_X,
              y,
              end: true,
            },
            <rect x={ALERT_X - 8} y={y - 8} width={16} height={16} rx={3} fill={ALERT_COLOR} />,
          );
        })}
        {model.entities.map((e) => {
          const y = entityY.get(e.key) ?? 0;
          return node(
            e.key,
            { name: e.title, label: truncate(e.label, 34), to: e.to, x: ENTITY_X, y },
            <circle cx={ENTITY_X} cy={y} r={9} fill={e.color} />,
          );
        })}
      </svg>
      <figcaption className="muted small legend">
        <span>
          <span className="swatch" style={{ background: ALERT_COLOR }} /> member alert
        </span>
        <VerdictSwatches />
        <span>
          <span className="swatch" style={{ background: GROUP_COLOR, borderRadius: '50%' }} /> the source's own group
        </span>
        <span>
          <span className="swatch" style={{ background: OTHER_COLOR, borderRadius: '50%' }} /> a host (no indicator)
        </span>
        {(model.hidden.alerts > 0 || model.hidden.entities > 0) && (
          <span>
            Not drawn: {model.hidden.alerts} alerts, {model.hidden.entities} entities (the least connected).
          </span>
        )}
      </figcaption>
    </figure>
  );
}
