import type { Incident, IncidentMember } from '@calseta/schema';
import { type ReactNode, useMemo, useState } from 'react';
import { Link } from 'react-router';
import type { One } from '../api/client.js';
import { useApiMutation } from '../api/hooks.js';
import { incidentQueries } from '../api/queries/incidents.js';
import { Badge, ErrorBanner, Time } from './feedback.js';
import { TextField } from './form.js';
import { IncidentPicker } from './incident-picker.js';
import { MembershipReason } from './incident-reason.js';
import { Card, Dialog } from './layout.js';
import { type Column, DataTable } from './table.js';

/** Split, move and add all change two incidents and every list: the whole resource reloads. */
function useIncidentAction<V>(path: (vars: V) => string, json: (vars: V) => unknown, onDone: (i: Incident) => void) {
  return useApiMutation<One<Incident>, V>((vars) => ({ path: path(vars), json: json(vars) }), {
    invalidates: [incidentQueries.all],
    onSuccess: (res) => onDone(res.data),
  });
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The member alerts, newest first, each with why it joined; select some to split them into a new
 * incident or move them into another. Analysts' moves are pinned: correlation never undoes them.
 */
export function IncidentMembers({ incident, editable }: { incident: Incident; editable: boolean }) {
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set());
  const [dialog, setDialog] = useState<null | 'split' | 'move'>(null);
  const [done, setDone] = useState<ReactNode>(null);
  const titles = useMemo(() => new Map(incident.alerts.map((a) => [a.uuid, a.title])), [incident.alerts]);
  const toggle = (uuid: string, on: boolean) =>
    setSelected((prev) => {
      const next = new Set(prev);
      if (on) next.add(uuid);
      else next.delete(uuid);
      return next;
    });
  const finish = (text: string) => (to: Incident) => {
    setSelected(new Set());
    setDialog(null);
    setDone(
      <>
        {text} <Link to={`/incidents/${to.uuid}`}>{to.title}</Link>.
      </>,
    );
  };
  const select: Column<IncidentMember> = {
    id: 'select',
    header: 'Select',
    cell: (a) => (
      <input
        type="checkbox"
        aria-label={`Select ${a.title}`}
        checked={selected.has(a.uuid)}
        onChange={(e) => toggle(a.uuid, e.target.checked)}
      />
    ),
  };
  const columns: Column<IncidentMember>[] = [
    ...(editable ? [select] : []),
    { id: 'title', header: 'Alert', className: 'wrap', cell: (a) => <Link to={`/alerts/${a.uuid}`}>{a.title}</Link> },
    { id: 'severity', header: 'Severity', cell: (a) => <Badge value={a.severity} /> },
    { id: 'malice', header: 'Verdict', cell: (a) => <Badge value={a.malice} /> },
    { id: 'status', header: 'Status', cell: (a) => <Badge value={a.status} /> },
    {
      id: 'why',
      header: 'Why it is here',
      className: 'wrap',
      cell: (a) => <MembershipReason reason={a.membership.reason} titles={titles} />,
    },
    {
      id: 'added',
      header: 'Joined',
      cell: (a) => (
        <span className="row">
          <Time value={a.membership.added_at} />
          {a.membership.pinned && <Badge value="pinned" tone="muted" />}
        </span>
      ),
    },
    { id: 'occurred', header: 'Occurred', cell: (a) => <Time value={a.occurred_at} /> },
  ];
  const uuids = [...selected];
  return (
    <div className="stack">
      {editable && (
        <div className="toolbar" role="toolbar" aria-label="Member alert actions">
          <span className="muted small">{selected.size} selected</span>
          <button type="button" disabled={selected.size === 0} onClick={() => setDialog('split')}>
            Split into a new incident
          </button>
          <button type="button" disabled={selected.size === 0} onClick={() => setDialog('move')}>
            Move to another incident
          </button>
        </div>
      )}
      {done && (
        <p className="banner ok" role="status">
          {done}
        </p>
      )}
      <DataTable
        caption="Member alerts"
        columns={columns}
        rows={incident.alerts}
        rowKey={(a) => a.uuid}
        empty="This incident has no alerts left."
      />
      {incident.alert_count > incident.alerts.length && (
        <p className="muted small">
          The newest {incident.alerts.length} of {incident.alert_count} alerts are listed.
        </p>
      )}
      {editable && <AddAlerts incidentUuid={incident.uuid} onDone={finish('Moved into')} />}
      <SplitDialog
        open={dialog === 'split'}
        onClose={() => setDialog(null)}
        incidentUuid={incident.uuid}
        alertUuids={uuids}
        onDone={finish('Split into')}
      />
      <MoveDialog
        open={dialog === 'move'}
        onClose={() => setDialog(null)}
        incidentUuid={incident.uuid}
        alertUuids={uuids}
        onDone={finish('Moved to')}
      />
    </div>
  );
}

