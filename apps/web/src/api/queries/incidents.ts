import type { AlertFinding, CorrelationConfig, Incident, IncidentEvent, IncidentSummary } from '@calseta/schema';
import type { List, One, Page } from '../client.js';
import { get, resource } from './resource.js';

const incidents = resource<IncidentSummary, Incident>('incidents');
export const incidentQueries = {
  ...incidents,
  /** Oldest first, as the API answers. */
  timeline: (uuid: string) => incidents.sub<Page<IncidentEvent>>(uuid, 'timeline', { page_size: 200 }),
  findings: (uuid: string) => incidents.sub<List<AlertFinding>>(uuid, 'findings'),
  /** The correlation rules in force (admin). */
  correlationConfig: () =>
    get<One<CorrelationConfig>>([...incidents.all, 'correlation', 'config'], `${incidents.path()}/correlation/config`),
};
