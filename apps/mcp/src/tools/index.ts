import type { ToolDefinition } from '../define.js';
import { getAlertContextTool, postAlertFinding, searchAlerts, updateAlertMalice, updateAlertStatus } from './alerts.js';
import { searchDetectionRules } from './detection-rules.js';
import { getIncidentTool, postIncidentFinding, searchIncidents, updateIncidentStatus } from './incidents.js';
import { enrichIndicator, updateIndicatorMalice } from './indicators.js';
import { getMetrics } from './metrics.js';
import { executeWorkflowTool, listWorkflowsTool } from './workflows.js';

/** Every tool, in the order tools/list gives them. */
export const TOOLS: readonly ToolDefinition[] = [
  searchAlerts,
  getAlertContextTool,
  postAlertFinding,
  updateAlertStatus,
  updateAlertMalice,
  updateIndicatorMalice,
  searchDetectionRules,
  listWorkflowsTool,
  executeWorkflowTool,
  enrichIndicator,
  getMetrics,
  searchIncidents,
  getIncidentTool,
  postIncidentFinding,
  updateIncidentStatus,
];
