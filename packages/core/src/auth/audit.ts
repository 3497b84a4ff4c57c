import type { Db } from '@calseta/db';
import { sql } from 'kysely';
import { activityRow, redact } from '../infra/activity.js';
import type { ServiceContext } from '../infra/context.js';
import { newUuid } from '../infra/ids.js';
import { hitStatement } from './rate-limit.js';

export interface ApiWrite {
  method: string;
  /** The route pattern, e.g. `/v1/agents/:agent_uuid`. */
  route: string;
  /** The concrete path, without the query string (which may carry tokens). */
  path: string;
  status: number;
  /** The uuid the write touched (path parameter or the created resource), when known. */
  resourceId: string | null;
}

/** Audit one successful write through the API: who (key prefix and name), what, when. */
export async function recordApiWrite(ctx: ServiceContext, write: ApiWrite): Promise<void> {
  await ctx.db
    .insertInto('activity_events')
    .values(
      activityRow(ctx, {
        type: 'api_write',
        references: {
          method: write.method,
          route: write.route,
          path: write.path,
          status: write.status,
          resource_id: write.resourceId,
        },
      }),
    )
    .execute();
}

export interface AuthFailure {
  /** `missing_header`, `invalid_format`, `invalid_key`, `key_expired`, `insufficient_scope`. */
  reason: string;
  code: string;
  method: string;
  route: string;
  path: string;
  clientIp: string;
  /** First 8 characters of the presented token, when it looked like a key (never more). */
  keyPrefix: string | null;
  keyName?: string | null;
  requiredScopes?: readonly string[];
  requestId?: string;
}

/**
 * Count an authentication failure against its client IP and audit it, in ONE statement: the
 * per-IP counter of the current minute is bumped and an `auth_failed` event is inserted only while
 * that count is within `auditCap`. A flood of bad keys therefore costs one small upsert per request
 * and at most `auditCap` audit rows per IP per minute (the log line is still written for every one).
 * Returns the IP's failure count in this window and the seconds until it resets.
 */
export async function recordAuthFailure(
  db: Db,
  failure: AuthFailure,
  auditCap: number,
  windowSeconds = 60,
): Promise<{ count: number; resetSeconds: number }> {
  const references = JSON.stringify(
    redact({
      reason: failure.reason,
      code: failure.code,
      method: failure.method,
      route: failure.route,
      path: failure.path,
      client_ip: failure.clientIp,
      ...(failure.requiredScopes && { required_scopes: failure.requiredScopes }),
    }),
  );
  const { rows } = await sql<{ count: number; reset: number }>`
    WITH hit AS (${hitStatement(`authfail:ip:${failure.clientIp}`, windowSeconds)}),
    audit AS (
      INSERT INTO activity_events (uuid, event_type, actor_type, actor_key_prefix, actor_key_name, request_id, "references")
      SELECT ${newUuid()}, 'auth_failed', 'api', ${failure.keyPrefix}, ${failure.keyName ?? null}, ${failure.requestId ?? null}, ${references}::jsonb
      FROM hit WHERE hit.count <= ${auditCap}
    )
    SELECT count, reset FROM hit`.execute(db);
  const row = rows[0] as { count: number; reset: number };
  return { count: row.count, resetSeconds: row.reset };
}
