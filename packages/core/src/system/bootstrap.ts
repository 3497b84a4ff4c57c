import type { CoreDeps } from '../context.js';
import { seedSystemMappings } from '../mappings/verbs.js';

/** Seed the rows every installation has (idempotent; safe in every process at every start). */
export async function seedSystemRows(deps: Pick<CoreDeps, 'db'>): Promise<void> {
  await seedSystemMappings(deps.db);
}
