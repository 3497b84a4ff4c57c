import type { AlertSource, DocumentedExtraction, ValidationResult } from '@calseta/plugin-sdk';
import {
  type DetectionRuleRef,
  DetectionRuleRefSchema,
  type ExtractedIndicator,
  ExtractedIndicatorSchema,
  type NormalizedAlert,
  NormalizedAlertSchema,
} from '@calseta/schema';
import { ServiceError } from './errors.js';

/** Plugin output is untrusted: a plugin bug becomes a clear 422, never a 500 or a bad row. */
function pluginFailure(source: string, step: string, error: unknown): ServiceError {
  const reason = error instanceof Error ? error.message : String(error);
  return new ServiceError('INVALID_PAYLOAD', `The ${source} plugin could not ${step} this payload: ${reason}`);
}

const MAX_TAGS = 100;
const MAX_TAG_LENGTH = 200;
/** Bounds of attacker-controllable text kept in columns and agent payloads (the raw payload keeps the originals). */
export const MAX_TITLE_LENGTH = 1_000;
export const MAX_DESCRIPTION_LENGTH = 65_536;

/** Tags as stored and indexed: trimmed, unique, bounded (the raw payload keeps the originals). */
function cleanTags(tags: readonly string[]): string[] {
  const out = new Set<string>();
  for (const tag of tags) {
    const clean = tag.trim().slice(0, MAX_TAG_LENGTH);
    if (clean) out.add(clean);
    if (out.size === MAX_TAGS) break;
  }
  return [...out];
}

/** The alert sources known to this process, by name. */
export class SourceRegistry {
  private readonly sources = new Map<string, AlertSource>();

  constructor(sources: readonly AlertSource[] = []) {
    for (const source of sources) this.register(source);
  }

  register(source: AlertSource): void {
    if (this.sources.has(source.name)) throw new Error(`Alert source "${source.name}" is registered twice`);
    this.sources.set(source.name, source);
  }

  has(name: string): boolean {
    return this.sources.has(name);
  }

  list(): AlertSource[] {
    return [...this.sources.values()];
  }

  get(name: string): AlertSource {
    const source = this.sources.get(name);
    if (!source) {
      throw new ServiceError('UNKNOWN_SOURCE', `Unknown alert source "${name}".`, {
        known_sources: [...this.sources.keys()],
      });
    }
    return source;
  }

  validate(source: AlertSource, raw: unknown): ValidationResult {
    try {
      return source.validate(raw);
    } catch (error) {
      throw pluginFailure(source.name, 'validate', error);
    }
  }

  normalize(source: AlertSource, raw: unknown): NormalizedAlert {
    let output: unknown;
    try {
      output = source.normalize(raw);
    } catch (error) {
      throw pluginFailure(source.name, 'normalize', error);
    }
    const parsed = NormalizedAlertSchema.safeParse(output);
    if (!parsed.success) {
      throw pluginFailure(
        source.name,
        'normalize',
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    }
    return {
      ...parsed.data,
      title: parsed.data.title.slice(0, MAX_TITLE_LENGTH),
      description: parsed.data.description?.slice(0, MAX_DESCRIPTION_LENGTH) ?? null,
      source_name: source.name,
      tags: cleanTags(parsed.data.tags),
    };
  }

  extractIndicators(source: AlertSource, raw: unknown): ExtractedIndicator[] {
    let out: ExtractedIndicator[];
    try {
      out = source.extractIndicators(raw);
    } catch (error) {
      throw pluginFailure(source.name, 'extract indicators from', error);
    }
    return out.filter((item) => ExtractedIndicatorSchema.safeParse(item).success);
  }

  detectionRule(source: AlertSource, raw: unknown): DetectionRuleRef | null {
    try {
      const ref = source.detectionRule?.(raw) ?? null;
      return ref && DetectionRuleRefSchema.safeParse(ref).success ? ref : null;
    } catch {
      // A rule reference is optional context: never reject an alert for it.
      return null;
    }
  }

  documentedExtractions(): Array<DocumentedExtraction & { source_name: string }> {
    return this.list().flatMap((s) => s.documentedExtractions.map((d) => ({ ...d, source_name: s.name })));
  }
}
