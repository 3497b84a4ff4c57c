import type { Db } from '@calseta/db';
import { sql } from 'kysely';
import type { Notifications } from '../notifications.js';
import type { RateDecision, RatePort } from './ports.js';

/** A provider's outbound limits (`enrichment_providers.rate_limit_per_minute` / `_per_day`); null = unlimited. */
export interface ProviderRateLimits {
  perMinute: number | null;
  perDay: number | null;
}

/** Limits by provider name: a table, or a lookup (e.g. over the loaded provider rows). Unknown → unlimited. */
export type RateLimitSource =
  | Readonly<Record<string, ProviderRateLimits>>
  | ((provider: string) => ProviderRateLimits | undefined | Promise<ProviderRateLimits | undefined>);

/** What the API shows as a provider's quota. `null` remaining = no such limit. */
export interface ProviderQuota {
  minute_remaining: number | null;
  day_remaining: number | null;
  /** Set while a 429 back-off is in force, else null. */
  paused_until: Date | null;
}

/** Notified with `<provider> <epoch ms>` when a provider is paused (a 429). */
export const PAUSES_CHANNEL = 'calseta_provider_paused';

/** now(), its minute window and its (UTC) day window, as every statement here computes them. */
const WINDOWS = sql`SELECT now() AS ts, date_trunc('minute', now()) AS minute, (now() AT TIME ZONE 'UTC')::date AS day`;

/**
 * The engine's rate governor over `provider_rate_state`, shared by every process: fixed windows per
 * minute and per UTC day, plus 429 pauses. Each `acquire` is one atomic upsert that rolls elapsed
 * windows and counts the call only when it is not paused and under both limits (the row lock of
 * ON CONFLICT serialises concurrent acquires), so no two processes can overshoot a limit.
 */
export class PgRateGovernor implements RatePort {
  /** Pauses in force, by provider (epoch ms), while following PAUSES_CHANNEL. */
  private pauses: Map<string, number> | undefined;
  private loadingPauses: Promise<Map<string, number>> | undefined;

  constructor(
    private readonly db: Db,
    private readonly limits: RateLimitSource = {},
  ) {}

  /**
   * Keep the pauses of every process in memory, so providers without limits cost no query per
   * call: pauses are loaded once and then arrive by notification (reloaded after a lost listener).
   */
  async attach(notifications: Pick<Notifications, 'listen' | 'onReconnect'>): Promise<void> {
    notifications.onReconnect(() => {
      this.pauses = undefined;
    });
    await notifications.listen(PAUSES_CHANNEL, (payload) => {
      const [provider, until] = payload.split(' ');
      if (provider && this.pauses) this.pauses.set(provider, Math.max(this.pauses.get(provider) ?? 0, Number(until)));
    });
    this.pauses = await this.loadPauses();
  }

  private loadPauses(): Promise<Map<string, number>> {
    this.loadingPauses ??= sql<{ provider_name: string; until_ms: number }>`
      SELECT provider_name, (extract(epoch FROM paused_until) * 1000)::float8 AS until_ms
      FROM provider_rate_state WHERE paused_until > now()`
      .execute(this.db)
      .then(({ rows }) => new Map(rows.map((r) => [r.provider_name, r.until_ms])))
      .finally(() => {
        this.loadingPauses = undefined;
      });
    return this.loadingPauses;
  }

