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

const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$/;
/** Epoch seconds (2001–2286) under a key that names a time (Splunk's `_time`, `info_max_time`). */
const EPOCH = /^\d{10}$/;
const isTimeKey = (key: string) => /time/i.test(key);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every timestamp of a payload, in ms: ISO-8601 strings anywhere, epoch seconds under time-named keys. */
function timesOf(value: Json, key = ''): number[] {
  if (typeof value === 'string') {
    if (ISO_TIME.test(value)) return [Date.parse(value)];
    return isTimeKey(key) && EPOCH.test(value) ? [Number(value) * 1000] : [];
  }
  if (typeof value === 'number') return isTimeKey(key) && EPOCH.test(String(value)) ? [value * 1000] : [];
  if (Array.isArray(value)) return value.flatMap((v) => timesOf(v, key));
  if (value !== null && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => timesOf(v, k));
  return [];
}

function shift(value: Json, deltaMs: number, key = ''): Json {
  if (typeof value === 'string') {
    if (ISO_TIME.test(value)) return new Date(Date.parse(value) + deltaMs).toISOString();
    return isTimeKey(key) && EPOCH.test(value) ? String(Number(value) + Math.round(deltaMs / 1000)) : value;
  }
  if (typeof value === 'number') {
    return isTimeKey(key) && EPOCH.test(String(value)) ? value + Math.round(deltaMs / 1000) : value;
  }
  if (Array.isArray(value)) return value.map((v) => shift(v, deltaMs, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shift(v, deltaMs, k)]));
  }
  return value;
}

/**
 * The payload with every timestamp moved so its latest one is `latest`, the gaps between them kept
 * (the fixtures' 2024/2026 times would make a fresh install's MTTD read in days or years).
 */
export function withTimesEndingAt<T>(payload: T, latest: Date): T {
  const times = timesOf(payload as Json);
  if (times.length === 0) return payload;
  return shift(payload as Json, latest.getTime() - Math.max(...times)) as T;
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
 * `(source_name, source_rule_id)`. Idempotent (alerts within the dedup window). The alerts' times are
 * moved to the last few hours before `now` (`withTimesEndingAt`), each keeping its own gaps.
 */
export async function seedDemo(deps: CoreDeps, options: { now?: Date } = {}): Promise<string> {
  const now = options.now ?? new Date();
  const ctx = contextFor(deps, SYSTEM);
  const lines: string[] = [];
  for (const rule of await seedSystemDetectionRules(ctx, await demoDetectionRules())) {
    lines.push(`rule     ${rule.outcome.padEnd(12)} ${rule.uuid.padEnd(36)}  ${rule.name}`);
  }
  for (const doc of await seedSystemContextDocuments(ctx, await demoRunbooks())) {
    lines.push(`runbook  ${doc.outcome.padEnd(12)} ${doc.uuid}  ${doc.title}`);
  }
  const files = (await readdir(ALERTS_DIR)).filter((f) => f.endsWith('.json')).sort();
  for (const [index, file] of files.entries()) {
    // Relative to now: the last alert ended 5 minutes ago, each earlier one 40 minutes before the next.
    const latest = new Date(now.getTime() - (5 + 40 * (files.length - 1 - index)) * 60_000);
    const payload = withTimesEndingAt(JSON.parse(await readFile(new URL(file, ALERTS_DIR), 'utf8')) as Json, latest);
    const accepted = await ingestAlert(ctx, { sourceName: sourceOf(file), payload });
    lines.push(`alert    ${accepted.status.padEnd(12)} ${accepted.alert_uuid}  ${file}`);
  }
  return lines.join('\n');
}
