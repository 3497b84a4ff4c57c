import type { Workflow, WorkflowApproval, WorkflowCodeVersion, WorkflowRun, WorkflowSummary } from '@calseta/schema';
import type { List } from '../client.js';
import { resource } from './resource.js';

const workflows = resource<WorkflowSummary, Workflow>('workflows');
export const workflowQueries = {
  ...workflows,
  versions: (uuid: string) => workflows.sub<List<WorkflowCodeVersion>>(uuid, 'versions'),
};

export const workflowRunQueries = resource<WorkflowRun>('workflow-runs');
export const approvalQueries = resource<WorkflowApproval>('workflow-approvals');
