/**
 * Static migration registry. Every migration module is imported explicitly (no
 * directory scan) so migrations work from source (tsx / vitest) and inside a
 * single-file esbuild bundle alike.
 *
 * To add a migration: create `NNNN_name.ts` next to this file and add it here.
 * Keys are the names stored in `kysely_migration`; they must sort in apply order
 * and must never be renamed once released.
 */
import type { Migration } from 'kysely';
import * as m0001 from './0001_core.js';
import * as m0002 from './0002_enrichment.js';
import * as m0003 from './0003_automation.js';
import * as m0004 from './0004_ingest_claims.js';
import * as m0005 from './0005_enrichment_wiring.js';
import * as m0006 from './0006_dispatch.js';
import * as m0007 from './0007_context.js';
import * as m0008 from './0008_enrichment_unlogged.js';
import * as m0009 from './0009_rate_limits.js';
import * as m0010 from './0010_alert_list_indexes.js';
import * as m0011 from './0011_scrub_provider_credentials.js';
import * as m0012 from './0012_severity_unmapped.js';
import * as m0014 from './0014_alert_verdict.js';
import * as m0015 from './0015_hot_updates.js';
import * as m0016 from './0016_table_change_notify.js';
import * as m0017 from './0017_users_sessions.js';
import * as m0018 from './0018_incidents.js';
import * as m0019 from './0019_incident_delivery.js';
import * as m0020 from './0020_users_email_verified.js';
import * as m0021 from './0021_drop_single_indicator_index.js';
import * as m0022 from './0022_cache_raw_apart.js';
import * as m0023 from './0023_deferred_alert_verdicts.js';
import * as m0024 from './0024_indicator_history.js';
import * as m0025 from './0025_verdict_refresh_after_lock.js';
import * as m0026 from './0026_indicator_history_note_append.js';
import * as m0027 from './0027_verdict_refresh_no_key_lock.js';

export const migrations: Readonly<Record<string, Migration>> = Object.freeze({
  '0001_core': m0001,
  '0002_enrichment': m0002,
  '0003_automation': m0003,
  '0004_ingest_claims': m0004,
  '0005_enrichment_wiring': m0005,
  '0006_dispatch': m0006,
  '0007_context': m0007,
  '0008_enrichment_unlogged': m0008,
  '0009_rate_limits': m0009,
  '0010_alert_list_indexes': m0010,
  '0011_scrub_provider_credentials': m0011,
  '0012_severity_unmapped': m0012,
  '0014_alert_verdict': m0014,
  '0015_hot_updates': m0015,
  '0016_table_change_notify': m0016,
  '0017_users_sessions': m0017,
  '0018_incidents': m0018,
  '0019_incident_delivery': m0019,
  '0020_users_email_verified': m0020,
  '0021_drop_single_indicator_index': m0021,
  '0022_cache_raw_apart': m0022,
  '0023_deferred_alert_verdicts': m0023,
  '0024_indicator_history': m0024,
  '0025_verdict_refresh_after_lock': m0025,
  '0026_indicator_history_note_append': m0026,
  '0027_verdict_refresh_no_key_lock': m0027,
});
