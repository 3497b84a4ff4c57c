/**
 * Vitest globalSetup for packages whose tests need Postgres.
 *
 * - `DATABASE_URL` set: use that server (its `postgres` database as admin).
 *   Otherwise start an embedded Postgres in a fresh temp dir, removed in teardown.
 * - Build (or reuse) a template database `calseta_template_<hash>` holding the
 *   migrated schema plus the pg-boss schema; the hash covers the migrations and
 *   the pg-boss schema, so a changed migration gets a fresh template.
 * - Provide `pgAdminUrl`, `pgTemplate` and `pgRunId` to tests; `createTestDatabase()`
 *   (./index.ts) clones the template per test file in a few ms.
 *
 * Use: `test: { globalSetup: ['@calseta/db/testing/global-setup'] }` or a relative
 * path to this file (see packages/db/vitest.config.ts).
 */
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import PgBoss from 'pg-boss';
import type { TestProject } from 'vitest/node';
import { createDb, migrateToLatest } from '../create-db.js';
import { type EmbeddedPostgres, startEmbeddedPostgres } from '../embedded.js';
import { migrations } from '../migrations/index.js';
import { TEST_PGBOSS_SCHEMA as PGBOSS_SCHEMA, withDatabase } from './shared.js';

let embedded: EmbeddedPostgres | undefined;
let tempDir: string | undefined;
let externalAdminUrl: string | undefined;
let runId: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  runId = randomBytes(4).toString('hex');
  // process.env is read here on purpose: test infrastructure only, never in app code.
  const databaseUrl = process.env.DATABASE_URL;
  let adminUrl: string;
  if (databaseUrl) {
    adminUrl = withDatabase(databaseUrl, 'postgres');
    externalAdminUrl = adminUrl;
  } else {
    tempDir = await fs.mkdtemp(path.join(os.tmpdir(), 'calseta-test-pg-'));
    try {
      embedded = await startEmbeddedPostgres({ dataDir: tempDir, ephemeral: true });
    } catch (error) {
      await fs.rm(tempDir, { recursive: true, force: true });
      throw error;
    }
    adminUrl = embedded.adminUrl;
  }
  try {
    const template = await ensureTemplate(adminUrl);
    project.provide('pgAdminUrl', adminUrl);
    project.provide('pgTemplate', template);
    project.provide('pgRunId', runId);
  } catch (error) {
    await teardown();
    throw error;
  }
}

export async function teardown(): Promise<void> {
  if (embedded) {
    await embedded.stop();
    embedded = undefined;
  }
  if (tempDir) {
    await fs.rm(tempDir, { recursive: true, force: true });
    tempDir = undefined;
  }
  if (externalAdminUrl && runId) {
    // Drop this run's test databases that a test forgot to drop().
    await withAdmin(externalAdminUrl, async (admin) => {
      const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [
        `t\\_${runId}\\_%`,
      ]);
      for (const { datname } of rows) {
        await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(datname)} WITH (FORCE)`);
      }
    });
    externalAdminUrl = undefined;
  }
}

/** Hash of everything that shapes the template: migration names and code, pg-boss schema. */
function templateHash(): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(migrations).sort()) {
    hash.update(name).update('\0').update(String(migrations[name]?.up)).update('\0');
  }
  hash.update(PgBoss.getConstructionPlans(PGBOSS_SCHEMA));
  return hash.digest('hex').slice(0, 16);
}

async function withAdmin<T>(adminUrl: string, fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'calseta-test-setup' });
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.end();
  }
}

/**
 * Returns the template's name, building it when missing. Built under a temporary
 * name and renamed when complete, so a crashed or concurrent build never leaves
 * a half-built template under the real name.
 */
async function ensureTemplate(adminUrl: string): Promise<string> {
  const template = `calseta_template_${templateHash()}`;
  const building = `${template}_b${randomBytes(3).toString('hex')}`;
  return withAdmin(adminUrl, async (admin) => {
    const existing = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [template]);
    if (existing.rowCount) return template;

    await admin.query(`CREATE DATABASE ${admin.escapeIdentifier(building)} TEMPLATE template0`);
    try {
      const url = withDatabase(adminUrl, building);
      const { db } = createDb({ url, max: 2, applicationName: 'calseta-test-setup' });
      try {
        await migrateToLatest(db);
      } finally {
        await db.destroy();
      }
      const boss = new PgBoss({
        connectionString: url,
        schema: PGBOSS_SCHEMA,
        max: 2,
        supervise: false,
        schedule: false,
      });
      boss.on('error', () => {});
      await boss.start();
      await boss.stop({ graceful: false });

      await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1', [building]);
      try {
        await admin.query(
          `ALTER DATABASE ${admin.escapeIdentifier(building)} RENAME TO ${admin.escapeIdentifier(template)}`,
        );
      } catch (error) {
        // A concurrent run finished the same template first: use theirs.
        if ((error as { code?: string }).code !== '42P04') throw error;
        await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(building)} WITH (FORCE)`);
        return template;
      }
      // No connections allowed: cloning can never be blocked by a stray session.
      await admin.query(
        `ALTER DATABASE ${admin.escapeIdentifier(template)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`,
      );
      return template;
    } catch (error) {
      await admin.query(`DROP DATABASE IF EXISTS ${admin.escapeIdentifier(building)} WITH (FORCE)`).catch(() => {});
      throw error;
    }
  });
}
