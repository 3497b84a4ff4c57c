import { getAlert, getAlertContext, listAlertActivity, listAlerts, type ServiceContext } from '@calseta/core';
import { LIST_LIMIT, type ResourceDefinition, variable } from '../define.js';

const newest = (ctx: ServiceContext) => listAlerts(ctx, { page: 1, page_size: LIST_LIMIT });

export const ALERT_RESOURCES: ResourceDefinition[] = [
  {
    name: 'alerts',
    uri: 'calseta://alerts',
    description: 'The 50 most recent alerts (by occurred_at). Subscribable.',
    permissions: ['alerts:read'],
    read: async (ctx) => {
      const { items, total } = await newest(ctx);
      return { alerts: items, count: items.length, total };
    },
  },
  {
    name: 'alert',
    uri: 'calseta://alerts/{uuid}',
    description: 'One alert with its indicators, detection rule and findings. Subscribable.',
    permissions: ['alerts:read'],
    list: async (ctx) => (await newest(ctx)).items.map((a) => ({ uri: `calseta://alerts/${a.uuid}`, name: a.title })),
    read: async (ctx, { uuid }) => {
      const { alert, meta } = await getAlert(ctx, { uuid: variable(uuid) });
      return { data: alert, meta }; // the resource's documented shape (docs/mcp.md)
    },
  },
  {
    name: 'alert-context',
    uri: 'calseta://alerts/{uuid}/context',
    description:
      'The agent payload of an alert (default token budget; use get_alert_context to choose one). Subscribable.',
    permissions: ['alerts:read'],
    read: (ctx, { uuid }) => getAlertContext(ctx, { uuid: variable(uuid) }),
  },
  {
    name: 'alert-activity',
    uri: 'calseta://alerts/{uuid}/activity',
    description: 'An alert’s activity log, newest first (max 100).',
    permissions: ['alerts:read'],
    read: async (ctx, { uuid }) => {
      const { items } = await listAlertActivity(ctx, { uuid: variable(uuid), query: { page: 1, page_size: 100 } });
      return { activity: items, count: items.length };
    },
  },
];
