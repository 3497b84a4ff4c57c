import type { ApprovalPreview } from '@calseta/core';
import { describe, expect, it } from 'vitest';
import { approvalDecidePage, escapeHtml, messagePage } from './approval-decide.js';

// Every text on the page is written by someone other than the approver (the workflow's author, the
// requesting agent, the alert's source). A hostile value in each must come out as text, never markup.
const HOSTILE = `</code><script>alert(1)</script><img src=x onerror=alert(2)>"' autofocus onfocus=alert(3) x="&amp;`;
const ESCAPED = escapeHtml(HOSTILE);
const UUID = '0b8f4c1e-6a57-4d6e-9b0a-2f3c4d5e6f70';
const TOKEN = 'tok_-AbC123';

function preview(overrides: Partial<ApprovalPreview['approval']> = {}, code = HOSTILE): ApprovalPreview {
  return {
    approval: {
      uuid: UUID,
      workflow_uuid: '1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f',
      workflow_name: HOSTILE,
      risk_level: HOSTILE,
      status: 'pending',
      trigger_type: HOSTILE,
      trigger_agent_key_prefix: HOSTILE,
      trigger_context: { indicator_type: HOSTILE, indicator_value: HOSTILE, alert_id: 7, alert_uuid: UUID },
      reason: HOSTILE,
      confidence: 0.87,
      notifier_type: 'slack',
      notifier_channel: HOSTILE,
      responder_id: null,
      responded_at: null,
      expires_at: '2026-12-07T10:00:00.000Z',
      run_uuid: null,
      execution_result: null,
      created_at: '2026-12-07T09:00:00.000Z',
      updated_at: '2026-12-07T09:00:00.000Z',
      ...overrides,
    },
    code,
    code_version: 3,
    timeout_seconds: 30,
    alert: { uuid: UUID, title: HOSTILE, severity: HOSTILE, source_name: HOSTILE },
  };
}

/** The page's element names, in order of appearance. */
const tags = (html: string) => [...html.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)/g)].map((m) => m[1]);
const PAGE_TAGS = ['html', 'head', 'meta', 'meta', 'meta', 'meta', 'title', 'style', 'body', 'main'];

describe('approval decide page (view)', () => {
  it('escapes every hostile value: no markup, no attribute breaks out', () => {
    const html = approvalDecidePage(preview(), TOKEN);
    expect(html).not.toContain('<script');
    expect(html).not.toContain('<img');
    expect(html).not.toMatch(/["'] autofocus/);
    // Exactly the page's own elements, whatever the data said.
    expect(tags(html)).toEqual([
      ...PAGE_TAGS,
      'span',
      'h1',
      'dl',
      ...Array(9).fill(['dt', 'dd']).flat(),
      'h2',
      'p',
      'code',
      'code',
      'pre',
      'code',
      'form',
      'input',
      'div',
      'button',
      'button',
    ]);
    // The values are still shown, as text: title, pill (class and text), h1, six facts, ctx.indicator (twice
    // in it), the code.
    expect(html.split(ESCAPED).length - 1).toBeGreaterThanOrEqual(12);
  });

  it('posts the token and the decision to the request’s own decide URL', () => {
    const html = approvalDecidePage(preview({ risk_level: 'high', workflow_name: 'Disable user' }, 'return 1;'), TOKEN);
    expect(html).toContain(`<form method="post" action="/v1/approvals/${UUID}/decide">`);
    expect(html).toContain(`<input type="hidden" name="token" value="${TOKEN}">`);
    expect(html).toContain('<button class="approve" name="decision" value="approve">Approve</button>');
    expect(html).toContain('<button class="reject" name="decision" value="reject">Reject</button>');
    expect(html).toContain('<title>Approve workflow: Disable user</title>');
    expect(html).toContain('<dt>Confidence</dt><dd>87%</dd>');
    expect(html).toContain('<pre><code>return 1;</code></pre>');
  });

  it('escapes the token in its attribute (the route passes the query string as given)', () => {
    const html = approvalDecidePage(preview(), '"><script>alert(1)</script>');
    expect(html).toContain('value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
  });

  it('a decided request shows who decided it, escaped, and no form', () => {
    const html = approvalDecidePage(preview({ status: 'approved', responder_id: HOSTILE }), TOKEN);
    expect(html).not.toContain('<form');
    expect(html).not.toContain(TOKEN);
    expect(html).toContain(`<p class="status">This request is approved (by ${ESCAPED}); nothing more to decide.</p>`);
    expect(html).not.toContain('<script');
  });

  it('cuts code over 20,000 characters and says so', () => {
    const html = approvalDecidePage(preview({}, 'x'.repeat(25_000)), TOKEN);
    expect(html).toContain(`<pre><code>${'x'.repeat(20_000)}\n… (truncated)</code></pre>`);
  });

  it('without trigger context or alert, shows dashes', () => {
    const html = approvalDecidePage({ ...preview({ trigger_context: null }), alert: null }, TOKEN);
    expect(html).toContain('<dt>Indicator</dt><dd>-</dd>');
    expect(html).toContain('<dt>Alert</dt><dd>-</dd>');
    expect(html).not.toContain('ctx.alert');
  });

  it('message pages escape their title and message', () => {
    const html = messagePage(HOSTILE, HOSTILE);
    expect(tags(html)).toEqual([...PAGE_TAGS, 'h1', 'p']);
    expect(html).toContain(`<h1>${ESCAPED}</h1><p class="status">${ESCAPED}</p>`);
  });
});
