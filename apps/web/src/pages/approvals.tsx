import { ApprovalStatusSchema, type WorkflowApproval } from '@calseta/schema';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import type { One } from '../api/client.js';
import { useApiMutation } from '../api/hooks.js';
import { metricQueries } from '../api/queries/system.js';
import { approvalQueries, workflowRunQueries } from '../api/queries/workflows.js';
import { useAuth } from '../auth.js';
import { Badge, ErrorBanner, Loading, LongText, Time } from '../components/feedback.js';
import { MultiFilter } from '../components/form.js';
import { Dialog, PageHeader } from '../components/layout.js';
import { type Column, DataTable, Pagination, useListParams } from '../components/table.js';

export function ApprovalsPage() {
  const { can, session } = useAuth();
  // The queue and its decisions need approvals:write (the approver role); without it, say so rather
  // than show buttons the server refuses.
  const mayDecide = can('approvals:write');
  const list = useListParams(['status']);
  const status = list.filters.status?.length ? list.filters.status : ['pending'];
  const approvals = useQuery({
    ...approvalQueries.list({ ...list.apiParams, status: status.join(',') }),
    refetchInterval: 5_000,
    enabled: mayDecide,
  });
  const decide = useApiMutation<One<WorkflowApproval>, { uuid: string; decision: 'approve' | 'reject' }>(
    ({ uuid, decision }) => ({ path: `${approvalQueries.path(uuid)}/${decision}`, json: {} }),
    { invalidates: [approvalQueries.all, workflowRunQueries.all, metricQueries.all] },
  );
  const [rejecting, setRejecting] = useState<WorkflowApproval | null>(null);
  const columns: Column<WorkflowApproval>[] = [
    {
      id: 'workflow',
      header: 'Workflow',
      cell: (a) => <Link to={`/workflows/${a.workflow_uuid}`}>{a.workflow_name}</Link>,
    },
    {
      id: 'actions',
      header: 'Decision',
      cell: (a) =>
        a.status === 'pending' ? (
          <div className="row">
            <button
              type="button"
              className="primary small"
              disabled={decide.isPending}
              aria-label={`Approve ${a.workflow_name} on ${a.trigger_context?.indicator_value ?? ''}`}
              onClick={() => decide.mutate({ uuid: a.uuid, decision: 'approve' })}
            >
              Approve
            </button>
            <button type="button" className="danger small" disabled={decide.isPending} onClick={() => setRejecting(a)}>
              Reject
            </button>
          </div>
        ) : (
          // `user:<uuid>` (a person) or `api_key:<uuid>` in full on hover; the first characters tell deciders apart.
          <span className="muted small" title={a.responder_id ?? undefined}>
            {a.responder_id ? `by ${a.responder_id.replace(/^((?:api_key|user):.{8}).*$/, '$1…')}` : ''}
          </span>
        ),
    },
    { id: 'status', header: 'Status', cell: (a) => <Badge value={a.status} /> },
    { id: 'risk', header: 'Risk', cell: (a) => <Badge value={a.risk_level} /> },
    {
      id: 'target',
      header: 'Target',
      className: 'wrap',
      cell: (a) =>
        a.trigger_context ? (
          <>
            {a.trigger_context.indicator_type} <code>{a.trigger_context.indicator_value}</code>
            {a.trigger_context.alert_uuid && (
              <>
                {' '}
                · <Link to={`/alerts/${a.trigger_context.alert_uuid}`}>alert</Link>
              </>
            )}
          </>
        ) : (
          '—'
        ),
    },
    {
      id: 'by',
      header: 'Requested by',
      // An agent's confidence belongs with the agent (one column fewer: the decision stays on screen).
      cell: (a) =>
        `${a.trigger_type} ${a.trigger_agent_key_prefix}${a.trigger_type === 'agent' ? ` · ${Math.round(a.confidence * 100)}%` : ''}`,
    },
    { id: 'reason', header: 'Reason', className: 'wrap', cell: (a) => <LongText text={a.reason} /> },
    { id: 'expires', header: 'Expires', cell: (a) => <Time value={a.expires_at} /> },
    {
      id: 'result',
      header: 'Result',
      className: 'wrap',
      cell: (a) =>
        a.execution_result ? (
          <>
            <Badge value={a.execution_result.success ? 'succeeded' : 'failed'} />{' '}
            <LongText text={a.execution_result.message} />
          </>
        ) : a.run_uuid ? (
          <Link to={`/workflows/${a.workflow_uuid}?tab=runs`}>run queued</Link>
        ) : (
          ''
        ),
    },
  ];
  if (!mayDecide) {
    return (
      <>
        <PageHeader title="Approvals" subtitle="Workflow runs waiting for a human decision." />
        <p className="banner warn" role="status">
          Approvals are decided by approvers (scope approvals:write), and{' '}
          {session.user
            ? `your roles (${session.user.roles.join(', ') || 'none'}) do not include it`
            : 'the key you signed in with does not hold it'}
          . Ask an administrator for the approver role.
        </p>
      </>
    );
  }
  return (
    <>
      <PageHeader title="Approvals" subtitle="Workflow runs waiting for a human decision." />
      <div className="toolbar">
        <MultiFilter
          label="Status"
          options={ApprovalStatusSchema.options}
          value={status}
          onChange={(v) => list.setFilter('status', v)}
        />
      </div>
      <ErrorBanner error={approvals.error ?? decide.error} />
      {decide.data && (
        <p className="banner ok" role="status">
          {decide.data.data.status === 'approved' ? 'Approved: the run is queued.' : 'Rejected: nothing runs.'}
        </p>
      )}
      {!approvals.data ? (
        approvals.isLoading && <Loading />
      ) : (
        <>
          <DataTable
            caption="Approval requests"
            columns={columns}
            rows={approvals.data.data}
            rowKey={(a) => a.uuid}
            empty="No approval requests with this status."
          />
          <Pagination meta={approvals.data.meta} onPage={list.setPage} onPageSize={list.setPageSize} />
        </>
      )}
      <Dialog open={rejecting !== null} onClose={() => setRejecting(null)} title="Reject this request?">
        {rejecting && (
          <>
            <p>
              <strong>{rejecting.workflow_name}</strong> will not run on {rejecting.trigger_context?.indicator_value}.
            </p>
            <div className="actions">
              <button type="button" onClick={() => setRejecting(null)}>
                Cancel
              </button>
              <button
                type="button"
                className="danger"
                onClick={() =>
                  decide.mutate({ uuid: rejecting.uuid, decision: 'reject' }, { onSuccess: () => setRejecting(null) })
                }
              >
                Reject
              </button>
            </div>
          </>
        )}
      </Dialog>
    </>
  );
}
