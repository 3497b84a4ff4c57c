export type { CreateDbOptions, DbHandle } from './create-db.js';
export { createDb, migrateToLatest, migrationNames, poolOf } from './create-db.js';
export type * from './database.js';
export type { EmbeddedPostgres, StartEmbeddedPostgresOptions } from './embedded.js';
export { startEmbeddedPostgres } from './embedded.js';
export { runningEmbeddedPostgresUrl } from './embedded-running.js';
export { isDatabaseUnavailable } from './unavailable.js';
