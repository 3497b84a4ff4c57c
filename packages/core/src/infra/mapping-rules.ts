import type { Db } from '@calseta/db';
import type { Notifications } from './notifications.js';

/** An active indicator field mapping, as extraction needs it. */
export interface MappingRule {
  field_path: string;
  indicator_type: string;
  extraction_target: string;
}

/** Notified (after commit) when any mapping changes, so every process reloads. */
export const MAPPINGS_CHANNEL = 'calseta_mappings';
/** Without a live listener a process re-reads the mappings at least this often. */
const TTL_MS = 5_000;

/**
 * Active indicator mappings, cached per process because ingest reads them on every alert. Every
 * mapping write notifies MAPPINGS_CHANNEL after commit and every process reloads; TTL_MS bounds
 * staleness should a notification be lost.
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

  async attach(notifications: Notifications): Promise<void> {
    notifications.onReconnect(() => this.invalidate());
    await notifications.listen(MAPPINGS_CHANNEL, () => this.invalidate());
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
