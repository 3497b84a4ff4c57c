import type { AgentPayload } from './compose.js';

/** What must survive in a payload: text anywhere in it, and indicators judged malicious with a reason. */
export interface KeyFacts {
  /** Each must appear in the payload (case-insensitive). */
  text: readonly string[];
  /** Each must be an indicator with verdict Malicious and a `why`. */
  malicious: readonly string[];
}

/** A payload value without its `<untrusted>` markers. */
const bare = (value: unknown) => String(value).replace(/^<untrusted>([\s\S]*)<\/untrusted>$/, '$1');

/** The key facts a payload lost (empty: all kept). */
export function missingFacts(payload: AgentPayload, facts: KeyFacts): string[] {
  const text = JSON.stringify(payload).toLowerCase();
  const missing = facts.text.filter((fact) => !text.includes(fact.toLowerCase())).map((fact) => `text: ${fact}`);
  for (const value of facts.malicious) {
    const indicator = payload.indicators.find((i) => bare(i.value).toLowerCase() === value.toLowerCase());
    if (indicator?.verdict !== 'Malicious' || typeof indicator.why !== 'string') missing.push(`malicious: ${value}`);
  }
  return missing;
}
