import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { type CoreDeps, contextFor, createApiKey, SYSTEM } from '@calseta/core';

async function readIfExists(file: string): Promise<string | null> {
  try {
    return (await fs.readFile(file, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Write a secret file readable by its owner only. Fails if it exists (never overwrite a secret). */
async function writeSecret(file: string, value: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await fs.writeFile(file, `${value}\n`, { mode: 0o600, flag: 'wx' });
}

/** The encryption key for secrets at rest: generated once into the data dir for the embedded default. */
export async function ensureEncryptionKey(dataDir: string): Promise<string> {
  const file = path.join(dataDir, 'encryption-key');
  const existing = await readIfExists(file);
  if (existing) return existing;
  const key = randomBytes(32).toString('base64');
  await writeSecret(file, key);
  return key;
}

/**
 * First run on a data dir: create an admin key, write it to `<dataDir>/admin-key` (mode 600) and
 * return it so it can be printed once. Later runs return null and reuse the file.
 */
export async function ensureAdminKey(deps: CoreDeps, dataDir: string): Promise<{ key: string; created: boolean }> {
  const file = path.join(dataDir, 'admin-key');
  const existing = await readIfExists(file);
  if (existing) return { key: existing, created: false };
  const created = await createApiKey(contextFor(deps, SYSTEM), {
    name: 'admin (first run)',
    scopes: ['admin'],
    key_type: 'human',
  });
  await writeSecret(file, created.key);
  return { key: created.key, created: true };
}
