import { z } from 'zod';
import { FindingSchema } from './alerts.js';
import { TimestampSchema, UuidSchema } from './common.js';
import { MaliceLevelSchema } from './enums.js';

/**
 * The agent payload (`calseta.alert.v1`): one document per alert for webhooks, REST and MCP. Its
 * parts are documented here; the builder lives in core (`packages/core/src/payload`).
 */
export const TrimNoteSchema = z
  .object({
    part: z.string().meta({ description: 'What was shortened or left out.' }),
    kept: z.string().meta({ description: 'What the payload keeps of it.' }),
    fetch: z.string().meta({ description: 'Where the whole of it is (a REST call).' }),
  })
  .meta({ id: 'PayloadTrimNote' });

const d = (description: string) => ({ description });
/** Text that may come wrapped in `<untrusted>…</untrusted>` (see `notice`). */
const text = (description: string) => z.string().meta(d(description));
const time = (description: string) => z.string().meta(d(`${description} (ISO 8601, to the second).`));
const count = (description: string) => z.number().int().meta(d(description));
const list = (description: string) => z.array(z.string()).meta(d(`${description} At most 4 items, then "…(+n)".`));

/**
 * What one provider answered about an indicator, under the same names whatever the provider
 * (docs/agent-payload.md "Provider facts"). Which facts appear depends on the indicator type; a
 * provider Calseta has no mapping for shows its own fields (none named like these).
 */
export const ProviderFactsSchema = z
  .object({
    verdict: MaliceLevelSchema.optional().meta(
      d("This provider's verdict, shown only where it differs from the indicator's."),
    ),
    status: text(
      "`failed` when the provider call failed (with `error`); for an account, the identity provider's account status (e.g. Okta `ACTIVE`, `SUSPENDED`).",
    ).optional(),
    error: text('Why the provider call failed.').optional(),
    found: z.boolean().optional().meta(d('false: the provider does not know the value.')),
    same_as: z
      .string()
      .optional()
      .meta(d('The same answer is shown at this path (e.g. `indicators[3].providers.okta`), not repeated.')),
    // ip, domain, url, hashes
    detections: z
      .object({
        malicious: count('Engines that flagged it malicious.'),
        suspicious: count('Engines that flagged it suspicious.'),
        total: count('Engines that answered (malicious + suspicious + harmless + undetected + timeout).'),
      })
      .optional()
      .meta(d("VirusTotal's last analysis.")),
    // ip
    abuse_confidence: count('AbuseIPDB abuse confidence score, 0–100.').optional(),
    reports: count('AbuseIPDB reports in the last 90 days.').optional(),
    categories: list(
      'What it was reported for (AbuseIPDB category names, most reported first) or how vendors categorize a domain/URL (VirusTotal).',
    ).optional(),
    tor: z.boolean().optional().meta(d('A TOR exit node (AbuseIPDB).')),
    country: text('Country code.').optional(),
    city: text('City, where a provider gives it.').optional(),
    as_owner: text('Owner of the autonomous system or ISP.').optional(),
    asn: count('Autonomous system number.').optional(),
    usage: text('Usage type (e.g. `Data Center/Web Hosting/Transit`).').optional(),
    // domain
    registered: text('Registration (creation) date, YYYY-MM-DD.').optional(),
    age_days: count('Days from registration to the alert.').optional(),
    registrar: text('Registrar.').optional(),
    // url
    threat_names: list('Threat names.').optional(),
    final_url: text('Where the URL led last.').optional(),
    title: text('Page title (url) or job title (account).').optional(),
    // hashes
    threat_label: text("VirusTotal's suggested threat label.").optional(),
    names: list('File names it was seen under (the meaningful name first).').optional(),
    file_type: text('File type.').optional(),
    size: count('Size in bytes.').optional(),
    first_submitted: time('First submission to VirusTotal').optional(),
    // account, email
    enabled: z.boolean().optional().meta(d('Account enabled (Entra).')),
    display_name: text('Display name.').optional(),
    department: text('Department.').optional(),
    user_type: text('User type (Okta `Employee`/`Contractor`, Entra `Member`/`Guest`).').optional(),
    location: text('City, country code.').optional(),
    manager: text("Manager's name.").optional(),
    manager_email: text("Manager's email.").optional(),
    created: time('Account created').optional(),
    last_login: time('Last sign-in').optional(),
    last_password_change: time('Last password change').optional(),
    mfa: z
      .array(z.string())
      .optional()
      .meta(d('Enrolled MFA factors (Okta factor types; Entra authentication method kinds, password left out).')),
    groups: list('Groups and directory roles, privileged ones (admin, owner, operator, …) first.').optional(),
  })
  .catchall(z.unknown())
  .meta({ id: 'PayloadProviderFacts' });

export const PayloadIndicatorSchema = z
  .object({
    type: z.string().meta(d('Indicator type (ip, domain, url, hash_md5, hash_sha1, hash_sha256, email, account).')),
    value: text('The indicator.'),
    verdict: MaliceLevelSchema.meta(d('Malicious, Suspicious, Benign, Context (identity only), Unknown, Pending.')),
    seen_in: text('Where in the alert it was found (e.g. `src_ip`).').optional(),
    verdict_source: z.literal('analyst').optional().meta(d('Set by an analyst, not by providers.')),
    why: text(
      'Why it has its verdict: provider, rule, field, value and fetch time (Malicious/Suspicious, or set by an analyst).',
    ).optional(),
    first_seen: time("First alert that carried it, from Calseta's own history").optional(),
    last_seen: time('Latest alert that carried it (left out when equal to first_seen)').optional(),
    alert_count: count('Alerts that carried it, this one included.').optional(),
    providers: z
      .record(z.string(), ProviderFactsSchema)
      .optional()
      .meta(d('Per provider, what it answered (ProviderFacts).')),
  })
  .meta({ id: 'PayloadIndicator' });

