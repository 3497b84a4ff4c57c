import {
  type DispatchAgentResult,
  type IndicatorType,
  IndicatorTypeSchema,
  type PendingApproval,
  type WorkflowRun,
} from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import type { One } from '../api/client.js';
import { useApiMutation } from '../api/hooks.js';
import { agentQueries } from '../api/queries/agents.js';
import { alertQueries } from '../api/queries/alerts.js';
import { approvalQueries, workflowQueries, workflowRunQueries } from '../api/queries/workflows.js';
import { useAuth } from '../auth.js';
import { ErrorBanner } from './feedback.js';
import { SelectField, TextField } from './form.js';
import { Dialog } from './layout.js';

type ExecuteAnswer = WorkflowRun | PendingApproval;

/**
 * Execute a workflow on an indicator (optionally for an alert). Workflows that need approval answer
 * with an approval request; the dialog links to the approvals queue.
 */
export function RunWorkflowDialog({
  open,
  onClose,
  workflowUuid,
  alertUuid,
  indicators = [],
}: {
  open: boolean;
  onClose(): void;
  workflowUuid?: string;
  alertUuid?: string;
  indicators?: Array<{ type: IndicatorType; value: string }>;
}) {
  const workflows = useQuery({
    ...workflowQueries.list({ state: 'active', page_size: 200 }),
    enabled: open && !workflowUuid,
  });
  const [chosen, setChosen] = useState('');
  const first = indicators[0];
  const [type, setType] = useState<IndicatorType>(first?.type ?? 'ip');
  const [value, setValue] = useState(first?.value ?? '');
  const [reason, setReason] = useState('');
  const target = workflowUuid ?? chosen;
  // Only approvers see the queue; someone else is told who decides.
  const mayDecide = useAuth().can('approvals:write');
  const run = useApiMutation<One<ExecuteAnswer>, void>(
    () => ({
      path: `${workflowQueries.path(target)}/execute`,
      json: {
        indicator_type: type,
        indicator_value: value,
        ...(alertUuid ? { alert_uuid: alertUuid } : {}),
        ...(reason ? { reason } : {}),
      },
    }),
    { invalidates: [workflowRunQueries.all, approvalQueries.all, workflowQueries.detail(target).queryKey] },
  );
  const answer = run.data?.data;
  const all = workflows.data?.data ?? [];
  const accepted = all.find((w) => w.uuid === chosen)?.indicator_types ?? [];
  const usable = indicators.filter((i) => accepted.length === 0 || accepted.includes(i.type));
  return (
    <Dialog open={open} onClose={onClose} title="Run workflow">
      {answer ? (
        'approval_request_uuid' in answer ? (
          <div className="banner warn" role="status">
            Approval required — request sent.{' '}
            {mayDecide ? <Link to="/approvals">Open the approvals queue</Link> : 'An approver decides it'}.
          </div>
        ) : (
          <div className="banner ok" role="status">
            Run queued ({answer.status}). <Link to={`/workflows/${answer.workflow_uuid}?tab=runs`}>Follow the run</Link>
            .
          </div>
        )
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            run.mutate();
          }}
        >
          {!workflowUuid && (
            <SelectField
              label="Workflow"
              value={chosen}
              allowEmpty="Choose a workflow…"
              options={all.map((w) => ({
                value: w.uuid,
                label: `${w.name} (${w.risk_level} risk, approval ${w.approval_mode})`,
              }))}
              onChange={(uuid) => {
                setChosen(uuid);
                // Pick an indicator the workflow accepts.
                const types = all.find((w) => w.uuid === uuid)?.indicator_types ?? [];
                const fit = indicators.find((i) => types.length === 0 || types.includes(i.type));
                if (fit) {
                  setType(fit.type);
                  setValue(fit.value);
                }
              }}
            />
          )}
          {indicators.length > 0 && (
            <SelectField
              label="Indicator"
              value={`${type}:${value}`}
              options={usable.map((i) => ({ value: `${i.type}:${i.value}`, label: `${i.type} — ${i.value}` }))}
              onChange={(v) => {
                const found = indicators.find((i) => `${i.type}:${i.value}` === v);
                if (found) {
                  setType(found.type);
                  setValue(found.value);
                }
              }}
            />
          )}
          {indicators.length === 0 && (
            <div className="form-grid">
              <SelectField
                label="Indicator type"
                value={type}
                options={IndicatorTypeSchema.options}
                onChange={setType}
              />
              <TextField label="Indicator value" value={value} onChange={setValue} required />
            </div>
          )}
          <TextField label="Reason (optional)" value={reason} onChange={setReason} />
          <ErrorBanner error={run.error} />
          <div className="actions">
            <button type="submit" className="primary" disabled={!target || !value || run.isPending}>
              {run.isPending ? 'Starting…' : 'Run workflow'}
            </button>
          </div>
        </form>
      )}
    </Dialog>
  );
}

/** Send an alert to one agent now (dispatch-agent). */
export function RunAgentDialog({ open, onClose, alertUuid }: { open: boolean; onClose(): void; alertUuid: string }) {
  const agents = useQuery({ ...agentQueries.list({ page_size: 200 }), enabled: open });
  const [agent, setAgent] = useState('');
  const dispatch = useApiMutation<One<DispatchAgentResult>, void>(
    () => ({ path: `${alertQueries.path(alertUuid)}/dispatch-agent?agent_uuid=${agent}` }),
    { invalidates: [alertQueries.detail(alertUuid).queryKey] },
  );
  return (
    <Dialog open={open} onClose={onClose} title="Run agent">
      {dispatch.data ? (
        <div className="banner ok" role="status">
          Delivery to {dispatch.data.data.agent_name} queued. See the “Agent deliveries” tab.
        </div>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            dispatch.mutate();
          }}
        >
          <SelectField
            label="Agent"
            value={agent}
            allowEmpty="Choose an agent…"
            options={(agents.data?.data ?? [])
              .filter((a) => a.is_active)
              .map((a) => ({ value: a.uuid, label: a.name }))}
            onChange={setAgent}
          />
          <ErrorBanner error={agents.error ?? dispatch.error} />
          <button type="submit" className="primary" disabled={!agent || dispatch.isPending}>
            Send alert to agent
          </button>
        </form>
      )}
    </Dialog>
  );
}
