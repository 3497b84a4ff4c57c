import type { AlertMetrics, MetricsSummary } from '@calseta/schema';
import { type One, query } from '../client.js';
import { get, keyParams, type Params } from './resource.js';

export const metricQueries = {
  all: ['metrics'] as const,
  summary: () => get<One<MetricsSummary>>(['metrics', 'summary'], '/v1/metrics/summary'),
  alerts: (params: Params) =>
    get<One<AlertMetrics>>(['metrics', 'alerts', keyParams(params)], `/v1/metrics/alerts${query(params)}`),
};

export interface Health {
  status: string;
  version?: string;
  /** Active providers answering from the built-in mock (no real credential). */
  mocked_providers?: string[];
}
export const healthQuery = () => get<Health>(['health'], '/health');
