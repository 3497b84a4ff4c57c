/** Metrics, findings and the relationship graph. */
export { getAlertMetrics, getDetectionRuleMetrics } from './alerts.js';
export { addAlertFinding, listAlertFindings } from './findings.js';
export { enrichmentSummary, getRelationshipGraph } from './graph.js';
export { getMetricsSummary, getWorkflowMetrics, queueMetrics } from './workflows.js';
