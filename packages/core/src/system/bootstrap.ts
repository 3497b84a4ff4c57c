import { seedBuiltinProviders } from '../enrichment/seed.js';
import type { CoreDeps } from '../infra/context.js';
import { seedSystemMappings } from '../mappings/verbs.js';
import { seedBuiltinWorkflows } from '../workflows/seed.js';

/**
 * Seed the rows every installation has (idempotent; safe in every process at every start). The
 * builtin workflows are `active` only when their provider's credentials resolve (needs `enrichment`).
 */
export async function seedSystemRows(
  deps: Pick<CoreDeps, 'db'> & Partial<Pick<CoreDeps, 'enrichment' | 'integrations'>>,
): Promise<void> {
  await seedSystemMappings(deps.db);
  await seedBuiltinProviders(deps.db, deps.integrations?.builtinProviders ?? []);
  await seedBuiltinWorkflows(deps);
}
