/** Workflows: CRUD, code versions, execution in the sandbox, runs. */
export { extractCode, GENERATE_SYSTEM_PROMPT, generateWorkflow } from './generate.js';
export { createWorkflowFetch, hostHttpOf, mockHostHttp } from './http.js';
export { mockWorkflowIntegrations, type WorkflowIntegrations, workflowIntegrations } from './integrations.js';
export {
  getWorkflowRun,
  listWorkflowRuns,
  runWorkflowJob,
  testWorkflow,
  workflowSandbox,
} from './runs.js';
export { seedBuiltinWorkflows } from './seed.js';
export {
  createWorkflow,
  deleteWorkflow,
  getWorkflow,
  listWorkflows,
  listWorkflowVersions,
  setWorkflowSecret,
  updateWorkflow,
} from './verbs.js';
