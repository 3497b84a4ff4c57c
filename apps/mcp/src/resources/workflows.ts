import { getWorkflow, listWorkflows } from '@calseta/core';
import { catalogue } from '../define.js';

export const WORKFLOW_RESOURCES = catalogue({
  name: 'workflows',
  item: 'workflow',
  permissions: ['workflows:read'],
  description: {
    collection: 'Workflows, without code (max 500).',
    item: 'One workflow with its code and approval settings.',
  },
  list: listWorkflows,
  get: getWorkflow,
  title: (workflow) => workflow.name,
});