  async acquire(provider: string): Promise<RateDecision> {
    const limits = await this.limitsOf(provider);
    const perMinute = limits?.perMinute ?? null;
    const perDay = limits?.perDay ?? null;
    // Nothing to count: only a 429 pause can refuse, and reading it writes nothing.
    if (perMinute === null && perDay === null) return this.pausedDecision(provider);
    const minLimit = sql`${perMinute}::int`;
    const dayLimit = sql`${perDay}::int`;
    const { rows } = await sql<{ ok: boolean; retry_ms: number | null; next_minute_ms: number }>`
      WITH cur AS (${WINDOWS}),
      up AS (
        INSERT INTO provider_rate_state AS s (provider_name, window_minute, minute_count, window_day, day_count)
        SELECT ${provider}, cur.minute, 1, cur.day, 1 FROM cur
        WHERE coalesce(${minLimit}, 1) >= 1 AND coalesce(${dayLimit}, 1) >= 1
        ON CONFLICT (provider_name) DO UPDATE SET
          window_minute = excluded.window_minute,
          minute_count = CASE WHEN s.window_minute = excluded.window_minute THEN s.minute_count + 1 ELSE 1 END,
          window_day = excluded.window_day,
          day_count = CASE WHEN s.window_day = excluded.window_day THEN s.day_count + 1 ELSE 1 END
        WHERE (s.paused_until IS NULL OR s.paused_until <= now())
          AND (${minLimit} IS NULL OR s.window_minute IS DISTINCT FROM excluded.window_minute
               OR s.minute_count < ${minLimit})
          AND (${dayLimit} IS NULL OR s.window_day IS DISTINCT FROM excluded.window_day
               OR s.day_count < ${dayLimit})
        RETURNING 1
      )
      SELECT
        EXISTS (SELECT 1 FROM up) AS ok,
        (SELECT greatest(
            CASE WHEN r.paused_until > cur.ts
              THEN extract(epoch FROM r.paused_until - cur.ts) * 1000 ELSE 0 END,
            CASE WHEN r.window_minute = cur.minute AND r.minute_count >= ${minLimit}
              THEN extract(epoch FROM cur.minute + interval '1 minute' - cur.ts) * 1000 ELSE 0 END,
            CASE WHEN r.window_day = cur.day AND r.day_count >= ${dayLimit}
              THEN extract(epoch FROM ((cur.day + 1)::timestamp AT TIME ZONE 'UTC') - cur.ts) * 1000 ELSE 0 END
          )::float8
          FROM provider_rate_state r WHERE r.provider_name = ${provider}) AS retry_ms,
        (extract(epoch FROM cur.minute + interval '1 minute' - cur.ts) * 1000)::float8 AS next_minute_ms
      FROM cur`.execute(this.db);
    const row = rows[0];
    if (row === undefined) throw new Error('rate governor: no decision row');
    if (row.ok) return { ok: true };
    // The denial reason is read from the statement's snapshot; should a concurrent change make it
    // invisible (or a limit be 0), fall back to the next minute window.
    const retry = row.retry_ms !== null && row.retry_ms > 0 ? row.retry_ms : row.next_minute_ms;
    return { ok: false, retryAfterMs: Math.max(1, Math.ceil(retry)) };
  }

  private async pausedDecision(provider: string): Promise<RateDecision> {
    if (this.pauses !== undefined || this.loadingPauses !== undefined) {
      this.pauses ??= await this.loadPauses();
      const left = (this.pauses.get(provider) ?? 0) - Date.now();
      return left > 0 ? { ok: false, retryAfterMs: Math.ceil(left) } : { ok: true };
    }
    const { rows } = await sql<{ retry_ms: number }>`
      SELECT (extract(epoch FROM paused_until - now()) * 1000)::float8 AS retry_ms
      FROM provider_rate_state WHERE provider_name = ${provider} AND paused_until > now()`.execute(this.db);
    const retry = rows[0]?.retry_ms;
    return retry === undefined ? { ok: true } : { ok: false, retryAfterMs: Math.max(1, Math.ceil(retry)) };
  }

  /** Stop calling `provider` for `ms` (a 429). Never shortens an existing pause. */
  async pause(provider: string, ms: number): Promise<void> {
    if (!Number.isFinite(ms)) throw new TypeError(`invalid pause: ${ms}`);
    const until = sql<Date>`now() + make_interval(secs => ${Math.max(0, ms) / 1000}::float8)`;
    // Stored, and announced to every process in the same statement.
    await sql`
      WITH up AS (
        INSERT INTO provider_rate_state AS s (provider_name, paused_until) VALUES (${provider}, ${until})
        ON CONFLICT (provider_name) DO UPDATE SET paused_until = greatest(s.paused_until, excluded.paused_until)
        RETURNING (extract(epoch FROM s.paused_until) * 1000)::float8 AS until_ms
      )
      SELECT pg_notify(${PAUSES_CHANNEL}, ${provider} || ' ' || until_ms::text) FROM up`.execute(this.db);
  }

  /** Calls left in the current minute / day, and the pause in force, for the quota display. */
  async remaining(provider: string): Promise<ProviderQuota> {
    const limits = await this.limitsOf(provider);
    const perMinute = limits?.perMinute ?? null;
    const perDay = limits?.perDay ?? null;
    const { rows } = await sql<{ minute_used: number; day_used: number; paused_until: Date | null }>`
      WITH cur AS (${WINDOWS})
      SELECT
        CASE WHEN r.window_minute = cur.minute THEN r.minute_count ELSE 0 END AS minute_used,
        CASE WHEN r.window_day = cur.day THEN r.day_count ELSE 0 END AS day_used,
        CASE WHEN r.paused_until > cur.ts THEN r.paused_until END AS paused_until
      FROM cur LEFT JOIN provider_rate_state r ON r.provider_name = ${provider}`.execute(this.db);
    const row = rows[0] ?? { minute_used: 0, day_used: 0, paused_until: null };
    return {
      minute_remaining: perMinute === null ? null : Math.max(0, perMinute - row.minute_used),
      day_remaining: perDay === null ? null : Math.max(0, perDay - row.day_used),
      paused_until: row.paused_until,
    };
  }

  private async limitsOf(provider: string): Promise<ProviderRateLimits | undefined> {
    if (typeof this.limits === 'function') return this.limits(provider);
    return Object.hasOwn(this.limits, provider) ? this.limits[provider] : undefined;
  }
}
