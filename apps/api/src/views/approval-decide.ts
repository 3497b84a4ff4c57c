import type { ApprovalPreview } from '@calseta/core';

// The browser approval page (GET/POST /v1/approvals/{uuid}/decide): pure functions, data → HTML.
// Everything interpolated — the workflow's name and code, the agent's reason, the alert's title — is
// written by someone other than the approver, so every value goes through `escapeHtml`.

/** Escapes text for HTML element content and quoted attribute values. */
export const escapeHtml = (value: unknown): string =>
  String(value ?? '').replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string,
  );

/** Longer code is cut: the page is a preview, the approved run uses the stored code. */
const MAX_CODE_CHARS = 20_000;

const STYLE = `body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;background:#0f1419;color:#e6e6e6;margin:0;padding:2rem}
main{max-width:760px;margin:0 auto;background:#171d24;border:1px solid #2a323c;border-radius:10px;padding:1.5rem 2rem}
h1{font-size:1.3rem;margin:.2rem 0 1rem}dl{display:grid;grid-template-columns:10rem 1fr;gap:.4rem 1rem}dt{color:#8b98a5}dd{margin:0;word-break:break-all}
pre{background:#0b0f13;border:1px solid #2a323c;border-radius:6px;padding:1rem;overflow:auto;max-height:24rem;font-size:.8rem}
.pill{display:inline-block;padding:.15rem .6rem;border-radius:999px;font-size:.75rem;font-weight:700;text-transform:uppercase;background:#3b4754}
.pill.high,.pill.critical{background:#a3262b}.pill.medium{background:#a36a12}.pill.low{background:#2b6a3c}
.actions{display:flex;gap:1rem;margin-top:1.5rem}button{font-size:1rem;padding:.6rem 1.6rem;border:0;border-radius:6px;cursor:pointer;color:#fff}
.approve{background:#2b8a3e}.reject{background:#c92a2a}.status{font-size:1.1rem;padding:1rem;border-radius:6px;background:#222b35}`;

/** The document around a body; `body` must already be HTML (escaped by its builder). */
function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>${body}</main></body></html>`;
}

/** A title and one sentence: outcomes (approved, rejected) and refusals (not found, wrong token, expired). */
export function messagePage(title: string, message: string): string {
  return page(title, `<h1>${escapeHtml(title)}</h1><p class="status">${escapeHtml(message)}</p>`);
}

/**
 * What will run, and — while the request is pending — a form posting `token` and `decision` back to
 * `/v1/approvals/{uuid}/decide`. A decided or expired request shows its status instead of the form.
 */
export function approvalDecidePage(preview: ApprovalPreview, token: string): string {
  const a = preview.approval;
  const t = a.trigger_context;
  const facts: Array<[string, string]> = [
    ['Workflow', a.workflow_name],
    ['Risk level', a.risk_level],
    ['Indicator', t ? `${t.indicator_type}: ${t.indicator_value}` : '-'],
    ['Alert', preview.alert ? `${preview.alert.title} (${preview.alert.severity}, ${preview.alert.source_name})` : '-'],
    ['Requested by', `${a.trigger_type} (${a.trigger_agent_key_prefix})`],
    ['Confidence', `${Math.round(a.confidence * 100)}%`],
    ['Agent reason', a.reason || '(none given)'],
    ['Expires', a.expires_at],
    ['Status', a.status],
  ];
  const dl = facts.map(([k, v]) => `<dt>${escapeHtml(k)}</dt><dd>${escapeHtml(v)}</dd>`).join('');
  const code =
    preview.code.length > MAX_CODE_CHARS ? `${preview.code.slice(0, MAX_CODE_CHARS)}\n… (truncated)` : preview.code;
  const form =
    a.status === 'pending'
      ? `<form method="post" action="/v1/approvals/${escapeHtml(a.uuid)}/decide"><input type="hidden" name="token" value="${escapeHtml(token)}">
<div class="actions"><button class="approve" name="decision" value="approve">Approve</button><button class="reject" name="decision" value="reject">Reject</button></div></form>`
      : `<p class="status">This request is ${escapeHtml(a.status)}${a.responder_id ? ` (by ${escapeHtml(a.responder_id)})` : ''}; nothing more to decide.</p>`;
  return page(
    `Approve workflow: ${a.workflow_name}`,
    `<span class="pill ${escapeHtml(a.risk_level)}">${escapeHtml(a.risk_level)} risk</span>
<h1>Workflow approval: ${escapeHtml(a.workflow_name)}</h1><dl>${dl}</dl>
<h2>What will run</h2><p>Code version ${escapeHtml(preview.code_version)} (timeout ${escapeHtml(preview.timeout_seconds)} s), with <code>ctx.indicator</code> = ${escapeHtml(t ? `${t.indicator_type} ${t.indicator_value}` : '-')}${preview.alert ? ` and <code>ctx.alert</code> = ${escapeHtml(preview.alert.uuid)}` : ''}:</p>
<pre><code>${escapeHtml(code)}</code></pre>${form}`,
  );
}
