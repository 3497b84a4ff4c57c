import type { AlertFinding } from '@calseta/schema';
import { Actor, Badge, Time } from './feedback.js';
import { JsonView } from './json-view.js';
import { Card } from './layout.js';
import { Markdown } from './markdown.js';

/** Findings agents (or analysts) posted on an alert or an incident, newest as the API orders them. */
export function FindingCards({ findings, empty }: { findings: readonly AlertFinding[]; empty: string }) {
  if (findings.length === 0) return <p className="muted">{empty}</p>;
  return (
    <div className="stack">
      {findings.map((f) => (
        <Card key={f.id} title={f.agent_name} actions={<Time value={f.posted_at} />}>
          <div className="row">
            {f.confidence && <Badge value={`confidence ${f.confidence}`} tone="info" />}
            {(f.posted_by?.user || f.posted_by?.key_prefix) && (
              <span className="muted small">
                by <Actor user={f.posted_by.user} keyPrefix={f.posted_by.key_prefix} />
              </span>
            )}
          </div>
          <Markdown>{f.summary}</Markdown>
          {f.recommended_action && (
            <p>
              <strong>Recommended:</strong> {f.recommended_action}
            </p>
          )}
          {f.evidence && <JsonView label="Evidence" value={f.evidence} open={false} />}
        </Card>
      ))}
    </div>
  );
}
