import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { incidentQueries } from '../api/queries/incidents.js';

/** The incident an alert belongs to, as a link (nothing while loading, when it has none, or on error). */
export function AlertIncidentLink({ alertUuid }: { alertUuid: string }) {
  const list = useQuery(incidentQueries.list({ alert_uuid: alertUuid, page_size: 1 }));
  const incident = list.data?.data[0];
  if (!incident) return null;
  return (
    <span>
      Incident <Link to={`/incidents/${incident.uuid}`}>{incident.title}</Link>
    </span>
  );
}
