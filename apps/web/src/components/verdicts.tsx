import type { EnrichmentProviderResult, ProviderResultSummary, VerdictExplanation } from '@calseta/schema';
import { Badge, Time } from './feedback.js';
import { JsonView } from './json-view.js';

const show = (v: unknown) => (typeof v === 'string' ? v : JSON.stringify(v));

/** Why an indicator (or one provider) has its verdict, in one sentence. */
export function Explanation({ explanation }: { explanation: VerdictExplanation | null | undefined }) {
  if (!explanation) return <span className="muted">No verdict yet.</span>;
  const e = explanation;
  let text: string;
  switch (e.reason) {
    case 'rule':
      text = `${e.provider ?? 'provider'}: ${e.field} ${e.operator} ${show(e.expected)} (actual ${show(e.actual)})`;
      break;
    case 'default':
      text = `${e.provider ?? 'provider'}: no rule matched, default verdict`;
      break;
    case 'not_found':
      text = `${e.provider ?? 'provider'}: not found`;
      break;
    default:
      text = 'set by an analyst';
  }
  return (
    <span className="explanation">
      <Badge value={e.verdict} /> {e.mock && <Badge value="mock" tone="warn" />} {text}
      {e.mock && <span className="muted"> (demo data from the built-in mock, not the real service)</span>}
      {e.fetched_at && (
        <span className="muted">
          {' '}
          · fetched <Time value={e.fetched_at} />
        </span>
      )}
    </span>
  );
}

/** One card per provider: status, verdict with its reason, extracted fields, and the raw answer when present. */
export function ProviderResults({
  results,
}: {
  results: Record<string, ProviderResultSummary | EnrichmentProviderResult> | null;
}) {
  const entries = Object.entries(results ?? {});
  if (entries.length === 0) return <p className="muted">No provider results yet.</p>;
  return (
    <div>
      {entries.map(([name, r]) => (
        <section key={name} className="provider-result" aria-label={`${name} result`}>
          <div className="row">
            <strong>{name}</strong>
            <Badge value={r.status} />
            {r.verdict && <Badge value={r.verdict} />}
            {r.mock && <Badge value="mock" tone="warn" />}
            {r.cache_hit && <span className="muted small">cached</span>}
            <span className="muted small">{Math.round(r.duration_ms)} ms</span>
          </div>
          {r.explanation && (
            <div>
              <Explanation explanation={r.explanation} />
            </div>
          )}
          {r.skip_reason && <div className="muted small">skipped: {r.skip_reason}</div>}
          {r.error_message && <div className="small tone-danger">{r.error_message}</div>}
          {r.extracted && Object.keys(r.extracted).length > 0 && (
            <JsonView label="Extracted fields" value={r.extracted} />
          )}
          {'raw' in r && r.raw !== null && r.raw !== undefined && (
            <JsonView label="Raw response" value={r.raw} open={false} />
          )}
        </section>
      ))}
    </div>
  );
}
