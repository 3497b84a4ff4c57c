import { MALICE_WEIGHT, type MaliceLevel } from '@calseta/schema';

/** The alert's verdict: the analyst's override, else the worst indicator verdict. */
export function alertMalice(override: string | null, indicators: readonly { malice: string }[]): MaliceLevel {
  if (override) return override as MaliceLevel;
  let worst: MaliceLevel = 'Pending';
  for (const { malice } of indicators) {
    const level = malice as MaliceLevel;
    if (level in MALICE_WEIGHT && MALICE_WEIGHT[level] > MALICE_WEIGHT[worst]) worst = level;
  }
  return worst;
}
