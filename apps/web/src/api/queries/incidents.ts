import type { AlertFinding, Incident, IncidentEvent, IncidentSummary } from '@calseta/schema';
import type { List, Page } from '../client.js';
import { resource } from './resource.js';

const incidents = resource<IncidentSummary, Incident>('incidents');
export const incidentQueries = {
  ...incidents,
  /** Oldest first, as the API answers. */
  timeline: (uuid: string) => incidents.sub<Page<IncidentEvent>>(uuid, 'timeline', { page_size: 200 }),
  findings: (uuid: string) => incidents.sub<List<AlertFinding>>(uuid, 'findings'),
};
