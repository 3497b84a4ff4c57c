import { readFileSync } from 'node:fs';

/** A source payload from packages/integrations/fixtures, parsed. */
export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(new URL(`../../../packages/integrations/fixtures/${name}`, import.meta.url), 'utf8'));
}

export function fixtureText(name: string): string {
  return readFileSync(new URL(`../../../packages/integrations/fixtures/${name}`, import.meta.url), 'utf8');
}
