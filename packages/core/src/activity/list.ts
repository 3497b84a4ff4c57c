import type { ActivityListQuery, AuditEvent } from '@calseta/schema';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';
import { iso, pageOf } from '../infra/serialize.js';

/** `GET /v1/activity`: the whole audit log (domain events, API writes, auth failures), newest first. */
export async function listActivity(ctx: ServiceContext, query: ActivityListQuery) {
  authorize(ctx, 'activity:read');
  let base = ctx.db.selectFrom('activity_events');
  if (query.event_type && query.event_type.length > 0) base = base.where('event_type', 'in', query.event_type);
  if (query.actor_type) base = base.where('actor_type', '=', query.actor_type);
  if (query.actor_key_prefix) base = base.where('actor_key_prefix', '=', query.actor_key_prefix);
  if (query.request_id) base = base.where('request_id', '=', query.request_id);
  if (query.from) base = base.where('created_at', '>=', new Date(query.from));
  if (query.to) base = base.where('created_at', '<', new Date(query.to));
  const [rows, count] = await Promise.all([
    base
      .select([
        'uuid',
        'event_type',
        'actor_type',
        'actor_key_prefix',
        'actor_key_name',
        'actor_user_uuid',
        'actor_user_email',
        'request_id',
        'references',
        'created_at',
      ])
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(query.page_size)
      .offset((query.page - 1) * query.page_size)
      .execute(),
    base.select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ]);
  const data: AuditEvent[] = rows.map((r) => ({
    uuid: r.uuid,
    event_type: r.event_type,
    actor_type: r.actor_type as AuditEvent['actor_type'],
    actor_key_prefix: r.actor_key_prefix,
    actor_key_name: r.actor_key_name,
    actor_user: r.actor_user_uuid ? { uuid: r.actor_user_uuid, email: r.actor_user_email ?? '' } : null,
    request_id: r.request_id,
    references: (r.references ?? {}) as Record<string, unknown>,
    created_at: iso(r.created_at),
  }));
  return pageOf(data, Number(count.n), query);
}
