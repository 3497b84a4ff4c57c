import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { marked } from 'marked';

/** o200k tokens of a text, or of a value as it is delivered (compact JSON). */
export function tokensOf(value: unknown): number {
  return countTokens(typeof value === 'string' ? value : JSON.stringify(value));
}

const OPEN = '<untrusted>';
const CLOSE = '</untrusted>';
/** A marker written inside the text itself must not close (or fake) the block. */
const MARKERS = /<\s*\/?\s*untrusted\s*>/gi;

/**
 * Text from the alert source — attacker-controllable — delimited so an agent can tell data from
 * instructions. Markers inside the text are defused first, so the text cannot break out.
 */
export function untrusted(text: string): string {
  return `${OPEN}${text.replace(MARKERS, (m) => m.replace(/</g, '‹').replace(/>/g, '›'))}${CLOSE}`;
}

/**
 * Free text worth delimiting: three words or more (an instruction needs a few). Identifiers — IPs,
 * hashes, hostnames, paths — and two-word names are left bare (they stay inside the source block).
 */
export function isProse(text: string): boolean {
  return /\S+\s+\S+\s+\S/.test(text);
}

/** Cut `text` to about `max` characters at a word boundary, saying it was cut; long unbroken runs (encoded blobs) are cut to their start. */
export function clip(text: string, max: number): string {
  const flat = text
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/\S{49,}/g, (run) => `${run.slice(0, 32)}…`);
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max);
  const space = cut.lastIndexOf(' ');
  return `${(space > max * 0.6 ? cut.slice(0, space) : cut).replace(/[,;:.\s]+$/, '')}…`;
}

export interface Section {
  heading: string;
  depth: number;
  /** The section's own text (not its subsections'), markdown stripped to plain text. */
  text: string;
}

function plain(markdown: string): string {
  return markdown
    .replace(/```[\s\S]*?```/g, ' ')
    .replace(/`([^`]*)`/g, '$1')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/^[>\s]*[-*+]\s+/gm, '- ')
    .replace(/[*_#>|]/g, '')
    .replace(/\s+/g, ' ')
    .trim();
}

/** Split markdown into its heading sections (text before the first heading is a section titled ''). */
export function sections(markdown: string): Section[] {
  const out: Section[] = [];
  let current: Section = { heading: '', depth: 0, text: '' };
  const flush = () => {
    if (current.heading !== '' || current.text.trim() !== '') out.push({ ...current, text: plain(current.text) });
  };
  for (const token of marked.lexer(markdown)) {
    if (token.type === 'heading') {
      flush();
      current = { heading: plain(token.text), depth: token.depth, text: '' };
    } else {
      current.text += `${token.raw}\n`;
    }
  }
  flush();
  return out;
}

/**
 * A document in a few lines: each section's heading and the start of its text. `prefer` headings
 * (case-insensitive substrings) come first and keep more text; the document title section is dropped.
 */
export function summarizeMarkdown(
  markdown: string,
  options: {
    perSection: number;
    prefer?: readonly string[];
    maxSections?: number /** Preferred sections get twice the text. */;
    emphasize?: boolean;
  },
): string {
  // The document's own title (a level-1 heading) is not a section worth repeating.
  const all = sections(markdown).filter((s) => s.depth > 1 || (s.depth === 0 && s.text !== ''));
  const rank = (s: Section) => {
    const i = (options.prefer ?? []).findIndex((p) => s.heading.toLowerCase().includes(p.toLowerCase()));
    return i === -1 ? Number.POSITIVE_INFINITY : i;
  };
  const chosen = [...all]
    .map((s, index) => ({ s, index, rank: rank(s) }))
    .sort((a, b) => a.rank - b.rank || a.index - b.index)
    .slice(0, options.maxSections ?? all.length)
    .sort((a, b) => (options.prefer ? a.rank - b.rank || a.index - b.index : a.index - b.index))
    .map(({ s, rank: r }) => {
      const budget = Number.isFinite(r) && options.emphasize !== false ? options.perSection * 2 : options.perSection;
      const body = s.text === '' ? '' : clip(s.text, budget);
      return s.heading === '' ? body : `${s.heading}: ${body}`.replace(/: $/, '');
    })
    .filter((line) => line !== '');
  return chosen.join('\n');
}
