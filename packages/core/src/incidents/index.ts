/** Incidents (issue 23): correlation, the incident verbs, the dry run and the rules. */
export { CORRELATION_SETTING, getCorrelationConfig, loadCorrelationConfig, updateCorrelationConfig } from './config.js';
export { CORRELATION_BATCH_MAX, type CorrelationResult, correlateAlerts, type IncidentChange } from './correlate.js';
export { dryRunCorrelation } from './dry-run.js';
export { getIncident, listIncidentFindings, listIncidents, listIncidentTimeline, loadIncident } from './read.js';
export { addIncidentAlerts, addIncidentFinding, mergeIncidents, patchIncident, splitIncident } from './write.js';
