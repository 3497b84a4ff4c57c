import type { CorrelationRule, IncidentMembershipReason } from '@calseta/schema';
import { Link } from 'react-router';
import { Badge } from './feedback.js';

/** What each correlation rule means, in an analyst's words. */
export const RULE_LABELS: Record<CorrelationRule, string> = {
  shared_entity: 'Shared entities',
  rule_entity: 'Same rule, same entity',
  source_group: 'Grouped by the source',
  analyst: 'Analyst decision',
};

/**
 * Why an alert is in its incident, like a verdict's explanation: the rule, the values it shared, the
 * alert it matched (named by `titles` when that alert is on the page), the rule or the SIEM's own group.
 * Every value is alert content: rendered as text only.
 */
export function MembershipReason({
  reason,
  titles = new Map(),
}: {
  reason: IncidentMembershipReason;
  titles?: ReadonlyMap<string, string>;
}) {
  const matched = reason.matched_alert_uuid;
  // The values the sentence does not already name (it usually names them all).
  const unnamed = reason.entities.filter((e) => !reason.summary.includes(e.value));
  return (
    <span
      className="explanation membership-reason"
      style={{ display: 'inline-block', minWidth: '16rem', overflowWrap: 'anywhere' }}
    >
      <Badge
        value={reason.action ? `${RULE_LABELS[reason.rule]}: ${reason.action}` : RULE_LABELS[reason.rule]}
        tone="info"
      />{' '}
      {reason.summary}
      {unnamed.map((e) => (
        <span key={`${e.type}:${e.value}`}>
          {' '}
          <code className="small">
            {e.type} {e.value}
          </code>
        </span>
      ))}
      {reason.source_group && (
        <span className="muted">
          {' '}
          · {reason.source_group.source_name} <code className="small">{reason.source_group.field}</code> ={' '}
          <code className="small">{reason.source_group.value}</code>
        </span>
      )}
      {reason.detection_rule_uuid && (
        <span className="muted">
          {' '}
          · <Link to={`/detection-rules/${reason.detection_rule_uuid}`}>the detection rule</Link>
        </span>
      )}
      {matched && (
        <span className="muted">
          {' '}
          · matched <Link to={`/alerts/${matched}`}>{titles.get(matched) ?? `alert ${matched.slice(-12)}`}</Link>
        </span>
      )}
    </span>
  );
}
