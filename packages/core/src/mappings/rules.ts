import type { Db } from '../context.js';
import type { MappingRule } from '../ingest/extract.js';

/** How long a process trusts its copy of the active mappings. Edits reach every process within this. */
const TTL_MS = 5_000;

/**
 * Active indicator mappings, cached briefly per process because ingest reads them on every alert.
 * Writes through core invalidate the local copy at once; other processes see them within TTL_MS.
 */
export class MappingRuleCache {
  private all: Array<MappingRule & { source_name: string | null; is_system: boolean }> = [];
  private loadedAt = 0;
  private loading: Promise<void> | undefined;

  async forSource(db: Db, sourceName: string): Promise<Array<MappingRule & { is_system: boolean }>> {
    if (Date.now() - this.loadedAt > TTL_MS) {
      this.loading ??= this.load(db).finally(() => {
        this.loading = undefined;
      });
      await this.loading;
    }
    return this.all.filter((r) => r.source_name === null || r.source_name === sourceName);
  }

  invalidate(): void {
    this.loadedAt = 0;
  }

  private async load(db: Db): Promise<void> {
    this.all = await db
      .selectFrom('indicator_field_mappings')
      .select(['source_name', 'field_path', 'indicator_type', 'extraction_target', 'is_system'])
      .where('is_active', '=', true)
      .orderBy('id')
      .execute();
    this.loadedAt = Date.now();
  }
}