export const PayloadRelatedAlertSchema = z
  .object({
    uuid: UuidSchema,
    title: text('Its title.'),
    occurred_at: time('When it occurred'),
    severity: z.string(),
    status: z.string(),
    classification: z.string().optional().meta(d('How it was closed (e.g. `True Positive - Suspicious Activity`).')),
    closed_at: time('When it was closed').optional(),
    verdict: MaliceLevelSchema,
    shared_indicators: z
      .array(z.string())
      .meta(d('`type:value` of the indicators it shares with this alert (at most 5).')),
    findings: z.array(z.string()).optional().meta(d("Its latest two findings (analysts' and agents' notes).")),
  })
  .meta({ id: 'PayloadRelatedAlert' });

export const AgentPayloadSchema = z
  .object({
    schema: z.literal('calseta.alert.v1'),
    notice: z.string().meta({ description: 'How untrusted text is delimited.' }),
    alert: z
      .object({
        uuid: UuidSchema,
        title: text('The alert title.'),
        severity: z.string(),
        status: z.string(),
        source: z.string().meta(d('Source plugin (sentinel, elastic, splunk, generic, …).')),
        occurred_at: time('When it occurred'),
        verdict: MaliceLevelSchema.meta(d('The worst indicator verdict, or an analyst override.')),
        enrichment_status: z.string(),
        tags: z.array(z.string()).optional(),
        duplicates: count('Duplicates folded into it.').optional(),
        classification: z.string().optional(),
        description: text('The description (trimmed to the budget; `trimmed` says so).').optional(),
        source_fields: z
          .record(z.string(), z.unknown())
          .meta(d("The plugin's normalized facts: counts, times, processes, users, hosts.")),
        findings: z.array(z.string()).optional().meta(d('Findings posted on this alert (the latest 10).')),
      })
      .meta({
        description:
          'The normalized alert: severity, status, times, verdict, tags, description and source fields. Text from the source is wrapped in <untrusted>…</untrusted>.',
      }),
    indicators: z.array(PayloadIndicatorSchema).meta({
      description:
        'Worst first: type, value, verdict, why (provider, rule, field, value, fetch time), our history (first/last seen, alert count), provider facts.',
    }),
    enrichment: z
      .object({
        failed: z.array(z.string()).optional(),
        deferred: z.array(z.string()).optional(),
        retry_at: z.string().nullable().optional(),
      })
      .optional()
      .meta(
        d('Only when something went wrong: providers that failed, or were deferred (rate limited) until retry_at.'),
      ),
    mock_data: z.string().optional().meta({
      description:
        "Present when some verdicts came from Calseta's built-in mock providers (demo data, no real credentials): names them. Do not act on them as real intelligence.",
    }),
    detection_rule: z
      .object({
        name: text('Rule name.'),
        mitre: z.object({ tactics: z.array(z.string()), techniques: z.array(z.string()) }),
        documentation_summary: text(
          'Key sections, briefly: goal, false positives, blind spots, responses (detail=standard).',
        ).optional(),
        documentation: text('The whole documentation (detail=full; first 20,000 characters).').optional(),
      })
      .nullable(),
    context_documents: z.array(
      z.object({
        title: text('Document title.'),
        type: z.string().meta(d('runbook, playbook, sop, …')),
        global: z.boolean().optional(),
        summary: text('Key sections (detail=standard).').optional(),
        content: text('The document (detail=full).').optional(),
      }),
    ),
    related_alerts: z.array(PayloadRelatedAlertSchema).meta(d('Earlier alerts sharing indicators, most shared first.')),
    workflows: z.array(
      z.object({
        uuid: UuidSchema,
        name: text('Workflow name.'),
        risk_level: z.string(),
        approval: z.string().meta(d('approval_mode: when a run needs a human approval.')),
        indicator_types: z.array(z.string()),
        documentation: text('What it does (detail=full).').optional(),
      }),
    ),
    links: z.record(z.string(), z.string()),
    trimmed: z.array(TrimNoteSchema),
    token_count: z.number().int().meta({ description: 'o200k tokens of this payload as compact JSON.' }),
  })
  .meta({ id: 'AgentPayload' });
export type AgentPayloadDoc = z.infer<typeof AgentPayloadSchema>;

export const TokenBudgetQuerySchema = z.object({
  token_budget: z.coerce.number().int().min(300).max(100_000).optional(),
  /** `standard`: documents as brief summaries with links to the whole; `full`: documents inlined. */
  detail: z.enum(['standard', 'full']).optional(),
});

export const RelatedAlertSchema = z
  .object({
    uuid: UuidSchema,
    title: z.string(),
    severity: z.string(),
    status: z.string(),
    close_classification: z.string().nullable(),
    /** When it was closed (null: still open). */
    closed_at: TimestampSchema.nullable(),
    occurred_at: TimestampSchema,
    malice: MaliceLevelSchema,
    shared_indicators: z.array(z.string()),
    findings: z.array(FindingSchema),
  })
  .meta({ id: 'RelatedAlert' });
export type RelatedAlert = z.infer<typeof RelatedAlertSchema>;
