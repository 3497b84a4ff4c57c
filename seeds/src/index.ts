import { readdir, readFile } from 'node:fs/promises';
import { type CoreDeps, contextFor, ingestAlert, SYSTEM } from '@calseta/core';

const ALERTS_DIR = new URL('../alerts/', import.meta.url);

/** `NN_<source>_<name>.json` → source name. */
function sourceOf(file: string): string {
  const source = /^\d+_([a-z]+)_/.exec(file)?.[1];
  if (!source) throw new Error(`Demo alert ${file} must be named NN_<source>_<name>.json`);
  return source;
}

/**
 * Ingest the demo alerts through the normal pipeline (as the system), so they are deduplicated,
 * queued and processed exactly like real ones. Idempotent within the dedup window.
 */
export async function seedDemo(deps: CoreDeps): Promise<string> {
  const ctx = contextFor(deps, SYSTEM);
  const files = (await readdir(ALERTS_DIR)).filter((f) => f.endsWith('.json')).sort();
  const lines: string[] = [];
  for (const file of files) {
    const payload: unknown = JSON.parse(await readFile(new URL(file, ALERTS_DIR), 'utf8'));
    const accepted = await ingestAlert(ctx, { sourceName: sourceOf(file), payload });
    lines.push(`${accepted.status.padEnd(12)} ${accepted.alert_uuid}  ${file}`);
  }
  return lines.join('\n');
}