interface ActionDialogProps {
  open: boolean;
  onClose(): void;
  incidentUuid: string;
  alertUuids: string[];
  onDone(incident: Incident): void;
}

function SplitDialog({ open, onClose, incidentUuid, alertUuids, onDone }: ActionDialogProps) {
  const [title, setTitle] = useState('');
  const split = useIncidentAction<void>(
    () => `${incidentQueries.path(incidentUuid)}/split`,
    () => ({ alert_uuids: alertUuids, ...(title.trim() ? { title: title.trim() } : {}) }),
    onDone,
  );
  return (
    <Dialog open={open} onClose={onClose} title="Split into a new incident">
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          split.mutate();
        }}
      >
        <p>
          {alertUuids.length} alert{alertUuids.length === 1 ? '' : 's'} leave this incident for a new one. The move is
          pinned: correlation will not bring them back.
        </p>
        <TextField label="Title of the new incident" hint="Optional" value={title} onChange={setTitle} />
        <ErrorBanner error={split.error} />
        <button type="submit" className="primary" disabled={split.isPending}>
          Split
        </button>
      </form>
    </Dialog>
  );
}

function MoveDialog({ open, onClose, incidentUuid, alertUuids, onDone }: ActionDialogProps) {
  const [target, setTarget] = useState<string[]>([]);
  const move = useIncidentAction<string>(
    (to) => `${incidentQueries.path(to)}/alerts`,
    () => ({ alert_uuids: alertUuids }),
    onDone,
  );
  const to = target[0];
  return (
    <Dialog open={open} onClose={onClose} title="Move to another incident">
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          if (to) move.mutate(to);
        }}
      >
        <IncidentPicker legend="Target incident" exclude={incidentUuid} value={target} onChange={setTarget} />
        <ErrorBanner error={move.error} />
        <button type="submit" className="primary" disabled={!to || move.isPending}>
          Move {alertUuids.length} alert{alertUuids.length === 1 ? '' : 's'}
        </button>
      </form>
    </Dialog>
  );
}

/** Alerts from elsewhere (loose, or in another incident), by UUID: they join this incident, pinned. */
function AddAlerts({ incidentUuid, onDone }: { incidentUuid: string; onDone(incident: Incident): void }) {
  const [text, setText] = useState('');
  const uuids = text.split(/[\s,]+/).filter(Boolean);
  const invalid = uuids.filter((u) => !UUID.test(u));
  const add = useIncidentAction<void>(
    () => `${incidentQueries.path(incidentUuid)}/alerts`,
    () => ({ alert_uuids: uuids }),
    (i) => {
      setText('');
      onDone(i);
    },
  );
  return (
    <Card title="Move alerts into this incident">
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          add.mutate();
        }}
      >
        <div className="grow">
          <TextField
            label="Alert UUIDs"
            hint={invalid.length > 0 ? `Not a UUID: ${invalid[0]}` : 'Separated by commas or spaces'}
            value={text}
            onChange={setText}
          />
        </div>
        <button type="submit" disabled={uuids.length === 0 || invalid.length > 0 || add.isPending}>
          Move in
        </button>
      </form>
      <ErrorBanner error={add.error} />
    </Card>
  );
}
