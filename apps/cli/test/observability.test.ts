/**
 * The compose stack's observability profile (docker/prometheus, docker/grafana): no Prometheus or
 * Grafana runs in CI, so every query of the alert rules and of the dashboard is parsed with
 * Prometheus's own PromQL grammar (@prometheus-io/lezer-promql), and every metric it reads must be one
 * Calseta's registry exposes (so renaming a metric breaks this test, not the dashboard in silence).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { collectProcessMetrics, metricsRegistry, OPS_DEFAULT_PORTS } from '@calseta/core';
import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const read = (file: string) => readFileSync(path.join(ROOT, file), 'utf8');

collectProcessMetrics('api');
/** Series names a scrape of a Calseta process can show, plus Prometheus's own `up`. */
const exposed = new Set(['up']);
for (const metric of await metricsRegistry.getMetricsAsJSON()) {
  exposed.add(metric.name);
  const type = String(metric.type);
  if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exposed.add(metric.name + suffix);
  if (type === 'summary') for (const suffix of ['_sum', '_count']) exposed.add(metric.name + suffix);
}

/** Parse a query; returns the syntax errors (their text) and the metric names it selects. */
function promql(expr: string): { errors: string[]; metrics: string[] } {
  const errors: string[] = [];
  const metrics: string[] = [];
  parser.parse(expr).iterate({
    enter: (node) => {
      if (node.type.isError) errors.push(`at ${node.from}: ${JSON.stringify(expr.slice(node.from, node.from + 20))}`);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') {
        metrics.push(expr.slice(node.from, node.to));
      }
    },
  });
  return { errors, metrics };
}

/** A query is sound: it parses, and reads only metrics Calseta exposes. */
function expectSound(expr: string, where: string) {
  const { errors, metrics } = promql(expr);
  expect(errors, `${where}: ${expr}`).toEqual([]);
  expect(metrics.length, `${where} reads no metric`).toBeGreaterThan(0);
  for (const metric of metrics) expect(exposed.has(metric), `${where}: ${metric} is not exposed`).toBe(true);
}

describe('docs/operations.md', () => {
  it('lists every Calseta metric with its type, and no metric that does not exist', async () => {
    const docs = read('docs/operations.md');
    const ours = (await metricsRegistry.getMetricsAsJSON()).filter((m) => m.name.startsWith('calseta_'));
    expect(ours.length).toBeGreaterThan(20);
    for (const { name, type } of ours) {
      expect(docs, `${name} (${String(type)})`).toMatch(new RegExp(`\\| \`${name}\`\\s*\\| ${String(type)}\\s*\\|`));
    }
    const documented = new Set(docs.match(/calseta_[a-z_]+/g));
    for (const name of documented) expect(exposed.has(name), `${name} is documented but not exposed`).toBe(true);
  });
});

describe('the PromQL check', () => {
  it('has teeth: a syntax error and an unknown metric are found', () => {
    expect(promql('sum(rate(calseta_queue_depth[5m])').errors).not.toEqual([]);
    expect(promql('sum by (kind) (calseta_queue_depth) > 0').errors).toEqual([]);
    expect(promql('rate(calseta_no_such_total[5m])').metrics).toEqual(['calseta_no_such_total']);
    expect(exposed.has('calseta_no_such_total')).toBe(false);
    expect(exposed.has('calseta_alert_ingest_to_enriched_seconds_bucket')).toBe(true);
    expect(exposed.has('process_resident_memory_bytes')).toBe(true);
  });
});

type Rule = {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
};

