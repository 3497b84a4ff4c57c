import type { Db } from '@calseta/db';
import type { ActivityEventType } from '@calseta/schema';
import type { Actor, ServiceContext } from './context.js';
import { newUuid } from './ids.js';
import { insertJsonStatement } from './insert-json.js';

const SECRET_KEYS = new Set([
  'password',
  'secret',
  'token',
  'api_key',
  'apikey',
  'api-key',
  'authorization',
  'auth_header',
  'auth_header_value',
  'credential',
  'credentials',
  'private_key',
  'access_token',
  'refresh_token',
  'client_secret',
  'key',
]);
const SECRET_VALUE =
  /\b(cai_[A-Za-z0-9_-]{8,}|sk-[A-Za-z0-9_-]{8,}|xox[bap]-[A-Za-z0-9-]{8,}|Bearer\s+\S+|api_key=\S+)/g;

/** Copy of `value` with secret-named keys and secret-looking strings replaced by "[REDACTED]". */
export function redact(value: unknown): unknown {
  if (typeof value === 'string') return value.replace(SECRET_VALUE, '[REDACTED]');
  if (Array.isArray(value)) return value.map(redact);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([k, v]) => [k, SECRET_KEYS.has(k.toLowerCase()) ? '[REDACTED]' : redact(v)]),
    );
  }
  return value;
}

export interface ActivityInput {
  type: ActivityEventType;
  alertId?: number | null;
  detectionRuleId?: number | null;
  indicatorId?: number | null;
  references?: Record<string, unknown>;
}

/** Who acted and on which request: taken from the service context. */
export type ActivitySource = Pick<ServiceContext, 'actor' | 'requestId'>;

function actorColumns(actor: Actor) {
  if (actor.type === 'system') {
    return {
      actor_type: 'system',
      actor_key_prefix: null,
      actor_key_name: null,
      api_key_id: null,
      actor_user_uuid: null,
      actor_user_email: null,
    };
  }
  const { key } = actor;
  return {
    actor_type: actor.type,
    actor_key_prefix: key.prefix,
    actor_key_name: key.name,
    api_key_id: key.id,
    actor_user_uuid: key.user?.uuid ?? null,
    actor_user_email: key.user?.email ?? null,
  };
}

/** The actor as `created_by`-style columns record it: a person's email, else the key's prefix, or `system`. */
export function actorLabel(ctx: Pick<ServiceContext, 'actor'>): string {
  if (ctx.actor.type === 'system') return 'system';
  return ctx.actor.key.user?.email ?? ctx.actor.key.prefix;
}

/** Row for `activity_events`, sanitized. Use inside the transaction of the change it records. */
export function activityRow(source: ActivitySource, input: ActivityInput) {
  return {
    uuid: newUuid(),
    event_type: input.type,
    ...actorColumns(source.actor),
    alert_id: input.alertId ?? null,
    detection_rule_id: input.detectionRuleId ?? null,
    indicator_id: input.indicatorId ?? null,
    references: JSON.stringify(redact(input.references ?? {})),
    request_id: source.requestId ?? null,
  };
}

/** Append many activity events (`activityRow`s, with whatever columns they add) in one statement. */
export async function insertActivityRows(db: Db, rows: ReadonlyArray<ReturnType<typeof activityRow>>): Promise<void> {
  if (rows.length === 0) return;
  await activityInsert(rows).execute(db);
}

/** {@link insertActivityRows}' statement (at least one row), for a larger statement to carry. */
export function activityInsert(rows: ReadonlyArray<ReturnType<typeof activityRow>>) {
  // `references` is JSON text for Kysely's inserts; here it travels inside the jsonb parameter.
  return insertJsonStatement(
    'activity_events',
    rows.map((row) => ({ ...row, references: JSON.parse(row.references) as unknown })),
  );
}

/** Append an activity event (append-only audit of who did what, when). */
export async function recordActivity(db: Db, source: ActivitySource, input: ActivityInput): Promise<void> {
  await db.insertInto('activity_events').values(activityRow(source, input)).execute();
}
