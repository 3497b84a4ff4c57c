/**
 * Prometheus metrics (issue 22): one registry per process, served by each app's /metrics listener.
 *
 * Labels are bounded by configuration, never by traffic: source names, provider names, agent names,
 * job kinds, outcomes and reason codes. No alert id, indicator value or raw path is ever a label
 * (a scrape test ingests distinct values and checks none appears).
 */
import { collectDefaultMetrics, Registry } from 'prom-client';

export const metricsRegistry = new Registry();

let processService: string | undefined;

/**
 * Node's process and runtime metrics, and a `service` label on every series of this process.
 * Once per process: a second call (another core in the same process, a test) changes nothing.
 */
export function collectProcessMetrics(service: 'api' | 'worker' | 'mcp'): void {
  if (processService) return;
  processService = service;
  metricsRegistry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: metricsRegistry });
}

/** The exposition text of every metric of this process, with its content type. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  return { contentType: metricsRegistry.contentType, body: await metricsRegistry.metrics() };
}