describe('docker/prometheus', () => {
  const config = parseYaml(read('docker/prometheus/prometheus.yml')) as {
    rule_files: string[];
    scrape_configs: Array<{ job_name: string; dns_sd_configs: Array<{ names: string[]; type: string; port: number }> }>;
  };

  it('scrapes every replica of each process on its default ops port', () => {
    const jobs = Object.fromEntries(config.scrape_configs.map((job) => [job.job_name, job.dns_sd_configs]));
    expect(jobs).toEqual({
      'calseta-api': [{ names: ['api'], type: 'A', port: OPS_DEFAULT_PORTS.api }],
      'calseta-worker': [{ names: ['worker'], type: 'A', port: OPS_DEFAULT_PORTS.worker }],
      'calseta-mcp': [{ names: ['mcp'], type: 'A', port: OPS_DEFAULT_PORTS.mcp }],
    });
    expect(config.rule_files).toEqual(['/etc/prometheus/alerts.yml']);
  });

  const groups = (parseYaml(read('docker/prometheus/alerts.yml')) as { groups: Array<{ rules: Rule[] }> }).groups;
  const rules = groups.flatMap((group) => group.rules);

  it('suggests the alerts of docs/operations.md: queue age, provider failures, delivery failures, …', () => {
    const names = rules.map((rule) => rule.alert);
    expect(names).toEqual(
      expect.arrayContaining(['CalsetaQueueBacklog', 'CalsetaProviderFailureRate', 'CalsetaDeliveryFailures']),
    );
    expect(new Set(names).size).toBe(names.length);
    const docs = read('docs/operations.md');
    for (const name of names) expect(docs, `docs/operations.md explains ${name}`).toContain(name);
  });

  it.each(rules.map((rule) => [rule.alert, rule] as const))(
    '%s parses, reads exposed metrics, has a severity and a summary',
    (name, rule) => {
      expectSound(rule.expr, name);
      expect(['critical', 'warning', 'info']).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary).toEqual(expect.any(String));
      if (rule.for !== undefined) expect(rule.for).toMatch(/^\d+[smh]$/);
    },
  );
});

type Panel = {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type: string; uid: string };
  targets?: Array<{ expr: string; datasource?: { uid: string } }>;
};

describe('docker/grafana', () => {
  const dashboard = JSON.parse(read('docker/grafana/dashboards/calseta.json')) as { uid: string; panels: Panel[] };
  const datasources = (
    parseYaml(read('docker/grafana/provisioning/datasources/prometheus.yml')) as {
      datasources: Array<{ uid: string; type: string; url: string }>;
    }
  ).datasources;
  const providers = (
    parseYaml(read('docker/grafana/provisioning/dashboards/calseta.yml')) as {
      providers: Array<{ options: { path: string } }>;
    }
  ).providers;
  const compose = parseYaml(read('docker/docker-compose.yml')) as {
    services: Record<string, { volumes?: string[]; environment?: Record<string, string> }>;
  };

  it('the provisioned datasource is the stack Prometheus, under the uid every panel uses', () => {
    expect(datasources).toEqual([
      expect.objectContaining({ uid: 'prometheus', type: 'prometheus', url: 'http://prometheus:9090' }),
    ]);
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.datasource?.uid, panel.title).toBe('prometheus');
      for (const target of panel.targets ?? []) expect(target.datasource?.uid, panel.title).toBe('prometheus');
    }
  });

  it('the dashboard provider reads the folder the compose file mounts the dashboard into', () => {
    const mounts = compose.services.grafana?.volumes ?? [];
    expect(mounts).toContain(`./grafana/dashboards:${providers[0]?.options.path}:ro`);
    expect(mounts).toContain('./grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(compose.services.grafana?.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(
      `${providers[0]?.options.path}/calseta.json`,
    );
  });

  it('shows the pipeline, providers, queue and deliveries, in panels that fit the grid', () => {
    const rows = dashboard.panels.filter((p) => p.type === 'row').map((p) => p.title);
    expect(rows).toEqual(expect.arrayContaining(['Pipeline', 'Providers', 'Queue', 'Deliveries and workflows']));
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    for (const { title, gridPos } of dashboard.panels) expect(gridPos.x + gridPos.w, title).toBeLessThanOrEqual(24);
  });

  const queries = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((t) => [panel.title, t.expr] as const));
  it.each(queries)('%s: %s parses and reads exposed metrics', (title, expr) => {
    // Grafana replaces $__rate_interval before the query reaches Prometheus.
    expectSound(expr.replaceAll('$__rate_interval', '1m'), title);
  });
});
