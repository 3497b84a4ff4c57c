import { getIncident, listIncidents, listIncidentTimeline, type ServiceContext } from '@calseta/core';
import { LIST_LIMIT, type ResourceDefinition, variable } from '../define.js';

const newest = (ctx: ServiceContext) => listIncidents(ctx, { page: 1, page_size: LIST_LIMIT });

/** Incidents (issue 23): related alerts grouped by correlation, each membership with its reason. */
export const INCIDENT_RESOURCES: ResourceDefinition[] = [
  {
    name: 'incidents',
    uri: 'calseta://incidents',
    description: 'The 50 most recently opened incidents (related alerts grouped by correlation).',
    permissions: ['incidents:read'],
    read: async (ctx) => {
      const { items, total } = await newest(ctx);
      return { incidents: items, count: items.length, total };
    },
  },
  {
    name: 'incident',
    uri: 'calseta://incidents/{uuid}',
    description:
      'One incident: its member alerts (each with why it joined), the entities they share with their verdicts, metrics.',
    permissions: ['incidents:read'],
    list: async (ctx) =>
      (await newest(ctx)).items.map((i) => ({ uri: `calseta://incidents/${i.uuid}`, name: i.title })),
    read: (ctx, { uuid }) => getIncident(ctx, { uuid: variable(uuid) }),
  },
  {
    name: 'incident-timeline',
    uri: 'calseta://incidents/{uuid}/timeline',
    description: 'An incident’s timeline, oldest first (max 200 events).',
    permissions: ['incidents:read'],
    read: async (ctx, { uuid }) => {
      const { items, total } = await listIncidentTimeline(ctx, {
        uuid: variable(uuid),
        query: { page: 1, page_size: 200 },
      });
      return { events: items, count: items.length, total };
    },
  },
];
