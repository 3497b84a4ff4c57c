import { type ReactNode, useState } from 'react';
import { ApiError } from '../api/client.js';

/** Why a 403 that is not about scopes refused (`details.reason`), in an analyst's words. */
const REFUSALS: Record<string, string> = {
  requester: 'You requested this run, so another person must approve or reject it.',
  agent: 'Agent keys cannot decide approvals: sign in with a person’s key.',
};

/** An error from a query or mutation; a 403 names the scopes the session lacks, or why it was refused. */
export function ErrorBanner({ error, title }: { error: unknown; title?: string }) {
  if (!error) return null;
  let message = error instanceof Error ? error.message : String(error);
  if (error instanceof ApiError && error.status === 403) {
    const scopes = error.details?.required_scopes;
    const reason = error.details?.reason;
    message =
      typeof reason === 'string' && REFUSALS[reason]
        ? `${REFUSALS[reason]} (${error.message})`
        : `Not allowed for your role or key${Array.isArray(scopes) ? ` (needs ${scopes.join(' or ')})` : ''}. ${error.message}`;
  }
  const issues =
    error instanceof ApiError && Array.isArray(error.details?.errors)
      ? (error.details.errors as Array<{ message?: string; path?: unknown[]; line?: number }>)
      : [];
  return (
    <div className="banner error" role="alert">
      <strong>{title ?? (error instanceof ApiError ? error.code : 'Error')}</strong> {message}
      {issues.length > 0 && (
        <ul>
          {issues.map((issue, i) => (
            // biome-ignore lint/suspicious/noArrayIndexKey: issues have no identity
            <li key={i}>
              {Array.isArray(issue.path) && issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}
              {issue.line ? `line ${issue.line}: ` : ''}
              {issue.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Under a form: why the last save failed, or that it worked. */
export function SaveStatus({
  mutation,
  saved = 'Saved.',
  title,
}: {
  mutation: { error: unknown; isSuccess: boolean };
  saved?: ReactNode;
  title?: string;
}) {
  return (
    <>
      <ErrorBanner error={mutation.error} title={title} />
      {mutation.isSuccess && (
        <p className="banner ok" role="status">
          {saved}
        </p>
      )}
    </>
  );
}

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <p className="muted loading" role="status" aria-live="polite">
      {label}
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="empty muted">{children}</p>;
}

/** A status pill; the tone follows the value (severity, status, malice, run state…). */
/** Who acted: the person when a person did (their session or personal key), else the key's prefix. */
export function Actor({
  user,
  keyPrefix,
}: {
  user?: { uuid: string; email: string } | null;
  keyPrefix: string | null;
}) {
  if (user) {
    return (
      <span className="small" title={keyPrefix ? `${user.email} (key ${keyPrefix})` : user.email}>
        {user.email}
      </span>
    );
  }
  return keyPrefix ? <code className="small">{keyPrefix}</code> : null;
}

export function Badge({ value, tone }: { value: string | null | undefined; tone?: string }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  return <span className={`badge tone-${tone ?? toneOf(value)}`}>{value}</span>;
}

const TONES: Record<string, string> = {
  critical: 'danger',
  high: 'danger',
  malicious: 'danger',
  failed: 'danger',
  rejected: 'danger',
  timed_out: 'danger',
  escalated: 'danger',
  medium: 'warn',
  suspicious: 'warn',
  partial: 'warn',
  pending: 'warn',
  pending_approval: 'warn',
  retrying: 'warn',
  triaging: 'warn',
  waiting: 'warn',
  draft: 'warn',
  low: 'info',
  informational: 'info',
  open: 'info',
  queued: 'info',
  running: 'info',
  delivering: 'info',
  benign: 'ok',
  enriched: 'ok',
  success: 'ok',
  succeeded: 'ok',
  approved: 'ok',
  delivered: 'ok',
  active: 'ok',
  closed: 'muted',
  skipped: 'muted',
  expired: 'muted',
  inactive: 'muted',
  cancelled: 'muted',
  not_found: 'muted',
};
export function toneOf(value: string): string {
  return TONES[value.toLowerCase()] ?? 'muted';
}

/** A timestamp as relative text, the exact time on hover. */
export function Time({ value }: { value: string | null | undefined }) {
  if (!value) return <span className="muted">—</span>;
  const date = new Date(value);
  return (
    <time dateTime={value} title={date.toLocaleString()}>
      {relative(date)}
    </time>
  );
}

export function relative(date: Date, now = Date.now()): string {
  const s = Math.round((now - date.getTime()) / 1000);
  const abs = Math.abs(s);
  const suffix = s >= 0 ? 'ago' : 'from now';
  if (abs < 45) return s >= 0 ? 'just now' : 'in a moment';
  if (abs < 3600) return `${Math.round(abs / 60)} min ${suffix}`;
  if (abs < 86_400) return `${Math.round(abs / 3600)} h ${suffix}`;
  if (abs < 30 * 86_400) return `${Math.round(abs / 86_400)} d ${suffix}`;
  return date.toLocaleDateString();
}

/** Seconds as `42 s`, `3.5 min`, `2.1 h`, `1.5 d`; `—` for null. */
export function duration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  if (seconds < 3600) return `${(seconds / 60).toFixed(1)} min`;
  if (seconds < 86_400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} d`;
}

export const percent = (ratio: number | null | undefined) =>
  ratio === null || ratio === undefined ? '—' : `${(ratio * 100).toFixed(1)}%`;

/** Text cut at `max` characters with a button to read it whole (long agent reasons, messages). */
export function LongText({ text, max = 140 }: { text: string | null | undefined; max?: number }) {
  const [open, setOpen] = useState(false);
  if (!text) return <span className="muted">—</span>;
  if (text.length <= max) return <>{text}</>;
  return (
    <>
      {open ? text : `${text.slice(0, max).trimEnd()}…`}{' '}
      <button type="button" className="link small" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? 'Show less' : 'Read all'}
      </button>
    </>
  );
}
