import type { ResourceDefinition } from '../define.js';
import { ALERT_RESOURCES } from './alerts.js';
import { CONTEXT_DOCUMENT_RESOURCES } from './context-documents.js';
import { DETECTION_RULE_RESOURCES } from './detection-rules.js';
import { ENRICHMENT_RESOURCES } from './enrichments.js';
import { INCIDENT_RESOURCES } from './incidents.js';
import { METRICS_RESOURCES } from './metrics.js';
import { WORKFLOW_RESOURCES } from './workflows.js';

/** Every resource and template, in the order resources/list gives them. */
export const RESOURCES: readonly ResourceDefinition[] = [
  ...ALERT_RESOURCES,
  ...DETECTION_RULE_RESOURCES,
  ...CONTEXT_DOCUMENT_RESOURCES,
  ...WORKFLOW_RESOURCES,
  ...METRICS_RESOURCES,
  ...ENRICHMENT_RESOURCES,
  ...INCIDENT_RESOURCES,
];
