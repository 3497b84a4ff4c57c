import { readdir, readFile } from 'node:fs/promises';
import {
  type CoreDeps,
  contextFor,
  ingestAlert,
  SYSTEM,
  type SystemContextDocument,
  type SystemDetectionRule,
  seedSystemContextDocuments,
  seedSystemDetectionRules,
} from '@calseta/core';

const ALERTS_DIR = new URL('../alerts/', import.meta.url);
const RULES_DIR = new URL('../rules/', import.meta.url);
const RUNBOOKS_DIR = new URL('../runbooks/', import.meta.url);

/** `NN_<source>_<name>.json` → source name. */
function sourceOf(file: string): string {
  const source = /^\d+_([a-z]+)_/.exec(file)?.[1];
  if (!source) throw new Error(`Demo alert ${file} must be named NN_<source>_<name>.json`);
  return source;
}

/**
 * A folder's `index.json` (metadata, each entry naming its markdown `file`) with the markdown
 * read into `field`.
 */
async function indexed<T>(dir: URL, field: string): Promise<T[]> {
  const entries = JSON.parse(await readFile(new URL('index.json', dir), 'utf8')) as Array<
    Record<string, unknown> & { file: string }
  >;
  return Promise.all(
    entries.map(async ({ file, ...meta }) => ({ ...meta, [field]: await readFile(new URL(file, dir), 'utf8') }) as T),
  );
}

/** The five documented detection rules of the case-study alerts (`rules/`). */
export function demoDetectionRules(): Promise<SystemDetectionRule[]> {
  return indexed<SystemDetectionRule>(RULES_DIR, 'documentation');
}

/** The three targeted runbooks (`runbooks/`). */
export function demoRunbooks(): Promise<SystemContextDocument[]> {
  return indexed<SystemContextDocument>(RUNBOOKS_DIR, 'content');
}

/**
 * Seed the demo: the documented detection rules and the runbooks first (upserted, as system rows),
 * then the alerts, ingested through the normal pipeline (as the system), so they are deduplicated,
 * queued and processed exactly like real ones and link to the documented rules by
 * `(source_name, source_rule_id)`. Idempotent (alerts within the dedup window).
 */
export async function seedDemo(deps: CoreDeps): Promise<string> {
  const ctx = contextFor(deps, SYSTEM);
  const lines: string[] = [];
  for (const rule of await seedSystemDetectionRules(ctx, await demoDetectionRules())) {
    lines.push(`rule     ${rule.outcome.padEnd(12)} ${rule.uuid.padEnd(36)}  ${rule.name}`);
  }
  for (const doc of await seedSystemContextDocuments(ctx, await demoRunbooks())) {
    lines.push(`runbook  ${doc.outcome.padEnd(12)} ${doc.uuid}  ${doc.title}`);
  }
  const files = (await readdir(ALERTS_DIR)).filter((f) => f.endsWith('.json')).sort();
  for (const file of files) {
    const payload: unknown = JSON.parse(await readFile(new URL(file, ALERTS_DIR), 'utf8'));
    const accepted = await ingestAlert(ctx, { sourceName: sourceOf(file), payload });
    lines.push(`alert    ${accepted.status.padEnd(12)} ${accepted.alert_uuid}  ${file}`);
  }
  return lines.join('\n');
}
