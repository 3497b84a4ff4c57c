import type { Db } from '@calseta/db';
import { type CorrelationConfig, type CorrelationConfigInput, CorrelationConfigSchema } from '@calseta/schema';
import { authorize } from '../auth/permissions.js';
import type { ServiceContext } from '../infra/context.js';
import { validationError } from '../infra/errors.js';
import { isCidr } from './keys.js';

/** The `settings` row holding the correlation rules. */
export const CORRELATION_SETTING = 'incident_correlation';

/** The stored rules over the defaults; an unreadable stored value falls back to the defaults. */
export async function loadCorrelationConfig(db: Db): Promise<CorrelationConfig> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', CORRELATION_SETTING).executeTakeFirst();
  const parsed = CorrelationConfigSchema.safeParse(row?.value ?? {});
  return parsed.success ? parsed.data : CorrelationConfigSchema.parse({});
}

function validated(input: CorrelationConfigInput): CorrelationConfig {
  const config = CorrelationConfigSchema.parse(input);
  const bad = config.excluded_cidrs.flatMap((cidr, i) =>
    isCidr(cidr) ? [] : [{ path: `excluded_cidrs.${i}`, message: 'Not an IP address or CIDR range.' }],
  );
  if (bad.length > 0) throw validationError('Invalid correlation rules.', bad);
  return config;
}

/** `GET /v1/incidents/correlation/config`. */
export async function getCorrelationConfig(ctx: ServiceContext): Promise<CorrelationConfig> {
  authorize(ctx, 'incidents:configure');
  return loadCorrelationConfig(ctx.db);
}

/** `PUT /v1/incidents/correlation/config`: replaces the rules (fields left out take their defaults). */
export async function updateCorrelationConfig(
  ctx: ServiceContext,
  input: CorrelationConfigInput,
): Promise<CorrelationConfig> {
  authorize(ctx, 'incidents:configure');
  const config = validated(input);
  // The transports' gate audits the write (api_write).
  await ctx.db
    .insertInto('settings')
    .values({ key: CORRELATION_SETTING, value: JSON.stringify(config) })
    .onConflict((oc) => oc.column('key').doUpdateSet({ value: JSON.stringify(config), updated_at: new Date() }))
    .execute();
  return config;
}

/** The stored rules with a dry run's overrides on top (validated like a save). */
export async function configWith(db: Db, overrides: Partial<CorrelationConfigInput> | undefined) {
  const stored = await loadCorrelationConfig(db);
  return overrides ? validated({ ...stored, ...overrides }) : stored;
}
