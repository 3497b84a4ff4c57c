import type { CoreDeps } from '../context.js';
import { seedBuiltinProviders } from '../enrichment/seed.js';
import { seedSystemMappings } from '../mappings/verbs.js';

/** Seed the rows every installation has (idempotent; safe in every process at every start). */
export async function seedSystemRows(deps: Pick<CoreDeps, 'db'>): Promise<void> {
  await seedSystemMappings(deps.db);
  await seedBuiltinProviders(deps.db);
}
