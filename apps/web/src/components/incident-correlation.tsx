import {
  type CorrelationConfig,
  type CorrelationDryRunResult,
  INCIDENT_ENTITY_TYPES,
  type IncidentEntityType,
} from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import type { One } from '../api/client.js';
import { useApiMutation } from '../api/hooks.js';
import { incidentQueries } from '../api/queries/incidents.js';
import { useAuth } from '../auth.js';
import { Badge, ErrorBanner, Loading, SaveStatus, Time } from './feedback.js';
import { Checkbox, CheckboxGroup, ListField, TextField, useFields } from './form.js';
import { MembershipReason } from './incident-reason.js';
import { Card } from './layout.js';

/** `datetime-local` value (local time, minutes) of a date. */
const local = (d: Date) => new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);

/**
 * The correlation rules and a dry run: what the rules (stored, or as edited here) would group among the
 * alerts of a time range, writing nothing. Anyone who reads incidents may dry-run the stored rules; an
 * admin sees and edits them, tries the edits, and saves.
 */
export function CorrelationRules() {
  const admin = useAuth().can('admin');
  const config = useQuery({ ...incidentQueries.correlationConfig(), enabled: admin });
  if (!admin) return <DryRun />;
  if (config.error) return <ErrorBanner error={config.error} />;
  if (!config.data) return <Loading />;
  return <RulesForm key={JSON.stringify(config.data.data)} stored={config.data.data} />;
}

function RulesForm({ stored }: { stored: CorrelationConfig }) {
  const [rules, set] = useFields(stored);
  const number = (key: 'window_minutes' | 'min_shared_entities' | 'prevalence_cap') => (v: string) =>
    set(key)(Number(v));
  const save = useApiMutation<One<CorrelationConfig>, void>(
    () => ({ method: 'PUT', path: `${incidentQueries.path()}/correlation/config`, json: rules }),
    { invalidates: [incidentQueries.correlationConfig().queryKey] },
  );
  return (
    <div className="stack">
      <div className="grid two">
        <div className="stack">
          <Checkbox label="Correlation on" checked={rules.enabled} onChange={set('enabled')} />
          <TextField
            label="Window (minutes)"
            type="number"
            hint="Alerts correlate when their times are at most this far apart."
            value={String(rules.window_minutes)}
            onChange={number('window_minutes')}
          />
          <TextField
            label="Minimum shared entities"
            type="number"
            value={String(rules.min_shared_entities)}
            onChange={number('min_shared_entities')}
          />
          <TextField
            label="Prevalence cap"
            type="number"
            hint="A value on more alerts than this in the window is shared infrastructure: it never joins alerts by itself."
            value={String(rules.prevalence_cap)}
            onChange={number('prevalence_cap')}
          />
          <Checkbox
            label="Ignore private IPs"
            checked={rules.ignore_private_ips}
            onChange={set('ignore_private_ips')}
          />
          <Checkbox label="Same rule, same entity" checked={rules.rule_entity} onChange={set('rule_entity')} />
          <Checkbox
            label="The source's own grouping"
            checked={rules.source_grouping}
            onChange={set('source_grouping')}
          />
        </div>
        <div className="stack">
          <CheckboxGroup<IncidentEntityType>
            legend="Entity types that count"
            options={INCIDENT_ENTITY_TYPES}
            value={rules.entity_types}
            onChange={set('entity_types')}
          />
          <ListField
            label="Excluded values"
            hint="Comma-separated, exact (case-insensitive): the SIEM's own hosts, service accounts…"
            value={rules.excluded_values}
            onChange={set('excluded_values')}
          />
          <ListField
            label="Excluded IP ranges"
            hint="Comma-separated CIDRs: scanners, proxies, the SIEM's own addresses."
            value={rules.excluded_cidrs}
            onChange={set('excluded_cidrs')}
          />
        </div>
      </div>
      <div className="row">
        <button type="button" className="primary" onClick={() => save.mutate()} disabled={save.isPending}>
          Save rules
        </button>
        <span className="muted small">Saved rules apply to alerts correlated from then on.</span>
      </div>
      <SaveStatus mutation={save} saved="Rules saved." />
      <DryRun config={rules} />
    </div>
  );
}

/** Replays the alerts of a range through `config` (or the stored rules) and shows what would group. */
function DryRun({ config }: { config?: CorrelationConfig }) {
  const [range, setRange] = useState(() => ({ from: local(new Date(Date.now() - 86_400_000)), to: local(new Date()) }));
  const run = useApiMutation<One<CorrelationDryRunResult>, void>(() => ({
    path: `${incidentQueries.path()}/correlation/dry-run`,
    json: {
      from_time: new Date(range.from).toISOString(),
      to_time: new Date(range.to).toISOString(),
      ...(config ? { config } : {}),
    },
  }));
  const result = run.data?.data;
  return (
    <Card title="Dry run">
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          run.mutate();
        }}
      >
        <TextField
          label="Alerts from"
          type="datetime-local"
          value={range.from}
          onChange={(from) => setRange({ ...range, from })}
        />
        <TextField label="to" type="datetime-local" value={range.to} onChange={(to) => setRange({ ...range, to })} />
        <button type="submit" disabled={!range.from || !range.to || run.isPending}>
          {config ? 'Dry run with these rules' : 'Dry run'}
        </button>
      </form>
      <p className="muted small">
        Nothing is written: existing incidents are ignored, the range's alerts replayed from nothing.
      </p>
      <ErrorBanner error={run.error} />
      {result && (
        <section className="stack" aria-label="Dry run result">
          <p role="status">
            {result.alerts_considered} alerts considered{result.truncated ? ' (the range holds more)' : ''}:{' '}
            {result.groups.length} incident{result.groups.length === 1 ? '' : 's'} would form, {result.ungrouped_count}{' '}
            alert{result.ungrouped_count === 1 ? '' : 's'} would stay alone.
          </p>
          {result.groups.map((g) => (
            <DryRunGroup key={g.alerts[0]?.uuid ?? g.title} group={g} />
          ))}
        </section>
      )}
    </Card>
  );
}

/** One incident a dry run would form: its members in join order, each with why it would join. */
function DryRunGroup({ group: g }: { group: CorrelationDryRunResult['groups'][number] }) {
  // A reason names the alert it matched: by its title when that alert is in the group.
  const titles = useMemo(() => new Map(g.alerts.map((a) => [a.uuid, a.title])), [g.alerts]);
  return (
    <Card
      title={g.title}
      actions={
        <>
          <Badge value={g.severity} /> <span className="muted small">{g.alert_count} alerts</span>
        </>
      }
    >
      <ol className="timeline" aria-label={`Would join ${g.title}`}>
        {g.alerts.map((a) => (
          <li key={a.uuid}>
            <div className="row">
              <Link to={`/alerts/${a.uuid}`}>{a.title}</Link>
              <Time value={a.occurred_at} />
            </div>
            <MembershipReason reason={a.reason} titles={titles} />
          </li>
        ))}
      </ol>
      {g.alert_count > g.alerts.length && (
        <p className="muted small">
          The first {g.alerts.length} of {g.alert_count} alerts are listed.
        </p>
      )}
    </Card>
  );
}
