import type {
  ActivityEvent,
  AgentPayloadDoc,
  AgentRun,
  Alert,
  AlertFinding,
  AlertSummary,
  IndicatorDetail,
  RelatedAlert,
  RelationshipGraph,
} from '@calseta/schema';
import type { List, One, Page } from '../client.js';
import { resource } from './resource.js';

const alerts = resource<AlertSummary, Alert>('alerts');
export const alertQueries = {
  ...alerts,
  related: (uuid: string) => alerts.sub<List<RelatedAlert>>(uuid, 'related'),
  findings: (uuid: string) => alerts.sub<List<AlertFinding>>(uuid, 'findings'),
  activity: (uuid: string) => alerts.sub<Page<ActivityEvent>>(uuid, 'activity', { page_size: 100 }),
  graph: (uuid: string) => alerts.sub<One<RelationshipGraph>>(uuid, 'relationship-graph'),
  payload: (uuid: string) => alerts.sub<One<AgentPayloadDoc>>(uuid, 'context'),
  deliveries: (uuid: string) => alerts.sub<Page<AgentRun>>(uuid, 'agent-runs'),
};

export const indicatorQueries = resource<IndicatorDetail>('indicators');
